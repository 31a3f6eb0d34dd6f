import { expectEventually, ReplicatedMariadb, startReplicatedMariadb } from '@groups-sync/testing';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LmsCohortsClient } from '../lms/lms-cohorts.client';
import { CohortRoster } from '../kinds/cohort/cohort-roster';
import { findDrift, GroupMembership } from './drift';
import { LmsDatabase } from '../lms/lms-database';

const DELAY_SECONDS = 3;
const COURSE = 'course-v1:Lag+L1+2026';
let servers: ReplicatedMariadb;
let database: LmsDatabase;

async function replicated(sql: string): Promise<void> {
  await expectEventually(
    async () => expect(await servers.sql('replica', sql).catch(() => [])).not.toHaveLength(0), // the table may not be there yet
    { timeoutMs: 20_000, intervalMs: 200 },
  );
}

beforeAll(async () => {
  servers = await startReplicatedMariadb(DELAY_SECONDS);
  // edx-platform's names, only the columns the roster reads.
  for (const statement of [
    'CREATE DATABASE edxapp',
    'CREATE TABLE edxapp.auth_user (id INT PRIMARY KEY, username VARCHAR(150) NOT NULL)',
    "CREATE TABLE edxapp.course_groups_courseusergroup (id INT PRIMARY KEY, name VARCHAR(255) NOT NULL, course_id VARCHAR(255) NOT NULL, group_type VARCHAR(20) NOT NULL DEFAULT 'cohort')",
    'CREATE TABLE edxapp.course_groups_cohortmembership (id INT AUTO_INCREMENT PRIMARY KEY, course_id VARCHAR(255) NOT NULL, course_user_group_id INT NOT NULL, user_id INT NOT NULL)',
    "INSERT INTO edxapp.auth_user VALUES (1, 'ann'), (2, 'bob')",
    `INSERT INTO edxapp.course_groups_courseusergroup (id, name, course_id) VALUES (7, 'Blue', '${COURSE}')`,
    `INSERT INTO edxapp.course_groups_cohortmembership (course_id, course_user_group_id, user_id) VALUES ('${COURSE}', 7, 2)`,
  ])
    await servers.sql('primary', statement);
  await replicated('SELECT 1 FROM edxapp.course_groups_cohortmembership');
  const config = Object.assign(new LegacySyncServiceConfig(), {
    LMS_DB_URL: `${servers.replicaUrl}/edxapp`,
    LMS_DB_ASSUMED_LAG_SECONDS: 30,
  });
  database = new LmsDatabase(config);
}, 90_000);

afterAll(async () => {
  await database?.onModuleDestroy();
  await servers?.stop();
}, 30_000);

describe('reconciliation over a lagging LMS replica (MASTER_DELAY)', () => {
  it('does not undo an add the LMS made inside the lag window, and repairs once the replica has it', async () => {
    const roster = new CohortRoster(null as unknown as LmsCohortsClient, database);
    // Ann joins the cohort in the LMS; the event reached groups-service at once, which confirmed her.
    await servers.sql(
      'primary',
      `INSERT INTO edxapp.course_groups_cohortmembership (course_id, course_user_group_id, user_id) VALUES ('${COURSE}', 7, 1)`,
    );
    const confirmed = new Date().toISOString();
    const group: GroupMembership[] = [
      {
        group_id: 'g1',
        user_id: 1,
        username: 'ann',
        active: true,
        origin: 'legacy',
        sync_state: 'synced',
        changed_at: confirmed,
        legacy_observed_at: confirmed,
      },
      {
        group_id: 'g1',
        user_id: 2,
        username: 'bob',
        active: true,
        origin: 'legacy',
        sync_state: 'synced',
        changed_at: '2026-01-01T00:00:00.000Z',
        legacy_observed_at: '2026-01-01T00:00:00.000Z',
      },
    ];
    const link = { groupId: 'g1', courseKey: COURSE, cohortId: 7 };
    const wanted = new Map([[COURSE, new Set([7])]]);

    const readAt = await database.readAt();
    const [lagging] = await roster.read(wanted);
    const members = lagging.cohorts.get(7)!.members!;
    expect([...members.keys()]).toEqual(['bob']); // the replica has not applied Ann's add
    // Dated by the clock, this read would remove her; dated by the replica, it leaves her alone.
    expect(findDrift(link, members, group, Date.now(), 600_000).map((d) => [d.username, d.action])).toEqual([
      ['ann', 'remove_from_group'],
    ]);
    expect(
      findDrift(link, members, group, Date.now(), 600_000, readAt.getTime()).map((d) => [d.username, d.kind, d.action]),
    ).toEqual([['ann', 'changed_since_read', 'none']]);

    await replicated('SELECT 1 FROM edxapp.course_groups_cohortmembership WHERE user_id = 1');
    const laterAt = await database.readAt();
    const [caughtUp] = await roster.read(wanted);
    expect(findDrift(link, caughtUp.cohorts.get(7)!.members!, group, Date.now(), 600_000, laterAt.getTime())).toEqual(
      [],
    );
  }, 60_000);
});
