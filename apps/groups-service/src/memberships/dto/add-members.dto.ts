import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';

export class MemberRefDto {
  @ApiProperty({ example: 42 })
  @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER)
  user_id: number;

  @ApiProperty({ example: 'ana' })
  @IsString() @MaxLength(150) @Matches(/^[\w.@+-]+$/, { message: 'username may contain letters, digits and @.+-_' })
  username: string;
}

export class AddMembersDto {
  @ApiProperty({ type: [MemberRefDto] })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10_000) @ValidateNested({ each: true }) @Type(() => MemberRefDto)
  members: MemberRefDto[];
}
