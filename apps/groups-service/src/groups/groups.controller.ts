import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseBoolPipe,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Request, Response } from 'express';
import { pageWindow, Pagination } from '../api/pagination';
import { auditView, AuditService } from '../audit/audit.service';
import { CurrentPrincipal, JwtAuthGuard, Principal, assertCanManageScope } from '@groups-sync/auth';
import { GroupAccess } from '../auth/group-access';
import { readableScopes } from '../auth/readable-scopes';
import { apiContext } from '../audit/request-context';
import { MembershipRepository } from '../memberships/membership.repository';
import { HistoryQuery, ListGroupsQuery } from './dto/list-groups.query';
import { CreateGroupDto } from './dto/create-group.dto';
import { UpdateGroupDto } from './dto/update-group.dto';
import { groupView } from './group-view';
import { GroupsErrorCode, GroupsException } from './groups.exception';
import { GroupsService } from './groups.service';
import { GroupIdPipe } from '../api/group-id.pipe';

/** `"3"`, `W/"3"` or `3` → 3. */
function parseIfMatch(header: string | undefined): number {
  if (header === undefined || header === '')
    throw new GroupsException(
      GroupsErrorCode.IfMatchRequired,
      'send If-Match with the ETag from your last read of the group',
    );
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match)
    throw new GroupsException(
      GroupsErrorCode.InvalidEtag,
      `If-Match: "${header.slice(0, 40)}" is not an ETag of this API (expected e.g. "3")`,
      { field: 'If-Match' },
    );
  return Number(match[1]);
}

/** Members shown in a group's detail; `/members` pages through all of them. */
const DETAIL_MEMBERS = 100;

@ApiTags('groups')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/groups')
export class GroupsController {
  constructor(
    private readonly groups: GroupsService,
    private readonly memberships: MembershipRepository,
    private readonly audit: AuditService,
    private readonly access: GroupAccess,
    private readonly pagination: Pagination,
  ) {}

  @Get()
  async list(@Query() query: ListGroupsQuery, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    const window = pageWindow(query);
    const { count, groups } = await this.groups.list(query, window.offset, window.size, readableScopes(principal));
    const counts = await this.memberships.countsOf(groups.map((g) => g.id));
    return this.pagination.page(
      req,
      window,
      count,
      groups.map((g) => {
        const c = counts.get(g.id) ?? { members: 0, pending: 0, rejected: 0 };
        return { ...groupView(g), member_count: c.members, sync: { pending: c.pending, rejected: c.rejected } };
      }),
    );
  }

  @Post()
  @ApiQuery({
    name: 'evaluate',
    required: false,
    type: Boolean,
    description: 'false: do not evaluate a new dynamic group at once (default true)',
  })
  async create(
    @Body() dto: CreateGroupDto,
    @Query('evaluate', new ParseBoolPipe({ optional: true })) evaluate: boolean | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ) {
    assertCanManageScope(principal, dto.scope_type, (dto.scope_key ?? '').trim(), 'write');
    const group = await this.groups.create(dto, apiContext(req, principal), evaluate !== false);
    res.status(201).setHeader('ETag', `"${group.version}"`);
    return groupView(group, []);
  }

  @Get(':id')
  async read(
    @Param('id', GroupIdPipe) id: string,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ) {
    const group = await this.access.require(id, principal, 'read');
    res.setHeader('ETag', `"${group.version}"`);
    const { count, members } = await this.memberships.list(id, 'active', 0, DETAIL_MEMBERS);
    return { ...groupView(group, members), member_count: count };
  }

  @Patch(':id')
  @ApiHeader({ name: 'If-Match', required: true, description: 'The ETag of the version you are changing' })
  @ApiQuery({
    name: 'evaluate',
    required: false,
    type: Boolean,
    description:
      'false: do not re-evaluate the group at once after a change of its criteria, enabling or unfreezing (default true)',
  })
  async update(
    @Param('id', GroupIdPipe) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Body() dto: UpdateGroupDto,
    @Query('evaluate', new ParseBoolPipe({ optional: true })) evaluate: boolean | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.access.require(id, principal, 'write');
    const group = await this.groups.update(
      id,
      parseIfMatch(ifMatch),
      dto,
      apiContext(req, principal),
      evaluate !== false,
    );
    res.setHeader('ETag', `"${group.version}"`);
    return groupView(group);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(
    @Param('id', GroupIdPipe) id: string,
    @Query('unlink', new ParseBoolPipe({ optional: true })) unlink: boolean | undefined,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.access.require(id, principal, 'write');
    await this.groups.delete(id, unlink === true, apiContext(req, principal));
  }

  @Get(':id/history')
  async history(
    @Param('id', GroupIdPipe) id: string,
    @Query() query: HistoryQuery,
    @Req() req: Request,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.access.require(id, principal, 'read');
    const window = pageWindow(query);
    const { count, events } = await this.audit.history(id, window.offset, window.size, {
      userId: query.user_id,
      action: query.action,
    });
    return this.pagination.page(req, window, count, events.map(auditView));
  }

  /** 202: the evaluator refreshes the group asynchronously; history shows who asked and when it completed. */
  @Post(':id/refresh')
  @HttpCode(202)
  async refresh(@Param('id', GroupIdPipe) id: string, @Req() req: Request, @CurrentPrincipal() principal: Principal) {
    await this.access.require(id, principal, 'write');
    return this.groups.requestRefresh(id, apiContext(req, principal));
  }

  @Get(':id/sync-status')
  async syncStatus(@Param('id', GroupIdPipe) id: string, @CurrentPrincipal() principal: Principal) {
    await this.access.require(id, principal, 'read');
    return this.memberships.syncStatus(id);
  }
}
