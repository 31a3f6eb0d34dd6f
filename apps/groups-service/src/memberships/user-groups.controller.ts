import { Controller, Get, Param, ParseIntPipe, Query, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiQuery, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { SCOPE_TYPES } from '@groups-sync/contracts';
import { CurrentPrincipal, JwtAuthGuard, Principal, canManageScope } from '@groups-sync/auth';
import { groupView, learnerGroupView } from '../groups/group-view';
import { MembershipRepository } from './membership.repository';

class UserGroupsQuery {
  @IsOptional()
  @IsIn(SCOPE_TYPES)
  scope?: string;

  @IsOptional()
  @IsString()
  @MaxLength(255)
  scope_key?: string;
}

/** "Which groups is this user in?": the question the legacy system cannot answer. */
@ApiTags('users')
@ApiBearerAuth()
@UseGuards(JwtAuthGuard)
@Controller('api/user-groups/v1/users')
export class UserGroupsController {
  constructor(private readonly memberships: MembershipRepository) {}

  @Get(':userId/groups')
  @ApiQuery({ name: 'scope', required: false, enum: SCOPE_TYPES })
  @ApiQuery({ name: 'scope_key', required: false })
  async groups(
    @Param('userId', ParseIntPipe) userId: number,
    @Query() query: UserGroupsQuery,
    @CurrentPrincipal() principal: Principal,
  ) {
    // Learners see all their own groups (by name and scope only); others see the groups they may read.
    const self = !principal.isService && principal.userId === userId;
    const results = [];
    for (const { group, membership } of await this.memberships.groupsOfUser(userId, query.scope, query.scope_key)) {
      if (canManageScope(principal, group.scopeType, group.scopeKey, 'read'))
        results.push({ ...groupView(group), origin: membership.origin, joined_at: membership.joinedAt });
      else if (self) results.push({ ...learnerGroupView(group), joined_at: membership.joinedAt });
    }
    return { user_id: userId, count: results.length, results };
  }
}
