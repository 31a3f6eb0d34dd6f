import fc from 'fast-check';
import { CONSUMER_GROUP_TOPICS, EncodedMessage } from '@groups-sync/contracts';
import { createKafka, groupLag } from '@groups-sync/messaging';
import { expectEventually, http } from '@groups-sync/testing';
import { System } from './support/system';

/**
 * Random interleavings of edits on both sides (API adds, removals and moves; LMS adds, moves and
 * removals; renames; lost events; phantoms; redelivered events; a restart of legacy-sync), each in
 * a course of its own with two cohort-linked groups and a cohort no group mirrors, a team-linked
 * group (its team and another team of the same teamset; team events on or off), and a group
 * mirroring the verified track (mode changes, unenrollments, lost enrollment events). After the
 * system is quiet and one reconciliation has run, every group holds exactly its legacy group's
 * learners, and the messages stayed bounded: nothing more is published once quiet (no ping-pong).
 * PROPERTY_RUNS sets the number of cases (50 here; `npm run test:property` runs more).
 */
const RUNS = Number(process.env.PROPERTY_RUNS ?? 50);
const LEARNERS = 4;

type Command =
  | { t: 'apiAdd' | 'apiRemove'; g: number; u: number }
  | { t: 'lmsAdd'; c: number; u: number; fault: 'none' | 'lost' | 'phantom' }
  | { t: 'lmsRemove'; c: number; u: number }
  | { t: 'rename'; c: number }
  | { t: 'redeliver'; c: number; u: number }
  | { t: 'restart' }
  | { t: 'teamApi'; add: boolean; u: number }
  | { t: 'teamLms'; join: boolean; team: number; u: number }
  | { t: 'enroll'; mode: 'audit' | 'verified' | 'credit' | 'unenrolled'; lost: boolean; u: number };

const learner = fc.integer({ min: 0, max: LEARNERS - 1 });
const cohort = fc.integer({ min: 0, max: 2 }); // 2: the cohort no group mirrors
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({
      t: fc.constantFrom('apiAdd' as const, 'apiRemove' as const),
      g: fc.integer({ min: 0, max: 1 }),
      u: learner,
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('lmsAdd' as const),
      c: cohort,
      u: learner,
      fault: fc.constantFrom('none' as const, 'none' as const, 'lost' as const, 'phantom' as const),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ t: fc.constant('lmsRemove' as const), c: cohort, u: learner }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('rename' as const), c: cohort }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('redeliver' as const), c: cohort, u: learner }), weight: 1 },
  { arbitrary: fc.constant({ t: 'restart' as const }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('teamApi' as const), add: fc.boolean(), u: learner }), weight: 3 },
  {
    arbitrary: fc.record({
      t: fc.constant('teamLms' as const),
      join: fc.boolean(),
      team: fc.integer({ min: 0, max: 1 }),
      u: learner,
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('enroll' as const),
      mode: fc.constantFrom('audit' as const, 'verified' as const, 'credit' as const, 'unenrolled' as const),
      lost: fc.boolean(),
      u: learner,
    }),
    weight: 3,
  },
);

describe('convergence under random interleavings of both sides (property)', () => {
  const system = new System(40);
  const kafka = createKafka({ clientId: 'property', brokers: system.env.KAFKA_BROKERS.split(',') });
  let n = 0;

  // One admin connection for every lag poll (a connection per group and poll cost ~1 s a poll).
  const admin = kafka.admin();

  beforeAll(async () => {
    await system.start();
    await admin.connect();
  }, 180_000);
  afterAll(async () => {
    await admin.disconnect();
    await system.stop();
  }, 60_000);

  /** No consumer lag on any topic of the services running here, and nothing left in either outbox. */
  async function quiet(): Promise<void> {
    await expectEventually(
      async () => {
        for (const [group, topics] of Object.entries(CONSUMER_GROUP_TOPICS)) {
          if (group.startsWith('evaluator-service.')) continue; // not started in this system
          const lag = await groupLag(kafka, group, topics, system.prefix, admin);
          expect(Object.values(lag).every((v) => v === 0)).toBe(true);
        }
        for (const db of [system.groupsDatabase, system.legacySyncDatabase]) {
          const [{ n: unsent }] = await system.query(
            db,
            'SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND parked_at IS NULL',
          );
          expect(Number(unsent)).toBe(0);
        }
      },
      { timeoutMs: 60_000, intervalMs: 300 },
    );
  }

  async function published(groupIds: string[]): Promise<number> {
    let total = 0;
    for (const db of [system.groupsDatabase, system.legacySyncDatabase]) {
      total += Number(
        (await system.query(db, 'SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id IN (?)', [groupIds]))[0].n,
      );
    }
    return total;
  }

  /**
   * Nothing more published for a quiet case's groups once QUIET_CHECK_MS have passed. Checked at the
   * end of a later case (or after the last), not by sleeping in each case: cases are independent (a
   * course each), so the wait overlaps the later cases' work and only the last ones wait.
   */
  const QUIET_CHECK_MS = 1500;
  const quietCases: Array<{ k: number; commands: Command[]; groups: string[]; messages: number; quietAt: number }> = [];
  async function nothingMorePublished({ waitForAll }: { waitForAll: boolean }): Promise<void> {
    while (quietCases.length) {
      const { k, commands, groups, messages, quietAt } = quietCases[0];
      const wait = quietAt + QUIET_CHECK_MS - Date.now();
      if (wait > 0 && !waitForAll) return;
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      quietCases.shift();
      const now = await published(groups);
      if (now !== messages)
        throw new Error(
          `case ${k} published ${now - messages} more message(s) after it was quiet (ping-pong); its commands: ${JSON.stringify(commands)}`,
        );
    }
  }

  it(
    `converges after one reconciliation, with bounded messages (${RUNS} cases)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.array(command, { minLength: 1, maxLength: 8 }),
          fc.boolean(),
          async (commands, teamEvents) => {
            const k = ++n;
            const course = `course-v1:Prop+C${k}+2026`;
            const usernames = Array.from({ length: LEARNERS }, (_, i) => `p${k}u${i}`);
            await http('POST', `${system.lmsEmulator.url}/emulator/courses`, {
              course_id: course,
              teams_configuration: { max_team_size: 3, team_sets: [{ id: 'p', name: 'P', type: 'open' }] },
            });
            const created = await http('POST', `${system.lmsEmulator.url}/emulator/users`, {
              users: usernames.map((username) => ({ username })),
            });
            // Everyone starts enrolled (audit); the team group and the verified track group come with the cohort groups.
            await http('POST', `${system.lmsEmulator.url}/emulator/enrollments`, {
              enrollments: usernames.map((username) => ({ username, course_id: course, mode: 'audit' })),
            });
            await http('PUT', `${system.lmsEmulator.url}/emulator/settings`, { emit_team_events: teamEvents });
            const emulator = (method: string, path: string, body?: unknown) =>
              http(method, `${system.lmsEmulator.url}/emulator${path}`, body);
            const ids = new Map<string, number>(
              created.body.users.map((u: { username: string; id: number }) => [u.username, u.id]),
            );
            const lms = (method: string, path: string, body?: unknown) =>
              system.accessToken().then((token) =>
                http(method, `${system.lmsEmulator.url}/api/cohorts/v1/courses/${course}${path}`, body, {
                  authorization: `JWT ${token}`,
                }),
              );
            const groups: string[] = [];
            for (const name of ['A', 'B']) {
              const res = await system.groups('POST', '/groups', {
                scope_type: 'course',
                scope_key: course,
                name,
                kind: 'legacy',
                criteria: [{ type: 'legacy_cohort', config: {} }],
              });
              groups.push(res.body.id);
            }
            const cohorts: number[] = [];
            for (const g of groups)
              cohorts.push(
                await expectEventually(
                  async () => (await system.group(g)).legacy_link?.cohort_id ?? Promise.reject(new Error('not linked')),
                ),
              );
            cohorts.push((await lms('POST', '/cohorts/', { name: 'Unmirrored', assignment_type: 'manual' })).body.id);
            const teamGroup = (
              await system.groups('POST', '/groups', {
                scope_type: 'course',
                scope_key: course,
                name: 'T',
                kind: 'legacy',
                criteria: [{ type: 'legacy_team', config: { teamset_id: 'p' } }],
              })
            ).body.id;
            const trackGroup = (
              await system.groups('POST', '/groups', {
                scope_type: 'course',
                scope_key: course,
                name: 'V',
                kind: 'legacy',
                criteria: [{ type: 'legacy_enrollment_track', config: { mode: 'verified' } }],
              })
            ).body.id;
            const teams = [
              await expectEventually(
                async () =>
                  (await system.group(teamGroup)).legacy_link?.team_id ?? Promise.reject(new Error('not linked')),
              ),
            ];
            teams.push(
              (
                await emulator('POST', '/teams', {
                  course_id: course,
                  topic_id: 'p',
                  name: 'Other',
                  description: 'not mirrored',
                })
              ).body.id,
            );
            const names = new Map<number, string>(cohorts.map((c, i) => [c, i === 2 ? 'Unmirrored' : ['A', 'B'][i]]));

            for (const cmd of commands) {
              if (cmd.t === 'apiAdd' || cmd.t === 'apiRemove') {
                const u = usernames[cmd.u];
                if (cmd.t === 'apiAdd')
                  await system.groups('POST', `/groups/${groups[cmd.g]}/members`, {
                    members: [{ user_id: ids.get(u), username: u }],
                  });
                else
                  await system.groups('POST', `/groups/${groups[cmd.g]}/members/remove`, {
                    members: [{ user_id: ids.get(u) }],
                  });
              } else if (cmd.t === 'lmsAdd') {
                const u = usernames[cmd.u];
                if (cmd.fault !== 'none')
                  await system.lmsFaults(
                    cmd.fault === 'lost' ? { drop_events_for: [u] } : { rollback_after_emit_for: [u] },
                  );
                await lms('POST', `/cohorts/${cohorts[cmd.c]}/users/`, { users: [u] });
                if (cmd.fault !== 'none') await http('DELETE', `${system.lmsEmulator.url}/emulator/faults`);
              } else if (cmd.t === 'lmsRemove') {
                await lms('DELETE', `/cohorts/${cohorts[cmd.c]}/users/${usernames[cmd.u]}`);
              } else if (cmd.t === 'rename') {
                const name = `${names.get(cohorts[cmd.c])}'`;
                if ((await lms('PATCH', `/cohorts/${cohorts[cmd.c]}`, { name })).status === 204)
                  names.set(cohorts[cmd.c], name);
              } else if (cmd.t === 'redeliver') {
                // An LMS event delivered twice (same ce_id), for a change the LMS may not hold.
                const [message] = await system.cohortEvents(
                  names.get(cohorts[cmd.c])!,
                  [{ id: ids.get(usernames[cmd.u])!, username: usernames[cmd.u] }],
                  course,
                );
                await system.produce([message, { ...message } as EncodedMessage]);
              } else if (cmd.t === 'teamApi') {
                const u = usernames[cmd.u];
                if (cmd.add)
                  await system.groups('POST', `/groups/${teamGroup}/members`, {
                    members: [{ user_id: ids.get(u), username: u }],
                  });
                else
                  await system.groups('POST', `/groups/${teamGroup}/members/remove`, {
                    members: [{ user_id: ids.get(u) }],
                  });
              } else if (cmd.t === 'teamLms') {
                // The LMS's rules apply (one team per teamset, enrolled, size): a refused change changes nothing.
                if (cmd.join)
                  await emulator('POST', '/team-memberships', { team_id: teams[cmd.team], username: usernames[cmd.u] });
                else await emulator('DELETE', `/team-memberships/${teams[cmd.team]},${usernames[cmd.u]}`);
              } else if (cmd.t === 'enroll') {
                const u = usernames[cmd.u];
                if (cmd.lost) await system.lmsFaults({ drop_events_for: [u] });
                await emulator('POST', '/enrollments', {
                  username: u,
                  course_id: course,
                  mode: cmd.mode === 'unenrolled' ? 'audit' : cmd.mode,
                  is_active: cmd.mode !== 'unenrolled',
                });
                if (cmd.lost) await http('DELETE', `${system.lmsEmulator.url}/emulator/faults`);
              } else {
                await system.legacySync.stop();
                await system.legacySync.start();
              }
            }

            await quiet();
            const run = await system.reconcile({ course_key: course });
            expect(run.status).toBe('succeeded');
            await quiet();
            for (let i = 0; i < 2; i++) {
              const inLms = (await lms('GET', `/cohorts/${cohorts[i]}/users/?page_size=100`)).body.results
                .map((r: { username: string }) => r.username)
                .sort();
              expect({ group: i, members: await system.activeUsernames(groups[i]) }).toEqual({
                group: i,
                members: inLms,
              });
            }
            const inTeam = (
              await system.query(
                system.lmsDatabase,
                'SELECT u.username FROM teams_courseteammembership m JOIN teams_courseteam t ON t.id = m.team_id JOIN auth_user u ON u.id = m.user_id WHERE t.team_id = ?',
                [teams[0]],
              )
            )
              .map((r: { username: string }) => r.username)
              .sort();
            expect({ group: 'team', members: await system.activeUsernames(teamGroup) }).toEqual({
              group: 'team',
              members: inTeam,
            });
            const verified = (
              await system.query(
                system.lmsDatabase,
                `SELECT u.username FROM student_courseenrollment e JOIN auth_user u ON u.id = e.user_id WHERE e.course_id = ? AND e.is_active = 1 AND e.mode IN ('verified', 'credit')`,
                [course],
              )
            )
              .map((r: { username: string }) => r.username)
              .sort();
            expect({ group: 'track', members: await system.activeUsernames(trackGroup) }).toEqual({
              group: 'track',
              members: verified,
            });
            groups.push(teamGroup, trackGroup);
            // Bounded, and nothing more once quiet: no ping-pong between the two sides.
            const messages = await published(groups);
            expect(messages).toBeLessThanOrEqual(12 * commands.length + 60);
            quietCases.push({ k, commands, groups, messages, quietAt: Date.now() });
            await nothingMorePublished({ waitForAll: false });
          },
        ),
        { numRuns: RUNS, endOnFailure: true, verbose: 1 },
      );
      await nothingMorePublished({ waitForAll: true });
    },
    60 * 60_000,
  );
});
