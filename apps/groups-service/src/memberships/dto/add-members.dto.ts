import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray } from 'class-validator';
import { MemberRefDto } from './member-ref.dto';

/** The bulk body, for OpenAPI: membersOfBody (member-refs.ts) checks it, a slice at a time, not the ValidationPipe. */
export class AddMembersDto {
  @ApiProperty({ type: [MemberRefDto], description: 'up to 10,000 users by user_id, username or email' })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  members: MemberRefDto[];
}
