import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DecodedEvent, EventType, newEventMetadata, UserGroupData } from '@groups-sync/contracts';
import { InboxEntry, OutboxMessage, OutboxWriter } from '@groups-sync/messaging';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { LegacyLink } from '../links/legacy-link.entity';
import { PendingLmsWrite } from '../links/pending-lms-write.entity';
import { CohortDirectory } from '../kinds/cohort/cohort-directory';
import { CohortKind } from '../kinds/cohort/cohort.kind';
import { CohortRoster } from '../kinds/cohort/cohort-roster';
import { LegacyKinds } from '../kinds/legacy-kinds.registry';
import { TeamKind } from '../kinds/team/team.kind';
import { TeamRoster } from '../kinds/team/team-roster';
import { TrackKind } from '../kinds/track/track.kind';
import { TrackRoster } from '../kinds/track/track-roster';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { LmsEnrollmentsClient } from '../lms/lms-enrollments.client';
import { LmsTeamsClient } from '../lms/lms-teams.client';
import { LmsWritePauses } from '../lms-writes/lms-write-pauses';
import { LEGACY_SYNC_MIGRATIONS } from '../migrations';
import { ReconciliationRuns } from '../reconciliation/reconciliation-runs';
import { LegacyWrites } from './legacy-writes.service';
import { UserGroupEventsConsumer } from './user-group-events.consumer';

/** groups-service's lifecycle events against a stand-in LMS, on legacy-sync's real schema. */
const env = stackEnv();
const DB = `legacy_group_events_test_${uniqueSuffix()}`;
const COURSE = 'course-v1:T+Tomb+1';
let dataSource: DataSource;
let consumer: UserGroupEventsConsumer;

const lms = {
  cohortSettings: jest.fn(async () => ({ is_cohorted: true })),
  listCohorts: jest.fn(async () => [] as Array<{ id: number; name: string }>),
  createCohort: jest.fn(async (_course: string, name: string) => ({ id: 7, name })),
  renameCohort: jest.fn(async () => undefined),
};
const teams = {
  teamNamed: jest.fn(async () => null),
  createTeam: jest.fn(async (_course: string, _teamset: string, name: string) => ({
    id: `team-${randomUUID()}`,
    name,
  })),
  deleteTeam: jest.fn(async () => undefined),
};
const reconciliations = { request: jest.fn(async () => 'run'), work: jest.fn(async () => undefined) };

beforeAll(async () => {
  const flavor = await ensureDatabase(env.MYSQL_URL, DB);
  dataSource = await new DataSource(
    dataSourceOptions({
      url: env.MYSQL_URL,
      database: DB,
      flavor,
      entities: [LegacyLink, PendingLmsWrite, OutboxMessage, InboxEntry],
      migrations: LEGACY_SYNC_MIGRATIONS,
    }),
  ).initialize();
  const pauses = { assertWritable: jest.fn() } as unknown as LmsWritePauses;
  const config = {} as LegacySyncServiceConfig;
  const kinds = new LegacyKinds([
    new CohortKind(
      lms as unknown as LmsCohortsClient,
      { remember: jest.fn() } as unknown as CohortDirectory,
      pauses,
      {} as CohortRoster,
      config,
    ),
    new TeamKind(teams as unknown as LmsTeamsClient, pauses, {} as TeamRoster, config),
    new TrackKind({} as LmsEnrollmentsClient, {} as TrackRoster),
  ]);
  consumer = new UserGroupEventsConsumer(
    dataSource,
    kinds,
    new OutboxWriter('legacy-sync-service'),
    { apply: jest.fn() } as unknown as LegacyWrites,
    reconciliations as unknown as ReconciliationRuns,
  );
}, 60_000);

afterAll(async () => {
  await dataSource?.destroy();
  await dropDatabase(env.MYSQL_URL, DB);
});

beforeEach(() => jest.clearAllMocks());

/** A lifecycle event with a fresh `ce_id`: what a dead letter replayed after its inbox row was pruned looks like. */
function lifecycle(
  type: EventType.UserGroupCreated | EventType.UserGroupUpdated | EventType.UserGroupDeleted,
  id: string,
  version: number,
  criterion: { type: string; config: object },
  extra: { name?: string; unlink?: boolean } = {},
): DecodedEvent {
  const data: UserGroupData = {
    user_group: {
      id,
      scope_type: 'course',
      scope_key: COURSE,
      name: extra.name ?? `Group ${id.slice(0, 8)}`,
      description: '',
      kind: 'manual',
      enabled: true,
      version,
      criteria: [{ type: criterion.type, operator: '=', value: '', config: JSON.stringify(criterion.config) }],
      changed_by: 'staff',
      occurred_at: new Date().toISOString(),
      unlink: extra.unlink,
    },
  };
  return { type, data, metadata: newEventMetadata(type, 'groups-service'), key: COURSE };
}

const links = (id: string) =>
  dataSource.query('SELECT group_id, legacy_type FROM legacy_link WHERE group_id = ?', [id]);

it('creates no cohort and no link again for a cohort-linked group whose created event comes back after its deletion', async () => {
  const id = randomUUID();
  const cohort = { type: 'legacy_cohort', config: {} };
  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1, cohort)]);
  expect(lms.createCohort).toHaveBeenCalledTimes(1);
  await consumer.onBatch([lifecycle(EventType.UserGroupDeleted, id, 2, cohort, { unlink: true })]);
  expect(await links(id)).toEqual([]);
  jest.clearAllMocks();

  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1, cohort)]);
  await consumer.onBatch([lifecycle(EventType.UserGroupUpdated, id, 1, cohort, { name: 'Renamed late' })]);

  expect(lms.createCohort).not.toHaveBeenCalled();
  expect(lms.listCohorts).not.toHaveBeenCalled();
  expect(lms.renameCohort).not.toHaveBeenCalled();
  expect(reconciliations.request).not.toHaveBeenCalled();
  expect(await links(id)).toEqual([]);
});

it('creates no team again for a team-linked group whose created event comes back after its deletion', async () => {
  const id = randomUUID();
  const team = { type: 'legacy_team', config: { teamset_id: 'projects' } };
  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1, team)]);
  await consumer.onBatch([lifecycle(EventType.UserGroupDeleted, id, 2, team)]);
  expect(teams.createTeam).toHaveBeenCalledTimes(1);
  expect(teams.deleteTeam).toHaveBeenCalledTimes(1);
  jest.clearAllMocks();

  await consumer.onBatch([lifecycle(EventType.UserGroupCreated, id, 1, team)]);

  expect(teams.createTeam).not.toHaveBeenCalled();
  expect(await links(id)).toEqual([]);
});

it('still links a group created for the first time', async () => {
  const id = randomUUID();
  await consumer.onBatch([
    lifecycle(EventType.UserGroupCreated, id, 1, { type: 'legacy_team', config: { teamset_id: 'projects' } }),
  ]);
  expect(await links(id)).toEqual([{ group_id: id, legacy_type: 'team' }]);
});
