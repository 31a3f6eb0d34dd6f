import { Body, Controller, Delete, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Query, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Request } from 'express';
import { pageWindow, toPage } from '../api/pagination';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { JwtAuthGuard } from '../auth/jwt-auth.guard';
import { GroupAccess } from '../auth/group-access';
import { Principal } from '../auth/principal';
import { apiContext } from '../audit/request-context';
import { memberView } from '../groups/group-view';
import { AddMembersDto } from './dto/add-members.dto';
import { ListMembersQuery } from './dto/list-members.query';
import { RemoveMembersDto } from './dto/remove-members.dto';
import { MembershipsService } from './memberships.service';

@ApiTags('members')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/groups/:id/members')
export class MembersController {
  constructor(private readonly memberships: MembershipsService, private readonly access: GroupAccess) {}

  @Get()
  async list(@Param('id', new ParseUUIDPipe()) id: string, @Query() query: ListMembersQuery, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    await this.access.require(id, principal, 'read');
    const window = pageWindow(query, 100);
    const { count, members } = await this.memberships.list(id, query.status ?? 'active', window.offset, window.size);
    return toPage(req, window, count, members.map(memberView));
  }

  /** Idempotent: a user already in the group is reported as `already_member`. */
  @Post()
  @HttpCode(200)
  async add(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: AddMembersDto, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    await this.access.require(id, principal, 'write');
    return { results: await this.memberships.add(id, dto.members, apiContext(req, principal)) };
  }

  /** Bulk removal, idempotent: `removed` or `not_member` per user. */
  @Post('remove')
  @HttpCode(200)
  async removeMany(@Param('id', new ParseUUIDPipe()) id: string, @Body() dto: RemoveMembersDto, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    await this.access.require(id, principal, 'write');
    return { results: await this.memberships.remove(id, dto.user_ids, apiContext(req, principal)) };
  }

  @Delete(':userId')
  @HttpCode(200)
  async remove(@Param('id', new ParseUUIDPipe()) id: string, @Param('userId', ParseIntPipe) userId: number, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    await this.access.require(id, principal, 'write');
    const [result] = await this.memberships.remove(id, [userId], apiContext(req, principal));
    return result;
  }
}
