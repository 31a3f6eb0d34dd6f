import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import request from 'supertest';
import { configureHttp } from '@groups-sync/observability';
import { dropDatabase } from '@groups-sync/persistence';
import { stackEnv, uniqueSuffix } from '@groups-sync/testing';

/** The emulator not told it is a test peer: the LMS's own APIs, no fixture or token endpoint. */
describe('lms-emulator without LMS_EMULATOR_TEST_PEER', () => {
  const env = stackEnv();
  const database = `lms_peer_${uniqueSuffix()}_test`;
  let app: INestApplication;
  const server = () => app.getHttpServer();

  beforeAll(async () => {
    delete process.env.LMS_EMULATOR_TEST_PEER;
    Object.assign(process.env, env, {
      DB_NAME: database,
      EVENT_BUS_TOPIC_PREFIX: `it-${uniqueSuffix()}`,
      LOG_LEVEL: 'warn',
    });
    const { AppModule } = await import('./app.module');
    app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    configureHttp(app);
    await app.init();
  }, 90_000);

  afterAll(async () => {
    await app?.close();
    await dropDatabase(env.MYSQL_URL, database);
  });

  it.each([
    ['POST', '/emulator/tokens', { username: 'anyone', administrator: true }],
    ['POST', '/emulator/users', { username: 'mallory' }],
    ['POST', '/emulator/courses', { course_id: 'course-v1:X+Y+Z' }],
    ['POST', '/emulator/enrollments', {}],
    ['POST', '/emulator/enrollments/mode', {}],
    ['PUT', '/emulator/faults', {}],
    ['PUT', '/emulator/settings', {}],
    ['PUT', '/emulator/learner-data', {}],
    ['POST', '/emulator/logins', {}],
    ['POST', '/emulator/teams', {}],
    ['POST', '/emulator/team-memberships', {}],
  ])('answers 404 to %s %s', async (method, path, body) => {
    const res = await request(server())[method.toLowerCase() as 'post' | 'put'](path).send(body);
    expect(res.status).toBe(404);
  });

  it('still serves the LMS endpoints: its key set, and tokens only for the OAuth2 client with its secret', async () => {
    expect((await request(server()).get('/oauth2/jwks.json')).status).toBe(200);
    const token = (secret: string) =>
      request(server())
        .post('/oauth2/access_token')
        .type('form')
        .send({ grant_type: 'client_credentials', client_id: 'groups-sync', client_secret: secret, token_type: 'jwt' });
    expect((await token('groups-sync-secret')).status).toBe(200);
    expect((await token('guessed')).status).toBe(401);
  });
});
