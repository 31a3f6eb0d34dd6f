import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { dropDatabase } from '@groups-sync/persistence';
import { httpRoutes, stackEnv, uniqueSuffix } from '@groups-sync/testing';

/** Reached without a token, on purpose: the load balancer's probes. /metrics and /health/consumers are on the operations port (OPS_PORT). */
const PUBLIC_ROUTES = ['GET /health/live', 'GET /health/ready'];

describe('evaluator-service: the authorization matrix', () => {
  const database = `eval_authz_${uniqueSuffix()}_test`;
  let app: INestApplication;

  beforeAll(async () => {
    // Config is read when app.module loads: the environment is set first.
    Object.assign(process.env, stackEnv(), {
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: `it-${uniqueSuffix()}`,
      LOG_LEVEL: 'error',
    });
    const { AppModule } = await import('./app.module');
    app = await NestFactory.create(AppModule, { logger: ['error'] });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await dropDatabase(stackEnv().MYSQL_URL, database);
  });

  it('has no protected route to check: the service serves only the public probes (a new endpoint fails this test until it has a matrix)', () => {
    expect(httpRoutes(app).map((r) => `${r.method} ${r.path}`)).toEqual(PUBLIC_ROUTES);
  });
});
