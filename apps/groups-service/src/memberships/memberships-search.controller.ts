import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, IsUUID } from 'class-validator';
import { CurrentPrincipal, JwtAuthGuard, Principal, canManageScope } from '@groups-sync/auth';
import { lowerUuid } from '../api/group-id.pipe';
import { MembershipQueries } from './membership-queries';

export const SEARCH_MAX_GROUPS = 1000;

class MembershipSearchDto {
  @Transform(({ value }) => (Array.isArray(value) ? value.map(lowerUuid) : value))
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(SEARCH_MAX_GROUPS) @IsUUID('all', { each: true })
  group_ids: string[];

  @IsOptional() @IsIn(['active', 'all'])
  status?: 'active' | 'all';
}

/**
 * Memberships of many groups in one call, with their sync state and times: what reconciliation
 * compares with the LMS. Groups the caller may not read, or that do not exist, are listed apart.
 */
@ApiTags('members')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/memberships')
export class MembershipsSearchController {
  constructor(private readonly queries: MembershipQueries) {}

  @ApiOperation({ summary: 'Memberships of up to 1000 groups: user_id, username, active, origin, sync_state, changed_at, legacy_observed_at' })
  @Post('search')
  @HttpCode(200)
  async search(@Body() dto: MembershipSearchDto, @CurrentPrincipal() principal: Principal) {
    const ids = [...new Set(dto.group_ids)];
    const groups = await this.queries.groupScopes(ids);
    const readable = groups.filter((g) => canManageScope(principal, g.scope_type, g.scope_key, 'read')).map((g) => g.id);
    const memberships = readable.length ? await this.queries.syncStates(readable, dto.status ?? 'all') : [];
    return { group_ids: readable, missing_group_ids: ids.filter((id) => !readable.includes(id)), memberships };
  }
}
