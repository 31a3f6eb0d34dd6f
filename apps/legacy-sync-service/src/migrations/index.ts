import { MESSAGING_MIGRATIONS } from '@groups-sync/messaging';
import { LegacySync1763700000300 } from './1763700000300-legacy-sync.migration';
import { PendingWriteChangeTime1764000000300 } from './1764000000300-pending-write-change-time.migration';
import { Reconciliation1764100000300 } from './1764100000300-reconciliation.migration';
import { PendingWritePruneIndex1764400000300 } from './1764400000300-pending-write-prune-index.migration';
import { DeletedGroups1764600000300 } from './1764600000300-deleted-groups.migration';
import { RetiredUsers1764600000310 } from './1764600000310-retired-users.migration';

/** This service's schema, oldest first: what the service checks (or runs) at boot and its migrate entry runs. */
export const LEGACY_SYNC_MIGRATIONS = [
  ...MESSAGING_MIGRATIONS,
  LegacySync1763700000300,
  PendingWriteChangeTime1764000000300,
  Reconciliation1764100000300,
  PendingWritePruneIndex1764400000300,
  DeletedGroups1764600000300,
  RetiredUsers1764600000310,
];
