import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { MemberRefDto } from './member-ref.dto';

export class AddMembersDto {
  @ApiProperty({ type: [MemberRefDto], description: 'up to 10,000 users by user_id, username or email' })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10_000) @ValidateNested({ each: true }) @Type(() => MemberRefDto)
  members: MemberRefDto[];
}
