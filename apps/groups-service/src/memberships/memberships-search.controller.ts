import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { CurrentPrincipal, JwtAuthGuard, Principal, canManageScope } from '@groups-sync/auth';
import { lowerUuid } from '../api/group-id.pipe';
import { GroupsErrorCode, GroupsException } from '../groups/groups.exception';
import { GroupsService } from '../groups/groups.service';
import { MembershipRepository } from './membership.repository';

export const SEARCH_MAX_GROUPS = 1000;
export const SEARCH_PAGE_SIZE = 5000;
export const SEARCH_MAX_PAGE_SIZE = 10_000;

class MembershipSearchDto {
  @Transform(({ value }) => (Array.isArray(value) ? value.map(lowerUuid) : value))
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(SEARCH_MAX_GROUPS)
  @IsUUID('all', { each: true })
  group_ids: string[];

  @IsOptional()
  @IsIn(['active', 'all'])
  status?: 'active' | 'all';

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(SEARCH_MAX_PAGE_SIZE)
  page_size?: number;

  /** The `next_cursor` of the previous page, sent with the same group_ids and status. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

/**
 * Memberships of many groups, a page at a time (keyed on group and user, so that a million rows
 * read in constant memory and a page stays correct while rows change), with their sync state and
 * times: what reconciliation compares with the LMS. Groups the caller may not read, or that do not
 * exist, are listed apart on every page.
 */
@ApiTags('members')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/memberships')
export class MembershipsSearchController {
  constructor(
    private readonly groups: GroupsService,
    private readonly memberships: MembershipRepository,
  ) {}

  @ApiOperation({
    summary: `Memberships of up to 1000 groups, ${SEARCH_PAGE_SIZE} a page (page_size up to ${SEARCH_MAX_PAGE_SIZE}); send next_cursor back as cursor until it is null`,
  })
  @Post('search')
  @HttpCode(200)
  async search(@Body() dto: MembershipSearchDto, @CurrentPrincipal() principal: Principal) {
    const ids = [...new Set(dto.group_ids)];
    const after = dto.cursor === undefined ? null : readCursor(dto.cursor);
    const size = dto.page_size ?? SEARCH_PAGE_SIZE;
    const groups = await this.groups.liveScopes(ids);
    const readable = groups
      .filter((g) => canManageScope(principal, g.scope_type, g.scope_key, 'read'))
      .map((g) => g.id);
    const memberships = readable.length
      ? await this.memberships.syncStates(readable, dto.status ?? 'all', after, size)
      : [];
    const last = memberships[memberships.length - 1];
    return {
      group_ids: readable,
      missing_group_ids: ids.filter((id) => !readable.includes(id)),
      memberships,
      next_cursor: memberships.length === size ? writeCursor(last.group_id, last.user_id) : null,
    };
  }
}

function writeCursor(groupId: string, userId: number): string {
  return Buffer.from(JSON.stringify([groupId, userId])).toString('base64url');
}

function readCursor(cursor: string): { groupId: string; userId: number } {
  try {
    const [groupId, userId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof groupId === 'string' && /^[0-9a-f-]{36}$/.test(groupId) && Number.isSafeInteger(userId))
      return { groupId, userId: userId as number };
  } catch {
    /* not ours: below */
  }
  throw new GroupsException(GroupsErrorCode.InvalidCursor, 'cursor is not a next_cursor this endpoint gave');
}
