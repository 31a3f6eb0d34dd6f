import { DomainErrorKind, DomainException } from '@groups-sync/observability';

export enum GroupsErrorCode {
  GroupNotFound = 'GROUP_NOT_FOUND',
  GroupNameTaken = 'GROUP_NAME_TAKEN',
  InvalidScope = 'INVALID_SCOPE',
  InvalidCriterion = 'INVALID_CRITERION',
  MembersReadOnly = 'MEMBERS_READ_ONLY',
  ScopeImmutable = 'SCOPE_IMMUTABLE',
  KindImmutable = 'KIND_IMMUTABLE',
  LegacyLinkImmutable = 'LEGACY_LINK_IMMUTABLE',
  LegacyGroupNotDeletable = 'LEGACY_GROUP_NOT_DELETABLE',
  VersionMismatch = 'VERSION_MISMATCH',
  IfMatchRequired = 'IF_MATCH_REQUIRED',
  InvalidEtag = 'INVALID_ETAG',
  PageNotFound = 'PAGE_NOT_FOUND',
  InvalidCursor = 'INVALID_CURSOR',
  NotRefreshable = 'GROUP_NOT_REFRESHABLE',
  CollectionConflict = 'COLLECTION_CONFLICT',
}

const KIND: Record<GroupsErrorCode, DomainErrorKind> = {
  [GroupsErrorCode.GroupNotFound]: 'not_found',
  [GroupsErrorCode.GroupNameTaken]: 'conflict',
  [GroupsErrorCode.InvalidScope]: 'invalid',
  [GroupsErrorCode.InvalidCriterion]: 'invalid',
  [GroupsErrorCode.MembersReadOnly]: 'conflict',
  [GroupsErrorCode.ScopeImmutable]: 'invalid',
  [GroupsErrorCode.KindImmutable]: 'invalid',
  [GroupsErrorCode.LegacyLinkImmutable]: 'conflict',
  [GroupsErrorCode.LegacyGroupNotDeletable]: 'conflict',
  [GroupsErrorCode.VersionMismatch]: 'precondition_failed',
  [GroupsErrorCode.IfMatchRequired]: 'precondition_required',
  [GroupsErrorCode.InvalidEtag]: 'invalid',
  [GroupsErrorCode.PageNotFound]: 'not_found',
  [GroupsErrorCode.InvalidCursor]: 'invalid',
  [GroupsErrorCode.NotRefreshable]: 'conflict',
  [GroupsErrorCode.CollectionConflict]: 'conflict',
};

export class GroupsException extends DomainException {
  constructor(code: GroupsErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, KIND[code], message, details);
  }
}
