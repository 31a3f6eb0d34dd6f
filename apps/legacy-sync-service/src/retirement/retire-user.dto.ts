import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';

/** What Open edX's retirement pipeline sends an extra service (GenericRetirementApi), or license-manager's form. */
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
    description: 'The username before retirement: also scrubs what the user did here as an operator',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(150)
  original_username?: string;
}
