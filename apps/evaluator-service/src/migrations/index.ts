import { MESSAGING_MIGRATIONS } from '@groups-sync/messaging';
import { DynamicGroups1764200000400 } from './1764200000400-dynamic-groups.migration';
import { GroupCadence1764300000200 } from './1764300000200-group-cadence.migration';
import { DeletedGroups1764600000400 } from './1764600000400-deleted-groups.migration';

/** This service's schema, oldest first: what the service checks (or runs) at boot and its migrate entry runs. */
export const EVALUATOR_MIGRATIONS = [
  ...MESSAGING_MIGRATIONS,
  DynamicGroups1764200000400,
  GroupCadence1764300000200,
  DeletedGroups1764600000400,
];
