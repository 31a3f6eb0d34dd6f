import { CanActivate, createParamDecorator, ExecutionContext, Injectable } from '@nestjs/common';
import { AuthenticatedRequest } from '@groups-sync/auth';
import { GroupIdPipe } from '../api/group-id.pipe';
import { UserGroup } from '../groups/user-group.entity';
import { GroupAccess } from './group-access';

type GroupRequest = AuthenticatedRequest & { writableGroup?: UserGroup };

/**
 * Checks write access to the path's group (`:id`) before anything reads the request body: guards run
 * before interceptors such as the multipart parser, so an outsider's upload is refused unread.
 * Goes after JwtAuthGuard; the handler takes the group with @WritableGroup().
 */
@Injectable()
export class GroupWriteGuard implements CanActivate {
  private readonly ids = new GroupIdPipe();

  constructor(private readonly access: GroupAccess) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<GroupRequest>();
    if (!req.principal) throw new Error('GroupWriteGuard runs after JwtAuthGuard');
    const id = await this.ids.transform(req.params.id as string, { type: 'param', data: 'id' }); // a named parameter: one string
    req.writableGroup = await this.access.require(id, req.principal, 'write');
    return true;
  }
}

/** The group GroupWriteGuard loaded and checked. */
export const WritableGroup = createParamDecorator((_data: unknown, context: ExecutionContext): UserGroup => {
  const group = context.switchToHttp().getRequest<GroupRequest>().writableGroup;
  if (!group) throw new Error('@WritableGroup() needs GroupWriteGuard on the route');
  return group;
});
