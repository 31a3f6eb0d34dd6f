import { MESSAGING_MIGRATIONS } from '@groups-sync/messaging';
import { UserGroups1763700000100 } from './1763700000100-user-groups.migration';
import { GroupCollections1763800000100 } from './1763800000100-group-collections.migration';
import { UserAccounts1763900000100 } from './1763900000100-user-accounts.migration';
import { EvaluationChunks1763900000200 } from './1763900000200-evaluation-chunks.migration';
import { LegacyOrdering1764000000100 } from './1764000000100-legacy-ordering.migration';
import { EvaluationError1764200000100 } from './1764200000100-evaluation-error.migration';
import { CriterionTypes1764300000100 } from './1764300000100-criterion-types.migration';
import { RetiredUsers1764400000100 } from './1764400000100-retired-users.migration';
import { GroupIdCollation1764500000100 } from './1764500000100-group-id-collation.migration';
import { CourseReruns1764600000100 } from './1764600000100-course-reruns.migration';

/** This service's schema, oldest first: what the service checks (or runs) at boot and its migrate entry runs. */
export const GROUPS_SERVICE_MIGRATIONS = [
  ...MESSAGING_MIGRATIONS,
  UserGroups1763700000100,
  GroupCollections1763800000100,
  UserAccounts1763900000100,
  EvaluationChunks1763900000200,
  LegacyOrdering1764000000100,
  EvaluationError1764200000100,
  CriterionTypes1764300000100,
  RetiredUsers1764400000100,
  GroupIdCollation1764500000100,
  CourseReruns1764600000100,
];
