import { DataSource } from 'typeorm';
import { DecodedEvent, EvaluationUserResultData, EventType, newEventMetadata } from '@groups-sync/contracts';
import { OutboxWriter, PoisonMessageError } from '@groups-sync/messaging';
import { CriteriaRegistry } from '../criteria/criteria-registry';
import { GroupEvaluator } from '../evaluation/group-evaluator';
import { LmsEventsConsumer } from './lms-events.consumer';
import { DynamicGroupRow } from './refresh-runs';

const COURSE = 'course-v1:DemoX+Sync+2026';
const OTHER_COURSE = 'course-v1:OtherX+Elsewhere+2026';

const group = (
  id: string,
  scope: [DynamicGroupRow['scope_type'], string],
  criteria: Array<{ type: string; operator: string; value: unknown }>,
): DynamicGroupRow => ({
  group_id: id,
  scope_type: scope[0],
  scope_key: scope[1],
  criteria: JSON.stringify(criteria.map((c) => ({ ...c, config: {} }))),
  enabled: 1,
  version: 1,
});
const RECENT_LOGIN = [{ type: 'last_login', operator: '<', value: 7 }];
const GRADED_WELL = [{ type: 'course_grade', operator: '>=', value: 80 }];
const GROUPS = [
  group('login-course', ['course', COURSE], RECENT_LOGIN),
  group('login-other-course', ['course', OTHER_COURSE], RECENT_LOGIN),
  group('login-org', ['org', 'OtherX'], RECENT_LOGIN),
  group('login-site', ['instance', ''], RECENT_LOGIN),
  group('grade-course', ['course', COURSE], GRADED_WELL),
  group('grade-other-course', ['course', OTHER_COURSE], GRADED_WELL),
  group('country-site', ['instance', ''], [{ type: 'country', operator: '=', value: 'ES' }]),
];

const user = { id: 7, is_active: true, pii: { username: 'ana', email: 'ana@example.com', name: 'Ana' } };
const course = (key: string) => ({ course_key: key, display_name: '', start: null, end: null });
const event = <T extends EventType>(type: T, data: DecodedEvent<T>['data']): DecodedEvent => ({
  type,
  data,
  metadata: newEventMetadata(type, 'lms'),
  key: null,
});
const login = (u: typeof user = user) => event(EventType.SessionLoginCompleted, { user: u });
const grade = (userId: number, courseKey: string) =>
  event(EventType.PersistentGradeSummaryChanged, {
    grade: {
      user_id: userId,
      course: course(courseKey),
      course_edited_timestamp: '',
      course_version: '',
      grading_policy_hash: '',
      percent_grade: 0.85,
      letter_grade: '',
      passed_timestamp: '',
    },
  });

/**
 * The consumer's rules with its collaborators faked: the dynamic_group table answers as its SQL
 * asks (all enabled groups, or those of a course, its org and the site), the evaluator says who is
 * selected, and the results written to the outbox are collected.
 */
const REPLICA_AT = new Date('2026-11-22T05:00:00.000Z');

function harness(
  selected: (groupId: string) => boolean = () => true,
  readAt: (after?: Date) => Promise<Date> = async () => REPLICA_AT,
) {
  const queries: Array<{ sql: string; params?: unknown[] }> = [];
  const query = jest.fn(async (sql: string, params?: unknown[]) => {
    queries.push({ sql, params });
    if (!sql.includes('FROM dynamic_group')) return [];
    if (!params) return GROUPS;
    const [courseKey, org] = params as string[];
    return GROUPS.filter(
      (g) =>
        g.scope_type === 'instance' ||
        (g.scope_type === 'course' && g.scope_key === courseKey) ||
        (g.scope_type === 'org' && g.scope_key === org),
    );
  });
  const dataSource = {
    query,
    transaction: async (_isolation: string, work: (m: unknown) => Promise<unknown>) => work({ query }),
  } as unknown as DataSource;
  const evaluator = {
    selects: jest.fn(async (scope: { type: string; key: string }, _criteria: unknown, _userId: number) =>
      selected(GROUPS.find((g) => g.scope_key === scope.key && g.scope_type === scope.type)!.group_id),
    ),
    username: jest.fn(async (id: number) => (id === user.id ? user.pii.username : null)),
    readAt: jest.fn(readAt),
  };
  const written: EvaluationUserResultData[] = [];
  const outbox = {
    appendMany: jest.fn(
      async (_m: unknown, _type: EventType, data: EvaluationUserResultData[]) => void written.push(...data),
    ),
  } as unknown as OutboxWriter;
  const consumer = new LmsEventsConsumer(
    dataSource,
    evaluator as unknown as GroupEvaluator,
    new CriteriaRegistry(),
    outbox,
  );
  return { consumer, evaluator, written, queries };
}

describe('LmsEventsConsumer', () => {
  it('re-evaluates a login against every enabled group whose criteria are stale on logins, whatever their scope', async () => {
    const { consumer, evaluator, written } = harness((id) => id !== 'login-other-course');
    await consumer.onBatch([login()]);
    expect(written.map((r) => [r.result.group_id, r.result.member]).sort()).toEqual([
      ['login-course', true],
      ['login-org', true],
      ['login-other-course', false],
      ['login-site', true],
    ]);
    expect(written.every((r) => r.result.user_id === 7 && r.result.username === 'ana')).toBe(true);
    // Scope stays the evaluator's to judge: each group is evaluated with its own.
    expect(evaluator.selects).toHaveBeenCalledWith(
      { type: 'course', key: OTHER_COURSE },
      expect.anything(),
      7,
      expect.any(Date),
    );
    expect(evaluator.username).not.toHaveBeenCalled();
  });

  it("re-evaluates a grade change against the grade-stale groups of its course, named by the LMS's username", async () => {
    const { consumer, evaluator, written, queries } = harness();
    await consumer.onBatch([grade(7, COURSE)]);
    expect(written.map((r) => r.result.group_id)).toEqual(['grade-course']);
    expect(written[0].result).toMatchObject({ user_id: 7, username: 'ana', member: true });
    expect(queries.find((q) => q.sql.includes('FROM dynamic_group'))!.params).toEqual([COURSE, 'DemoX']);
    expect(evaluator.username).toHaveBeenCalledWith(7);
  });

  it('writes no result for a grade of a user the LMS does not have, and still records the event', async () => {
    const { consumer, evaluator, written, queries } = harness();
    await consumer.onBatch([grade(99, COURSE)]);
    expect(written).toEqual([]);
    expect(evaluator.selects).not.toHaveBeenCalled();
    expect(queries.some((q) => q.sql.startsWith('INSERT INTO inbox'))).toBe(true);
  });

  it('leaves groups stale only on logins or grades alone when an enrollment changes', async () => {
    const { consumer, evaluator, written } = harness();
    await consumer.onBatch([
      event(EventType.CourseEnrollmentChanged, {
        enrollment: {
          user,
          course: course(COURSE),
          mode: 'verified',
          is_active: true,
          creation_date: '2026-11-22T05:00:00.000000+00:00',
          created_by: null,
        },
      }),
    ]);
    expect(written).toEqual([]);
    expect(evaluator.selects).not.toHaveBeenCalled();
  });

  it('dates each result by what the LMS replica had applied, once it applied the event, not by the clock', async () => {
    const { consumer, evaluator, written } = harness();
    const event = login();
    await consumer.onBatch([event]);
    expect(evaluator.readAt).toHaveBeenCalledWith(new Date(event.metadata.time));
    expect(written.length).toBeGreaterThan(0);
    expect(written.every((r) => Date.parse(r.result.evaluated_at) === REPLICA_AT.getTime())).toBe(true);
  });

  it("asks the replica once per batch, for the batch's latest event, and not at all when nothing is stale", async () => {
    const { consumer, evaluator } = harness();
    const at = (e: ReturnType<typeof login>, time: string) => ({ ...e, metadata: { ...e.metadata, time } });
    await consumer.onBatch([
      at(login(), '2026-12-01T10:00:02.000Z'),
      at(login(), '2026-12-01T10:00:09.000Z'),
      at(grade(7, COURSE), '2026-12-01T10:00:05.000Z'),
    ]);
    expect(evaluator.readAt.mock.calls).toEqual([[new Date('2026-12-01T10:00:09.000Z')]]);
    const quiet = harness();
    await quiet.consumer.onBatch([grade(99, COURSE)]);
    expect(quiet.evaluator.readAt).not.toHaveBeenCalled();
  });

  it('evaluates nothing while the replica has not applied the event: the wait is an outage, retried in order', async () => {
    const behind = Object.assign(new Error('the LMS read replica has not applied the event yet'), {
      dependencyUnavailable: true,
    });
    const { consumer, evaluator, written } = harness(
      () => true,
      async () => {
        throw behind;
      },
    );
    await expect(consumer.onBatch([login()])).rejects.toBe(behind);
    expect(evaluator.selects).not.toHaveBeenCalled();
    expect(written).toEqual([]);
  });

  it('refuses a login without a user id, or a grade without a user id or a course key, as poison', async () => {
    const { consumer } = harness();
    await expect(consumer.onBatch([login({ ...user, id: 0 })])).rejects.toBeInstanceOf(PoisonMessageError);
    await expect(consumer.onBatch([grade(0, COURSE)])).rejects.toBeInstanceOf(PoisonMessageError);
    await expect(consumer.onBatch([grade(7, 'not a course')])).rejects.toBeInstanceOf(PoisonMessageError);
  });
});
