import {
  allTopicSpecs,
  ConfluentSchemaRegistry,
  CONSUMER_GROUP_TOPICS,
  ConsumerGroup,
  EventCodec,
  EventType,
  fullTopicName,
  retryTopic,
  Topic,
} from '@groups-sync/contracts';
import { consumerGroupMembers, createKafka, groupLag, TopicReader } from '@groups-sync/messaging';
import { expectEventually, http, ServiceProcess } from '@groups-sync/testing';
import { MultiInstanceSystem, Service, SERVICES } from './support/multi-instance-system';

const LEASE_SECONDS = 5;
/** Changes each way: API adds to one cohort-linked group, LMS cohort adds to another's cohort. */
const CHANGES = 100;
const FROZEN_COURSE = 'course-v1:DemoX+Frozen+2026';

describe('two instances of each service', () => {
  const system = new MultiInstanceSystem(90, { RELAY_LEASE_SECONDS: String(LEASE_SECONDS) });
  const kafka = createKafka({ clientId: 'e2e-multi', brokers: system.env.KAFKA_BROKERS.split(',') });
  const lmsEvents = new TopicReader(kafka, [fullTopicName(Topic.LmsCohortMembership, system.prefix)]);
  /** Ends the stream of changes early when the test fails. */
  let finished = false;

  beforeAll(() => system.start(), 240_000);
  afterAll(async () => {
    finished = true;
    await lmsEvents.stop();
    await system.stop();
  }, 120_000);

  const consumerGroupsOf = (service: Service) =>
    (Object.values(ConsumerGroup) as ConsumerGroup[]).filter((g) => g.startsWith(`${service}.`));
  const partitionsOf = (group: ConsumerGroup) => {
    const specs = allTopicSpecs(system.prefix);
    return Object.fromEntries(
      [...CONSUMER_GROUP_TOPICS[group], retryTopic(group)].map((t) => {
        const name = fullTopicName(t, system.prefix);
        return [name, Array.from({ length: specs.find((s) => s.name === name)!.partitions }, (_, i) => i)];
      }),
    );
  };
  const sorted = (partitions: Record<string, number[]>) =>
    Object.fromEntries(
      Object.entries(partitions)
        .map(([t, p]) => [t, [...p].sort()])
        .sort(),
    );

  async function holder(service: Service): Promise<ServiceProcess> {
    return expectEventually(
      async () => {
        const found = await system.leaseHolder(service);
        if (!found) throw new Error(`no ${service} instance holds the relay lease`);
        return found;
      },
      { timeoutMs: (LEASE_SECONDS + 10) * 1000, intervalMs: 200 },
    );
  }

  /** Waits until both instances of each service are members of each of its consumer groups; keeps their member ids. */
  async function bothInstancesInEveryGroup(memberIds: Map<string, string[]>): Promise<void> {
    await expectEventually(
      async () => {
        for (const service of SERVICES) {
          for (const group of consumerGroupsOf(service)) {
            const members = await consumerGroupMembers(kafka, fullTopicName(group, system.prefix));
            expect({ group, members: members.length }).toEqual({ group, members: 2 });
            memberIds.set(
              group,
              members.map((m) => m.memberId),
            );
          }
        }
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  }

  async function addThroughApi(groupId: string, username: string): Promise<void> {
    await expectEventually(
      async () => {
        const res = await system.groups('POST', `/groups/${groupId}/members`, { members: [{ username }] });
        // A retry after an instance died mid-call finds the learner in already.
        expect(['added', 'already_member']).toContain(res.body?.results?.[0]?.result);
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
  }

  it('shares partitions and the relay lease; after kill -9 of one instance of each mid-stream the survivors take both over, and each change lands once both ways', async () => {
    // Both instances of each service are members of each of its consumer groups.
    const membersBefore = new Map<string, string[]>();
    await bothInstancesInEveryGroup(membersBefore);

    const apiLearners = Array.from({ length: CHANGES }, (_, i) => `multi_api_${i}`);
    const lmsLearners = Array.from({ length: CHANGES }, (_, i) => `multi_lms_${i}`);
    const ids = new Map<string, number>();
    for (let i = 0; i < CHANGES; i += 10) {
      await Promise.all(
        [...apiLearners.slice(i, i + 10), ...lmsLearners.slice(i, i + 10)].map(async (u) =>
          ids.set(u, await system.learner(u)),
        ),
      );
    }
    const apiGroup = await system.createCohortGroup('Multi API');
    const lmsGroup = await system.createCohortGroup('Multi LMS');
    // In a course of its own: a writer to a cohort-linked group locks the course's other
    // cohort-linked groups (one cohort per learner and course), so a frozen writer of the stream's
    // group would hold a group of the same course too.
    expect(
      (await http('POST', `${system.lmsEmulator.url}/emulator/courses`, { course_id: FROZEN_COURSE })).status,
    ).toBe(201);
    const frozenGroup = await system.createCohortGroup('Multi frozen', undefined, FROZEN_COURSE);
    const frozenLearner = 'multi_frozen_0';
    await system.learner(frozenLearner, FROZEN_COURSE);
    const [apiCohort, lmsCohort, frozenCohort] = await expectEventually(
      () => Promise.all([system.cohortIdOf(apiGroup), system.cohortIdOf(lmsGroup), system.cohortIdOf(frozenGroup)]),
      { timeoutMs: 30_000 },
    );
    await lmsEvents.start();

    // Changes both ways, continuously, while instances are stopped and killed.
    let sent = 0;
    const stream = (async () => {
      for (let i = 0; i < CHANGES && !finished; i++) {
        await Promise.all([
          addThroughApi(apiGroup, apiLearners[i]),
          system
            .lms('POST', `/cohorts/${lmsCohort}/users/`, { users: [lmsLearners[i]] })
            .then((res) => expect(res.body.added).toHaveLength(1)),
        ]);
        sent = i + 1;
        await new Promise((r) => setTimeout(r, 150)); // pacing, so that the stream outlasts the faults
      }
    })();
    const reached = (n: number) =>
      expectEventually(() => expect(sent).toBeGreaterThanOrEqual(n), { timeoutMs: 60_000, intervalMs: 50 });

    // SIGSTOP the groups-service instance holding the lease: its connections stay open, yet the
    // other instance takes the lease once it runs out, and publishes the changes made meanwhile.
    await reached(CHANGES / 5);
    const frozen = await holder('groups-service');
    system.freeze(frozen);
    const frozenAt = Date.now();
    const [other] = system.instances['groups-service'].filter((p) => p !== frozen);
    await expectEventually(async () => expect(await system.leaseHolder('groups-service')).toBe(other), {
      timeoutMs: (LEASE_SECONDS + 5) * 1000,
      intervalMs: 200,
    });
    expect(Date.now() - frozenAt).toBeLessThan((LEASE_SECONDS + 3) * 1000);
    // A change made meanwhile, through the other instance, in a group of another course: the frozen
    // one may be frozen inside a transaction, holding the stream's course's groups until it thaws.
    await addThroughApi(frozenGroup, frozenLearner);
    await expectEventually(
      async () => expect(await system.cohortUsernames(frozenCohort, FROZEN_COURSE)).toContain(frozenLearner),
      {
        timeoutMs: 20_000,
        intervalMs: 250,
      },
    );
    system.thaw(frozen);
    // Frozen past its session, it lost its partitions and joins again (as a new member).
    await bothInstancesInEveryGroup(membersBefore);

    // kill -9 of the lease holder of each service, mid-stream.
    await reached((CHANGES * 3) / 5);
    const victims = Object.fromEntries(
      await Promise.all(SERVICES.map(async (s) => [s, await holder(s)] as const)),
    ) as Record<Service, ServiceProcess>;
    await Promise.all(SERVICES.map((s) => system.crash(victims[s])));
    const crashedAt = Date.now();
    expect(sent).toBeLessThan(CHANGES);
    // Every partition of their consumer groups goes to the survivor once the dead members' sessions
    // expire (KAFKA_SESSION_TIMEOUT_MS, 6 s by default): timed from the kill.
    // Polled over one admin connection, every group at once: the figure is the takeover's, not the poll's.
    const admin = kafka.admin();
    await admin.connect();
    const takeover = expectEventually(
      async () => {
        await Promise.all(
          SERVICES.flatMap((service) =>
            consumerGroupsOf(service).map(async (group) => {
              const members = await consumerGroupMembers(kafka, fullTopicName(group, system.prefix), admin);
              expect({ group, members: members.length }).toEqual({ group, members: 1 });
              expect(membersBefore.get(group)).toContain(members[0].memberId);
              expect(sorted(members[0].partitions)).toEqual(sorted(partitionsOf(group)));
            }),
          ),
        );
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    )
      .then(() => Date.now() - crashedAt)
      .finally(() => admin.disconnect());
    takeover.catch(() => undefined); // awaited below, after the leases

    // The survivors take over the relay leases once the dead holders' run out...
    for (const service of SERVICES) {
      const survivor = system.instances[service].find((p) => p !== victims[service]);
      await expectEventually(async () => expect(await system.leaseHolder(service)).toBe(survivor), {
        timeoutMs: (LEASE_SECONDS + 5) * 1000,
        intervalMs: 200,
      });
    }
    await stream;
    const takeoverMs = await takeover;
    process.stdout.write(
      `multi-instance: every partition of the killed instances with a survivor ${takeoverMs} ms after kill -9\n`,
    );
    expect(takeoverMs).toBeLessThan(10_000);

    // Every change landed on the other side...
    const activeIds = async (groupId: string) =>
      (
        await system.query(
          system.groupsDatabase,
          'SELECT user_id FROM membership WHERE group_id = ? AND active = 1 ORDER BY user_id',
          [groupId],
        )
      ).map((r) => Number(r.user_id));
    const expectedIds = (users: string[]) => users.map((u) => ids.get(u)!).sort((a, b) => a - b);
    await expectEventually(
      async () => {
        expect(await system.cohortUsernames(apiCohort)).toEqual([...apiLearners].sort());
        expect(await activeIds(lmsGroup)).toEqual(expectedIds(lmsLearners));
        expect(await activeIds(apiGroup)).toEqual(expectedIds(apiLearners));
        expect(await system.cohortUsernames(lmsCohort)).toEqual([...lmsLearners].sort());
      },
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    // ...and once: one audit row and one membership event per learner in groups-service, one LMS
    // cohort event per learner, one observation per LMS change and one sync result per API add in legacy-sync.
    for (const groupId of [apiGroup, lmsGroup]) {
      const [audit] = await system.query(
        system.groupsDatabase,
        `SELECT COUNT(*) AS n, COUNT(DISTINCT user_id) AS users FROM audit_event WHERE group_id = ? AND action = 'member_added'`,
        [groupId],
      );
      expect({ n: Number(audit.n), users: Number(audit.users) }).toEqual({ n: CHANGES, users: CHANGES });
      const [events] = await system.query(
        system.groupsDatabase,
        'SELECT COUNT(*) AS n FROM outbox WHERE aggregate_id = ? AND event_type = ?',
        [groupId, EventType.UserGroupMembershipChanged],
      );
      expect(Number(events.n)).toBe(CHANGES);
    }
    const codec = new EventCodec(new ConfluentSchemaRegistry(system.env.SCHEMA_REGISTRY_URL), system.prefix);
    await expectEventually(async () => {
      const usernames = await Promise.all(
        lmsEvents.messages.map(
          async (m) =>
            (await codec.decode(m.value, m.headers, m.key)).data as { cohort: { user: { pii: { username: string } } } },
        ),
      );
      const perLearner = new Map<string, number>();
      for (const e of usernames)
        perLearner.set(e.cohort.user.pii.username, (perLearner.get(e.cohort.user.pii.username) ?? 0) + 1);
      expect([...apiLearners, ...lmsLearners].filter((u) => perLearner.get(u) !== 1)).toEqual([]);
    });
    const perUser = async (type: EventType, groupId: string, field: string) =>
      (
        await system.query(
          system.legacySyncDatabase,
          `SELECT JSON_VALUE(payload, '$.${field}.user_id') AS user_id, COUNT(*) AS n FROM outbox WHERE event_type = ? AND aggregate_id = ? GROUP BY user_id HAVING user_id IS NOT NULL`,
          [type, groupId],
        )
      ).map((r) => Number(r.n));
    expect(await perUser(EventType.LegacyMembershipObserved, lmsGroup, 'observation')).toEqual(
      lmsLearners.map(() => 1),
    );
    expect(await perUser(EventType.LegacySyncCompleted, apiGroup, 'sync_result')).toEqual(apiLearners.map(() => 1));

    // Nothing left behind: every consumer group has committed everything.
    for (const service of SERVICES) {
      for (const group of consumerGroupsOf(service)) {
        await expectEventually(async () => {
          const lag = await groupLag(kafka, group, CONSUMER_GROUP_TOPICS[group], system.prefix);
          expect(Object.keys(lag)).toHaveLength(CONSUMER_GROUP_TOPICS[group].length + 1); // and its retry topic
          expect(Object.values(lag).filter((n) => n > 0)).toEqual([]);
        });
      }
    }
  }, 300_000);
});
