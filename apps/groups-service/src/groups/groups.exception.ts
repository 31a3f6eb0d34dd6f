import { DomainErrorKind, DomainException } from '@groups-sync/observability';

export enum GroupsErrorCode {
  GroupNotFound = 'GROUP_NOT_FOUND',
  GroupNameTaken = 'GROUP_NAME_TAKEN',
  InvalidScope = 'INVALID_SCOPE',
  InvalidCriterion = 'INVALID_CRITERION',
  MembersReadOnly = 'MEMBERS_READ_ONLY',
}

const KIND: Record<GroupsErrorCode, DomainErrorKind> = {
  [GroupsErrorCode.GroupNotFound]: 'not_found',
  [GroupsErrorCode.GroupNameTaken]: 'conflict',
  [GroupsErrorCode.InvalidScope]: 'invalid',
  [GroupsErrorCode.InvalidCriterion]: 'invalid',
  [GroupsErrorCode.MembersReadOnly]: 'conflict',
};

export class GroupsException extends DomainException {
  constructor(code: GroupsErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, KIND[code], message, details);
  }
}
