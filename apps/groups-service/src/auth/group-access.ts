import { Injectable } from '@nestjs/common';
import { GroupsService } from '../groups/groups.service';
import { UserGroup } from '../groups/user-group.entity';
import { Access, Principal, assertCanManageScope } from '@groups-sync/auth';

/** Loads a group for a caller: 404 if it does not exist, 403 if the caller may not touch its scope. */
@Injectable()
export class GroupAccess {
  constructor(private readonly groups: GroupsService) {}

  async require(id: string, principal: Principal, access: Access): Promise<UserGroup> {
    const group = await this.groups.get(id);
    assertCanManageScope(principal, group.scopeType, group.scopeKey, access);
    return group;
  }
}
