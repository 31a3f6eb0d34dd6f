import { Injectable } from '@nestjs/common';
import { LmsApiClient } from '@groups-sync/lms-client';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { GroupMembership } from './drift';

const GROUPS_PER_CALL = 500;

/**
 * groups-service's memberships, read through its API (it owns them) with a token the LMS issues to
 * our OAuth client (its service user, admitted by SERVICE_USERS).
 */
@Injectable()
export class GroupMembershipsClient {
  private readonly api: LmsApiClient;

  constructor(config: LegacySyncServiceConfig) {
    this.api = new LmsApiClient(config, { baseUrl: config.GROUPS_SERVICE_URL });
  }

  /** Every membership (active or not) of these groups, and the groups groups-service does not have (deleted). */
  async of(groupIds: string[]): Promise<{ memberships: GroupMembership[]; missing: Set<string> }> {
    const memberships: GroupMembership[] = [];
    const missing = new Set<string>();
    for (let i = 0; i < groupIds.length; i += GROUPS_PER_CALL) {
      // Paged: next_cursor until null (an older groups-service answers everything, without one).
      let cursor: string | undefined;
      do {
        const res = await this.api.call<{
          memberships: GroupMembership[];
          missing_group_ids: string[];
          next_cursor?: string | null;
        }>('POST', '/api/user-groups/v1/memberships/search', {
          group_ids: groupIds.slice(i, i + GROUPS_PER_CALL),
          status: 'all',
          ...(cursor ? { cursor } : {}),
        });
        for (const m of res!.memberships) memberships.push(m);
        for (const id of res!.missing_group_ids) missing.add(id);
        cursor = res!.next_cursor ?? undefined;
      } while (cursor);
    }
    return { memberships, missing };
  }
}
