import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

/**
 * The body Open edX's retirement pipeline sends to an extra service (its GenericRetirementApi:
 * `{"edx_lms_user_id": 42}`), or license-manager's form (`lms_user_id`, `original_username`).
 */
export class RetireUserDto {
  @ApiPropertyOptional({ description: 'The LMS user id (GenericRetirementApi)' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  edx_lms_user_id?: number;

  @ApiPropertyOptional({ description: "The LMS user id (license-manager's form)" })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  lms_user_id?: number;

  @ApiPropertyOptional({
    description:
      'The username before retirement: also scrubs what the user did as staff, recorded by name, when no row of ours ties that name to the id',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(150)
  original_username?: string;
}
