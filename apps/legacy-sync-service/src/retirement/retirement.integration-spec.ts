import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AuthModule } from '@groups-sync/auth';
import { TokenMinter, globalStaffClaims, serviceClaims } from '@groups-sync/auth/testing';
import { EventType } from '@groups-sync/contracts';
import { OutboxWriter } from '@groups-sync/messaging';
import { configureHttp } from '@groups-sync/observability';
import { dataSourceOptions, dropDatabase, ensureDatabase } from '@groups-sync/persistence';
import { rowsContaining, stackEnv, uniqueSuffix } from '@groups-sync/testing';
import { LegacySyncServiceConfig } from '../legacy-sync-service.config';
import { LEGACY_SYNC_MIGRATIONS } from '../migrations';
import { RetirementController } from './retirement.controller';
import { UserRetirementService } from './user-retirement.service';

const env = stackEnv();
const WORKER = 'retirement_service_worker';
const GROUP = '00000000-0000-4000-8000-000000000001';

describe('legacy-sync: user retirement', () => {
  const database = `legacy_retire_${uniqueSuffix()}_test`;
  let app: INestApplication;
  let db: DataSource;
  let minter: TokenMinter;
  let workerToken: string;
  const as = (token: string) => request.agent(app.getHttpServer()).set('Authorization', `JWT ${token}`);

  beforeAll(async () => {
    minter = await TokenMinter.create();
    const flavor = await ensureDatabase(env.MYSQL_URL, database);
    const config = Object.assign(new LegacySyncServiceConfig(), {
      JWT_PUBLIC_KEY: minter.publicKeyPem,
      JWT_ISSUER: minter.issuer,
      JWT_AUDIENCE: minter.audience,
    });
    @Module({
      imports: [
        TypeOrmModule.forRoot(
          dataSourceOptions({
            url: env.MYSQL_URL,
            database,
            flavor,
            entities: [],
            migrations: LEGACY_SYNC_MIGRATIONS,
          }),
        ),
        AuthModule.forRoot(config),
      ],
      controllers: [RetirementController],
      providers: [{ provide: LegacySyncServiceConfig, useValue: config }, UserRetirementService],
    })
    class RetirementTestModule {}
    app = await NestFactory.create(RetirementTestModule, { logger: ['error', 'warn'] });
    configureHttp(app);
    await app.init();
    db = app.get(DataSource);
    workerToken = await minter.mint(serviceClaims([], { preferred_username: WORKER }));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await dropDatabase(env.MYSQL_URL, database);
  });

  /** What legacy-sync holds of a learner: reconciliation differences, an observation in the outbox, a pending write (ids only), and an operator's pause. */
  async function seed(userId: number, username: string): Promise<void> {
    await db.query(
      `INSERT INTO reconciliation_run (id, scope_type, scope_key, dry_run, trigger_kind, requested_by, status) VALUES (UUID(), 'course', 'course-v1:T+R+1', 0, 'user', ?, 'succeeded')`,
      [username],
    );
    const [run] = await db.query('SELECT id FROM reconciliation_run WHERE requested_by = ?', [username]);
    await db.query(
      `INSERT INTO reconciliation_difference (run_id, course_key, group_id, user_id, username, side, kind, reason, action, outcome) VALUES
      (?, 'course-v1:T+R+1', ?, ?, ?, 'lms_only', 'missing_in_group', 'in the cohort in the LMS, not in the group', 'add_to_group', 'applied'),
      (?, 'course-v1:T+R+1', ?, NULL, ?, 'group_only', 'unsent_add', 'our add never reached the LMS', 'add_in_lms', ?),
      (?, 'course-v1:T+R+1', ?, 77, 'someone_else', 'group_only', 'unsent_add', 'our add never reached the LMS', 'add_in_lms', 'applied')`,
      [
        run.id,
        GROUP,
        userId,
        username,
        run.id,
        GROUP,
        username.toUpperCase(),
        `failed: LMS does not know user "${username}"`,
        run.id,
        GROUP,
      ],
    );
    await db.transaction((m) =>
      new OutboxWriter('legacy-sync-service').append(m, EventType.LegacyMembershipObserved, {
        observation: {
          group_id: GROUP,
          course_key: 'course-v1:T+R+1',
          user_id: userId,
          username,
          action: 'added',
          observed_at: new Date().toISOString(),
          source_event_id: 'e-1',
        },
      }),
    );
    await db.query(
      `INSERT INTO pending_lms_write (group_id, course_key, legacy_id, user_id, action, source_event_id) VALUES (?, 'course-v1:T+R+1', '5', ?, 'added', 'e-2')`,
      [GROUP, userId],
    );
    await db.query(`INSERT INTO lms_write_pause (course_key, paused_by) VALUES ('course-v1:T+R+1', ?)`, [username]);
  }

  it('answers 401 without a token and 403 to anyone but the retirement service worker', async () => {
    await request(app.getHttpServer()).post('/api/legacy-sync/v1/retire').send({ edx_lms_user_id: 5 }).expect(401);
    for (const token of [
      await minter.mint(globalStaffClaims()),
      await minter.mint(serviceClaims(['user_groups:write'])),
      await minter.mint(serviceClaims([], { preferred_username: WORKER, is_restricted: true })),
    ]) {
      expect((await as(token).post('/api/legacy-sync/v1/retire').send({ edx_lms_user_id: 5 })).status).toBe(403);
    }
    expect((await as(workerToken).post('/api/legacy-sync/v1/retire').send({})).status).toBe(400);
  });

  it('replaces the username in every row, leaves ids and other learners alone, and answers the same again', async () => {
    const username = `Leaver_${uniqueSuffix()}`;
    await seed(4242, username);
    expect(Object.keys(await rowsContaining(db, username)).sort()).toEqual([
      'lms_write_pause',
      'outbox',
      'reconciliation_difference',
      'reconciliation_run',
    ]);

    await as(workerToken)
      .post('/api/legacy-sync/v1/retire/')
      .send({ edx_lms_user_id: 4242, original_username: username })
      .expect(204);

    expect(await rowsContaining(db, username)).toEqual({});
    const differences = await db.query('SELECT user_id, username, outcome FROM reconciliation_difference ORDER BY id');
    expect(differences).toEqual([
      { user_id: 4242, username: 'retired__user_4242', outcome: 'applied' },
      { user_id: null, username: 'retired__user_4242', outcome: 'failed: LMS does not know user "retired__user_4242"' },
      { user_id: 77, username: 'someone_else', outcome: 'applied' },
    ]);
    const [pending] = await db.query('SELECT user_id FROM pending_lms_write');
    expect(Number(pending.user_id)).toBe(4242);

    const snapshot = async () =>
      JSON.stringify(await db.query('SELECT * FROM reconciliation_difference ORDER BY id')) +
      JSON.stringify(await db.query('SELECT id, payload FROM outbox ORDER BY id'));
    const before = await snapshot();
    await as(workerToken).post('/api/legacy-sync/v1/retire').send({ edx_lms_user_id: 4242 }).expect(204);
    expect(await snapshot()).toBe(before);
  });

  it('keeps the id as retired (its dead letters are then masked and never replayed), once however often it is called', async () => {
    await as(workerToken).post('/api/legacy-sync/v1/retire').send({ edx_lms_user_id: 4545 }).expect(204);
    await as(workerToken).post('/api/legacy-sync/v1/retire').send({ edx_lms_user_id: 4545 }).expect(204);
    expect(await db.query('SELECT user_id FROM retired_user WHERE user_id = 4545')).toHaveLength(1);
  });

  it('finds the username from its own rows when the pipeline sends only the id', async () => {
    const username = `quiet_${uniqueSuffix()}`;
    await db.query(
      `INSERT INTO reconciliation_difference (run_id, course_key, group_id, user_id, username, side, kind, reason, action, outcome)
      VALUES (UUID(), 'course-v1:T+R+2', ?, 4343, ?, 'group_only', 'removed_in_lms', 'r', 'remove_from_group', 'applied')`,
      [GROUP, username],
    );
    await db.transaction((m) =>
      new OutboxWriter('legacy-sync-service').append(m, EventType.LegacyMembershipObserved, {
        observation: {
          group_id: GROUP,
          course_key: 'course-v1:T+R+2',
          user_id: 4343,
          username,
          action: 'removed',
          observed_at: new Date().toISOString(),
          source_event_id: 'e-3',
        },
      }),
    );
    await as(workerToken).post('/api/legacy-sync/v1/retire').send({ edx_lms_user_id: 4343 }).expect(204);
    expect(await rowsContaining(db, username)).toEqual({});
  });
});
