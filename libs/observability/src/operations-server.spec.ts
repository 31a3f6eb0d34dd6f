import { INestApplication, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Logger as NestLogger } from '@nestjs/common';
import { bootstrapService, keepRunningOnUnhandledRejection } from './bootstrap';
import { ReadinessChecks } from './health.controller';
import { ObservabilityModule } from './observability.module';
import { OperationsServer } from './operations-server';

const KAFKA_ERROR = 'connect ECONNREFUSED kafka-1.internal.example:9092';
const CACHE_HOST = 'cache-1.internal.example';

/** A Kafka side that is down and a `ready` check that is down, each saying where: what an anonymous caller must not read. */
@Injectable()
class DownChecks implements OnModuleInit {
  constructor(private readonly checks: ReadinessChecks) {}

  onModuleInit(): void {
    this.checks.add('kafka', async () => ({ up: false, details: { error: KAFKA_ERROR } }), 'consumers');
    this.checks.add('cache', async () => ({ up: false, details: { host: CACHE_HOST } }));
  }
}

@Module({
  imports: [ObservabilityModule.forRoot({ service: 'ops-test', logLevel: 'silent' })],
  providers: [DownChecks],
})
class ProbedModule {}

/** MySQL answers: the app under test has no database. */
const mysqlUp = { pingCheck: async (key: string) => ({ [key]: { status: 'up' } }) };

describe("the API port (the load balancer's probes only)", () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ProbedModule] })
      .overrideProvider(TypeOrmHealthIndicator)
      .useValue(mysqlUp)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
  });

  afterAll(() => app.close());

  it.each(['/metrics', '/health/consumers'])('answers 404 for %s', async (path) => {
    expect((await request(app.getHttpServer()).get(path)).status).toBe(404);
  });

  it("answers /health/ready with its status only, without the checks' details", async () => {
    const res = await request(app.getHttpServer()).get('/health/ready');
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'error' });
    expect(res.text).not.toContain(CACHE_HOST);
  });

  it('answers /health/live with 200', async () => {
    const res = await request(app.getHttpServer()).get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

describe('the operations port (OPS_PORT: Prometheus and operators)', () => {
  let app: INestApplication;
  let ops: OperationsServer;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ProbedModule] })
      .overrideProvider(TypeOrmHealthIndicator)
      .useValue(mysqlUp)
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    ops = app.get(OperationsServer);
  });

  afterAll(() => app.close());

  it("serves /metrics in Prometheus's text format", async () => {
    const res = await request(ops.listener).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^process_cpu_user_seconds_total/m);
  });

  it('serves /health/consumers with what is down and why', async () => {
    const res = await request(ops.listener).get('/health/consumers');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: 'error', error: { kafka: { status: 'down', error: KAFKA_ERROR } } });
  });

  it('serves /health/ready and /health/live with their details', async () => {
    const ready = await request(ops.listener).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      details: { mysql: { status: 'up' }, cache: { status: 'down', host: CACHE_HOST } },
    });
    expect((await request(ops.listener).get('/health/live')).status).toBe(200);
  });

  it('serves nothing else: the API is not on this port', async () => {
    expect((await request(ops.listener).get('/api/docs')).status).toBe(404);
    expect((await request(ops.listener).post('/metrics')).status).toBe(404);
  });
});

describe('bootstrapService with OPS_PORT', () => {
  it('listens on both ports of the host: the API port without /metrics and /health/consumers, the operations port with them', async () => {
    const app = await bootstrapService(ProbedModule, { title: 'ops-test', port: 0, opsPort: 0, host: '127.0.0.1' });
    try {
      const api = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const opsUrl = `http://127.0.0.1:${app.get(OperationsServer).port}`;
      expect((await fetch(`${api}/metrics`)).status).toBe(404);
      expect((await fetch(`${api}/health/consumers`)).status).toBe(404);
      expect((await fetch(`${api}/health/live`)).status).toBe(200);
      expect((await fetch(`${opsUrl}/metrics`)).status).toBe(200);
      expect(await (await fetch(`${opsUrl}/health/consumers`)).json()).toMatchObject({
        error: { kafka: { error: KAFKA_ERROR } },
      });
    } finally {
      await app.close();
    }
    expect(app.get(OperationsServer).port).toBeUndefined();
  });

  it('opens the operations port only once the API listens: its ready probe is what orchestrators and tests wait on', async () => {
    const listenOrder: string[] = [];
    const opsListen = jest.spyOn(OperationsServer.prototype, 'listen').mockImplementation(async function (
      this: OperationsServer,
      ...args
    ) {
      listenOrder.push(`ops, API listening: ${String(!!apiServer?.listening)}`);
      opsListen.mockRestore();
      return this.listen(...args);
    });
    let apiServer: { listening: boolean } | undefined;
    const app = await bootstrapService(ProbedModule, {
      title: 'ops-order',
      port: 0,
      opsPort: 0,
      host: '127.0.0.1',
      beforeListen: async (a) => void (apiServer = a.getHttpServer()),
    });
    await app.close();
    expect(listenOrder).toEqual(['ops, API listening: true']);
  });
});

describe('a service process', () => {
  it('exits (1) when it cannot start, instead of staying up half-started', async () => {
    const exit = jest.spyOn(process, 'exit').mockImplementation((() => undefined) as never);
    const errors = jest.spyOn(NestLogger.prototype, 'error').mockImplementation(() => undefined);
    try {
      await bootstrapService(ProbedModule, {
        title: 'ops-broken',
        port: 0,
        opsPort: 0,
        host: '127.0.0.1',
        beforeListen: async () => {
          throw new Error('the consumers could not be wired');
        },
      }).then((app) => app.close());
      expect(exit).toHaveBeenCalledWith(1);
      expect(errors.mock.calls.some(([m]) => String(m).includes('ops-broken did not start'))).toBe(true);
    } finally {
      exit.mockRestore();
      errors.mockRestore();
    }
  });

  it('logs an unhandled rejection and keeps running (Node would exit)', () => {
    const before = process.listeners('unhandledRejection');
    process.removeAllListeners('unhandledRejection');
    const errors = jest.spyOn(NestLogger.prototype, 'error').mockImplementation(() => undefined);
    try {
      keepRunningOnUnhandledRejection();
      keepRunningOnUnhandledRejection(); // once, however often it is called
      expect(process.listenerCount('unhandledRejection')).toBe(1);
      process.emit('unhandledRejection', new Error('a background job lost its connection'), Promise.resolve());
      expect(errors.mock.calls.some(([m]) => String(m).includes('a background job lost its connection'))).toBe(true);
    } finally {
      errors.mockRestore();
      process.removeAllListeners('unhandledRejection');
      for (const l of before) process.on('unhandledRejection', l);
    }
  });
});
