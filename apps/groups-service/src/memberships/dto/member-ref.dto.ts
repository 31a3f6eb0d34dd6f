import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsDefined, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';

export const USERNAME_PATTERN = /^[\w.@+-]+$/;
export const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

/** A user by id, username or email; when several are given they must name the same account. */
export class MemberRefDto {
  @ApiPropertyOptional({ example: 42 })
  @ValidateIf((o: MemberRefDto) => o.user_id !== undefined || (o.username === undefined && o.email === undefined))
  @IsDefined({ message: 'each member needs a user_id, a username or an email' })
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  user_id?: number;

  @ApiPropertyOptional({ example: 'ana' })
  @IsOptional()
  @IsString()
  @MaxLength(150)
  @Matches(USERNAME_PATTERN, { message: 'username may contain letters, digits and @.+-_' })
  username?: string;

  @ApiPropertyOptional({ example: 'ana@example.com' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  @Matches(EMAIL_PATTERN, { message: 'email must look like name@domain' })
  email?: string;
}
