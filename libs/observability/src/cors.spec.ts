import { Controller, Get, INestApplication, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { configureHttp } from './bootstrap';

@Controller('api/x')
class XController {
  @Get()
  x() {
    return { ok: true };
  }
}

@Module({ controllers: [XController] })
class XModule {}

describe('CORS_ORIGINS: pages on another host call the API with cookies', () => {
  let app: INestApplication;
  const start = async (corsOrigins?: string) => {
    app = (await Test.createTestingModule({ imports: [XModule] }).compile()).createNestApplication();
    configureHttp(app, { corsOrigins });
    await app.init();
  };
  afterEach(() => app.close());

  it('allows a listed origin with credentials, the headers the page sends, and lets it read the ETag', async () => {
    await start('https://apps.lms.example.com,https://other.example.com');
    const preflight = await request(app.getHttpServer())
      .options('/api/x')
      .set('Origin', 'https://apps.lms.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'content-type,x-csrftoken,use-jwt-cookie');
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': 'https://apps.lms.example.com',
      'access-control-allow-credentials': 'true',
    });
    expect(preflight.headers['access-control-allow-headers']).toContain('x-csrftoken');
    const get = await request(app.getHttpServer()).get('/api/x').set('Origin', 'https://other.example.com');
    expect(get.headers['access-control-allow-origin']).toBe('https://other.example.com');
    expect(get.headers['access-control-expose-headers']).toContain('etag');
  });

  it('gives no CORS header to an origin not listed, nor to any when none is', async () => {
    await start('https://apps.lms.example.com');
    const other = await request(app.getHttpServer()).get('/api/x').set('Origin', 'https://evil.example.com');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    await app.close();
    await start(undefined);
    const none = await request(app.getHttpServer()).get('/api/x').set('Origin', 'https://apps.lms.example.com');
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
    expect(none.headers['cache-control']).toBe('no-store');
  });
});
