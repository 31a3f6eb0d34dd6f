import { createConnection } from 'mysql2/promise';
import {
  ConfluentSchemaRegistry,
  EncodedMessage,
  EventCodec,
  EventType,
  newEventMetadata,
  parseHeaders,
  streamEntryFields,
  toCeTime,
  unframe,
} from '@groups-sync/contracts';
import Redis from 'ioredis';
import { createKafka, deleteTopicsWithPrefix, MessageProducer } from '@groups-sync/messaging';
import { dropDatabase, parseMysqlUrl } from '@groups-sync/persistence';
import { spawn } from 'node:child_process';
import { http, ServiceProcess, stackEnv, testPort, uniqueSuffix, WORKSPACE_ROOT } from '@groups-sync/testing';

export const COURSE = 'course-v1:DemoX+Sync+2026';
const LMS_JWT_SECRET_KEY = 'e2e-lms-jwt-secret-key-of-this-run';

/**
 * The product as separate processes (groups-service, legacy-sync-service, lms-emulator) on the real
 * broker and database, isolated by a topic prefix and test databases of their own.
 */
export class System {
  readonly prefix = `e2e-${uniqueSuffix()}`;
  readonly env: ReturnType<typeof stackEnv>;
  /** The bus the LMS (emulator) publishes on and the services read its events from: E2E_LMS_EVENT_BUS, Kafka by default. */
  readonly lmsEventBus = process.env.E2E_LMS_EVENT_BUS === 'redis' ? 'redis' : 'kafka';
  private readonly databases = {
    groups: `groups_${this.prefix.replace(/-/g, '_')}_test`,
    sync: `sync_${this.prefix.replace(/-/g, '_')}_test`,
    lms: `lms_${this.prefix.replace(/-/g, '_')}_test`,
    evaluator: `eval_${this.prefix.replace(/-/g, '_')}_test`,
  };
  readonly lmsEmulator: ServiceProcess;
  readonly groupsService: ServiceProcess;
  readonly legacySync: ServiceProcess;
  /** Started only when asked for (`{ evaluator: true }`). */
  readonly evaluator?: ServiceProcess;
  private token?: string;

  constructor(
    portBase: number,
    serviceEnv: Record<string, string> = {},
    options: {
      evaluator?: boolean;
      evaluatorEnv?: Record<string, string>;
      mysqlUrl?: string;
      /** Another broker (one the test stops and starts) for the emulator, the services and the test's own clients. */
      kafkaBrokers?: string;
      /** groups-service reads the LMS's tables too (LMS_DB_URL: course roles, accounts, reruns), with these settings. */
      groupsLmsDatabase?: Record<string, string>;
    } = {},
  ) {
    // Another database server or broker (one the test stops and starts) for the services and the test's own clients.
    this.env = {
      ...stackEnv(),
      ...(options.mysqlUrl ? { MYSQL_URL: options.mysqlUrl } : {}),
      ...(options.kafkaBrokers ? { KAFKA_BROKERS: options.kafkaBrokers } : {}),
    };
    const common = {
      ...this.env,
      EVENT_BUS_TOPIC_PREFIX: this.prefix,
      CONSUMER_BACKOFF_MAX_MS: '2000',
      LOG_LEVEL: 'info',
      LMS_EVENT_BUS: this.lmsEventBus,
      ...serviceEnv,
    };
    const lms = `http://127.0.0.1:${testPort(portBase)}`;
    // The LMS's HS256 tokens with its shared secret (JWT_ISSUERS), its asymmetric ones with its key set.
    const jwtIssuers = JSON.stringify([
      { ISSUER: `${lms}/oauth2`, AUDIENCE: 'openedx', SECRET_KEY: LMS_JWT_SECRET_KEY },
    ]);
    this.lmsEmulator = new ServiceProcess(
      'lms-emulator',
      testPort(portBase),
      { ...common, DB_NAME: this.databases.lms, LMS_JWT_ISSUER: `${lms}/oauth2`, LMS_JWT_SECRET_KEY },
      `${this.prefix}-lms-emulator`,
    );
    // groups-service trusts the emulator's tokens exactly as it would the LMS's: through its JWKS.
    this.groupsService = new ServiceProcess(
      'groups-service',
      testPort(portBase + 1),
      {
        ...common,
        DB_NAME: this.databases.groups,
        JWT_JWKS_URL: `${lms}/oauth2/jwks.json`,
        JWT_ISSUER: `${lms}/oauth2`,
        JWT_ISSUERS: jwtIssuers,
        LMS_BASE_URL: lms,
        ...(options.groupsLmsDatabase
          ? {
              LMS_DB_URL: `${this.env.MYSQL_URL.replace(/\/$/, '')}/${this.databases.lms}`,
              ...options.groupsLmsDatabase,
            }
          : {}),
      },
      `${this.prefix}-groups-service`,
    );
    this.legacySync = new ServiceProcess(
      'legacy-sync-service',
      testPort(portBase + 2),
      {
        RECONCILE_EVERY_MINUTES: '0',
        RECONCILE_PENDING_GRACE_SECONDS: '3',
        ...common,
        DB_NAME: this.databases.sync,
        LMS_BASE_URL: lms,
        JWT_JWKS_URL: `${lms}/oauth2/jwks.json`,
        JWT_ISSUER: `${lms}/oauth2`,
        JWT_ISSUERS: jwtIssuers,
        GROUPS_SERVICE_URL: `http://127.0.0.1:${testPort(portBase + 1)}`,
      },
      `${this.prefix}-legacy-sync-service`,
    );
    if (options.evaluator) {
      // It reads learners' data from the LMS's tables: the emulator's database.
      this.evaluator = new ServiceProcess(
        'evaluator-service',
        testPort(portBase + 3),
        {
          ...common,
          DB_NAME: this.databases.evaluator,
          LMS_DB_URL: `${this.env.MYSQL_URL.replace(/\/$/, '')}/${this.databases.lms}`,
          ...options.evaluatorEnv,
        },
        `${this.prefix}-evaluator-service`,
      );
    }
  }

  async start(): Promise<void> {
    // All at once: each provisions every topic it needs, and the services ask the LMS for nothing
    // before their first request. Only the evaluator waits: it reads the emulator's tables.
    const lms = this.lmsEmulator.start().then(async () => {
      // The LMS answers 404 for a course it does not have: the course exists before any learner
      // enrolls, as cohort-linked groups are made before them.
      const course = await http('POST', `${this.lmsEmulator.url}/emulator/courses`, { course_id: COURSE });
      if (course.status !== 201) throw new Error(`emulator course: ${course.status} ${JSON.stringify(course.body)}`);
    });
    await Promise.all([
      lms,
      this.groupsService.start(),
      this.legacySync.start(),
      this.evaluator && lms.then(() => this.evaluator!.start()),
    ]);
  }

  async stop(): Promise<void> {
    await Promise.all([
      this.groupsService.stop(),
      this.legacySync.stop(),
      this.lmsEmulator.stop(),
      this.evaluator?.stop(),
    ]);
    for (const db of Object.values(this.databases)) await dropDatabase(this.env.MYSQL_URL, db).catch(() => undefined);
    // The run's topics and consumer groups: a whole run would otherwise leave ~1,700 partitions behind.
    await deleteTopicsWithPrefix(
      createKafka({ clientId: 'e2e-cleanup', brokers: this.env.KAFKA_BROKERS.split(',') }),
      `${this.prefix}-`,
    ).catch(() => undefined);
    if (this.lmsEventBus === 'redis') {
      // The run's streams, consumer groups, leases and gap records.
      const redis = new Redis(this.env.EVENT_BUS_REDIS_CONNECTION_URL);
      const keys = await redis.keys(`${this.prefix}-*`).catch(() => [] as string[]);
      if (keys.length) await redis.del(...keys).catch(() => undefined);
      redis.disconnect();
    }
  }

  get groupsDatabase(): string {
    return this.databases.groups;
  }

  get legacySyncDatabase(): string {
    return this.databases.sync;
  }

  get lmsDatabase(): string {
    return this.databases.lms;
  }

  /** Reads a service's own tables, for assertions no API exposes yet (outbox, inbox, audit). */
  async query<T = any>(database: string, sql: string, params: unknown[] = []): Promise<T[]> {
    const { host, port, username, password } = parseMysqlUrl(this.env.MYSQL_URL);
    const conn = await createConnection({ host, port, user: username, password, database });
    try {
      return (await conn.query(sql, params))[0] as T[];
    } finally {
      await conn.end();
    }
  }

  // ---- User Groups API, as a service client with the user_groups:write scope ----
  async groups(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    return http(method, `${this.groupsService.url}/api/user-groups/v1${path}`, body, {
      ...headers,
      authorization: `JWT ${await this.accessToken()}`,
    });
  }

  async createCohortGroup(name: string, cohortId?: number, course = COURSE): Promise<string> {
    const res = await this.groups('POST', '/groups', {
      scope_type: 'course',
      scope_key: course,
      name,
      kind: 'legacy',
      criteria: [{ type: 'legacy_cohort', config: cohortId ? { cohort_id: cohortId } : {} }],
    });
    if (res.status !== 201) throw new Error(`create group: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id;
  }

  async group(id: string) {
    const res = await this.groups('GET', `/groups/${id}`);
    if (res.status !== 200) throw new Error(`read group: ${res.status}`);
    return res.body;
  }

  async activeUsernames(id: string): Promise<string[]> {
    return ((await this.group(id)).members as Array<{ username: string }>).map((m) => m.username).sort();
  }

  /** COHORT_MEMBERSHIP_CHANGED for users the LMS emulator need not know, encoded as the LMS's event bus would. */
  async cohortEvents(
    cohortName: string,
    users: Array<{ id: number; username: string }>,
    courseKey = COURSE,
  ): Promise<EncodedMessage[]> {
    const codec = new EventCodec(new ConfluentSchemaRegistry(this.env.SCHEMA_REGISTRY_URL), this.prefix);
    return Promise.all(
      users.map((u) =>
        codec.encode(
          EventType.CohortMembershipChanged,
          {
            cohort: {
              user: {
                id: u.id,
                is_active: true,
                pii: { username: u.username, email: `${u.username}@example.com`, name: u.username },
              },
              course: { course_key: courseKey, display_name: '', start: null, end: null },
              name: cohortName,
            },
          },
          newEventMetadata(EventType.CohortMembershipChanged, 'lms'),
        ),
      ),
    );
  }

  /** An enrollment event as edx-platform's event bus frames it, with its own ce_id and ce_time (for duplicates and late redeliveries). */
  async enrollmentEvent(
    type: EventType.CourseEnrollmentCreated | EventType.CourseEnrollmentChanged | EventType.CourseUnenrollmentCompleted,
    user: { id: number; username: string },
    mode: string,
    isActive: boolean,
    time: Date,
    id?: string,
  ): Promise<EncodedMessage> {
    const codec = new EventCodec(new ConfluentSchemaRegistry(this.env.SCHEMA_REGISTRY_URL), this.prefix);
    return codec.encode(
      type,
      {
        enrollment: {
          user: {
            id: user.id,
            is_active: true,
            pii: { username: user.username, email: `${user.username}@example.com`, name: user.username },
          },
          course: { course_key: COURSE, display_name: '', start: null, end: null },
          mode,
          is_active: isActive,
          creation_date: time.toISOString(),
          created_by: null,
        },
      },
      newEventMetadata(type, 'lms', { time: toCeTime(time), ...(id ? { id } : {}) }),
    );
  }

  /**
   * Publishes LMS events as the LMS would on the bus this run uses: Kafka messages as they are, or
   * (LMS_EVENT_BUS=redis) one XADD each of event-bus-redis's fields, the same Avro unframed.
   */
  async produce(messages: EncodedMessage[]): Promise<void> {
    if (this.lmsEventBus === 'redis') {
      const redis = new Redis(this.env.EVENT_BUS_REDIS_CONNECTION_URL);
      try {
        for (let i = 0; i < messages.length; i += 500) {
          const pipeline = redis.pipeline();
          for (const m of messages.slice(i, i + 500))
            pipeline.xadd(
              m.topic,
              'MAXLEN',
              '~',
              10_000,
              '*',
              ...streamEntryFields(parseHeaders(m.headers), unframe(m.value).payload).flat(),
            );
          await pipeline.exec();
        }
      } finally {
        redis.disconnect();
      }
      return;
    }
    const producer = new MessageProducer(createKafka({ clientId: 'e2e', brokers: this.env.KAFKA_BROKERS.split(',') }));
    try {
      for (let i = 0; i < messages.length; i += 500) await producer.send(messages.slice(i, i + 500));
    } finally {
      await producer.disconnect();
    }
  }

  // ---- legacy-sync-service's operator API and the ugsync command line ----
  async sync(method: string, path: string, body?: unknown) {
    return http(method, `${this.legacySync.url}/api/legacy-sync/v1${path}`, body, {
      authorization: `JWT ${await this.accessToken()}`,
    });
  }

  /** Runs one reconciliation and answers it when it has finished, with its report (every difference). */
  async reconcile(scope: { course_key?: string; group_id?: string; all?: boolean }, dryRun = false) {
    const queued = await this.sync('POST', '/reconciliations', { ...scope, dry_run: dryRun });
    if (queued.status !== 202) throw new Error(`reconcile: ${queued.status} ${JSON.stringify(queued.body)}`);
    return this.finishedRun(queued.body.id);
  }

  async finishedRun(id: string) {
    for (let i = 0; ; i++) {
      const run = await this.sync('GET', `/reconciliations/${id}?differences_limit=10000`);
      if (run.body.status === 'succeeded' || run.body.status === 'failed') return run.body;
      if (i > 600) throw new Error(`reconciliation ${id} still ${run.body.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** `npm run --silent ugsync -- <args>` against this system, as its OAuth client; answers its exit code and output. */
  async ugsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const child = spawn('bash', ['scripts/ugsync.sh', ...args], {
      cwd: WORKSPACE_ROOT,
      env: {
        ...process.env,
        UGSYNC_LEGACY_SYNC_URL: this.legacySync.url,
        UGSYNC_GROUPS_URL: this.groupsService.url,
        UGSYNC_GROUPS_OPS_URL: this.groupsService.opsUrl,
        UGSYNC_LMS_URL: this.lmsEmulator.url,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    return { code, stdout, stderr };
  }

  /** The emulator's fault injection: lost events, phantoms, failing adds (`PUT /emulator/faults`). */
  async lmsFaults(faults: {
    drop_events_for?: string[];
    rollback_after_emit_for?: string[];
    fail_adds_for?: string[];
  }): Promise<void> {
    const res = await http('PUT', `${this.lmsEmulator.url}/emulator/faults`, faults);
    if (res.status !== 200) throw new Error(`faults: ${res.status} ${JSON.stringify(res.body)}`);
  }

  // ---- LMS emulator ----
  async learner(username: string, course = COURSE): Promise<number> {
    const user = await http('POST', `${this.lmsEmulator.url}/emulator/users`, {
      username,
      email: `${username}@example.com`,
      name: username,
    });
    await http('POST', `${this.lmsEmulator.url}/emulator/enrollments`, { username, course_id: course });
    return user.body.id;
  }

  /** After an emulator restart: its signing key is new, so its old tokens are no good. */
  forgetToken(): void {
    this.token = undefined;
  }

  /** A JWT from the LMS emulator's token endpoint (client_credentials), good for its API and ours. */
  async accessToken(): Promise<string> {
    if (!this.token) {
      const res = await fetch(`${this.lmsEmulator.url}/oauth2/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: 'groups-sync',
          client_secret: 'groups-sync-secret',
          token_type: 'jwt',
        }),
      });
      this.token = ((await res.json()) as { access_token: string }).access_token;
    }
    return this.token;
  }

  async lms(method: string, path: string, body?: unknown, course = COURSE) {
    return http(method, `${this.lmsEmulator.url}/api/cohorts/v1/courses/${course}${path}`, body, {
      authorization: `JWT ${await this.accessToken()}`,
    });
  }

  async cohortUsernames(cohortId: number, course = COURSE): Promise<string[]> {
    const res = await this.lms('GET', `/cohorts/${cohortId}/users/?page_size=100`, undefined, course);
    return (res.body.results as Array<{ username: string }>).map((u) => u.username).sort();
  }

  async cohortIdOf(groupId: string): Promise<number> {
    const id = (await this.group(groupId)).legacy_link?.cohort_id;
    if (!id) throw new Error('cohort not linked yet');
    return id;
  }
}
