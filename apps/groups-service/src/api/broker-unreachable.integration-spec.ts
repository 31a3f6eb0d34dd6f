import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { createConnection, createServer, Server } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { globalStaffClaims, TokenMinter } from '@groups-sync/auth/testing';
import { startEventConsumers } from '@groups-sync/messaging';
import { configureHttp, OperationsServer } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { expectEventually, freePort, stackEnv, uniqueSuffix } from '@groups-sync/testing';

/**
 * The broker as the service sees it: refused until `open()`, then forwarded to the stack's broker
 * (which advertises its own address: only the first connection goes through here). The shared
 * broker itself is never stopped.
 */
class BrokerDoor {
  private server?: Server;

  constructor(
    readonly port: number,
    private readonly broker: string,
  ) {}

  async open(): Promise<void> {
    const [host, port] = this.broker.split(':');
    this.server = createServer((client) => {
      const upstream = createConnection(Number(port), host);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async close(): Promise<void> {
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}

describe('groups-service with the Kafka broker unreachable', () => {
  const database = `groups_nobroker_${uniqueSuffix()}_test`;
  let app: INestApplication;
  let db: DataSource;
  let token: string;
  let door: BrokerDoor;

  beforeAll(async () => {
    const minter = await TokenMinter.create();
    token = await minter.mint(globalStaffClaims());
    door = new BrokerDoor(await freePort(), stackEnv().KAFKA_BROKERS.split(',')[0]);
    // Config is read when app.module loads: the environment is set first.
    Object.assign(process.env, stackEnv(), {
      KAFKA_BROKERS: `127.0.0.1:${door.port}`,
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: `it-${uniqueSuffix()}`,
      LOG_LEVEL: 'error',
      LMS_BASE_URL: `http://127.0.0.1:${await freePort()}`,
      JWT_PUBLIC_KEY: minter.publicKeyPem,
      JWT_ISSUER: minter.issuer,
      JWT_AUDIENCE: minter.audience,
    });
    const { AppModule, HTTP_OPTIONS } = await import('../app.module');
    app = await NestFactory.create(AppModule, { logger: ['error'] });
    configureHttp(app, HTTP_OPTIONS);
    await app.init();
    await startEventConsumers(app);
    db = app.get(DataSource);
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await door.close();
    await dropDatabase(stackEnv().MYSQL_URL, database);
  }, 60_000);

  it('boots, stays ready and takes writes into its outbox while /health/consumers answers 503; once the broker answers, its consumers join and the outbox drains', async () => {
    const ops = app.get(OperationsServer).listener;
    const ready = await request(ops).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.details)).toEqual(['mysql']);
    expect((await request(app.getHttpServer()).get('/health/ready')).status).toBe(200);

    const created = await request(app.getHttpServer())
      .post('/api/user-groups/v1/groups')
      .set('Authorization', `Bearer ${token}`)
      .send({
        scope_type: 'course',
        scope_key: 'course-v1:Org+Outage+2026',
        kind: 'manual',
        name: 'Written while Kafka is down',
      });
    expect(created.status).toBe(201);
    const unsent = () =>
      db.query('SELECT event_type FROM outbox WHERE aggregate_id = ? AND sent_at IS NULL', [created.body.id]);
    expect(await unsent()).toEqual([{ event_type: 'org.openedx.learning.user_group.created.v1' }]);

    const consumers = await request(ops).get('/health/consumers');
    expect(consumers.status).toBe(503);
    expect(consumers.body.details.kafka).toMatchObject({ status: 'down', reachable: false });
    expect(consumers.body.details.kafka.consumers.length).toBeGreaterThan(0);
    expect(consumers.body.details.kafka.consumers.every((c: { joined: boolean }) => !c.joined)).toBe(true);

    await door.open();
    await expectEventually(
      async () => {
        const res = await request(ops).get('/health/consumers');
        expect({
          status: res.status,
          joined: res.body.details?.kafka?.consumers?.map((c: { joined: boolean }) => c.joined),
        }).toEqual({ status: 200, joined: [true, true] });
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await expectEventually(async () => expect(await unsent()).toEqual([]), { timeoutMs: 30_000 });
    expect((await request(app.getHttpServer()).get('/health/ready')).status).toBe(200);
  });
});
