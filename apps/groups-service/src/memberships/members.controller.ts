import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Request } from 'express';
import { apiContext } from '../audit/request-context';
import { memberView } from '../groups/group-view';
import { GroupsService } from '../groups/groups.service';
import { AddMembersDto } from './dto/add-members.dto';
import { MembershipsService } from './memberships.service';

@ApiTags('members')
@Controller('api/user-groups/v1/groups/:id/members')
export class MembersController {
  constructor(private readonly memberships: MembershipsService, private readonly groups: GroupsService) {}

  @Get()
  async list(@Param('id', new ParseUUIDPipe()) id: string) {
    await this.groups.get(id);
    const members = await this.groups.activeMembers(id);
    return { count: members.length, results: members.map(memberView) };
  }

  /** Idempotent: a user already in the group is reported as `already_member`. */
  @Post()
  @HttpCode(200)
  async add(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: AddMembersDto, @Req() req: Request) {
    return { results: await this.memberships.add(id, dto.members, apiContext(req)) };
  }

  @Delete(':userId')
  @HttpCode(200)
  async remove(@Param('id', new ParseUUIDPipe()) id: string, @Param('userId', ParseIntPipe) userId: number, @Req() req: Request) {
    return { user_id: userId, result: await this.memberships.remove(id, userId, apiContext(req)) };
  }
}
