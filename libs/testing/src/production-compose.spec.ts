import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeFile, envFile, PRODUCTION_COMPOSE } from './docker-compose';
import { WORKSPACE_ROOT } from './stack-env';

/** Names that hold a secret; in the production files only their `_FILE` forms may appear. */
const SECRET_NAME = /(PASSWORD|SECRET|TOKEN|_KEY)$/;
/** A URL that carries credentials (`scheme://user:password@host`). */
const CREDENTIALS_IN_URL = /[a-z]+:\/\/[^\s/:@]+:[^\s/@]+@/i;

describe(PRODUCTION_COMPOSE, () => {
  const compose = composeFile(PRODUCTION_COMPOSE);
  const services = Object.entries(compose.services);
  const text = readFileSync(join(WORKSPACE_ROOT, PRODUCTION_COMPOSE), 'utf8');
  const example = envFile('deploy/production.env.example');

  it('runs the three services alone: no emulator, database, broker or registry', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['evaluator-service', 'groups-service', 'legacy-sync-service']);
    for (const [name, service] of services) {
      expect(`${name} ${service.image ?? ''} ${service.build?.args?.APP ?? ''}`).not.toMatch(/emulator|mysql|mariadb|kafka|zookeeper|registry|apicurio/i);
    }
  });

  it('publishes nothing but the APIs: no database, broker, registry or emulator port', () => {
    const published = services.flatMap(([, s]) => s.ports ?? []).map(String);
    expect(published.sort()).toEqual(['3001:3001', '3002:3002', '3003:3003']);
    for (const port of published.flatMap((p) => p.split(':')).map(Number)) expect([3306, 9092, 9093, 8081, 8080, 18000]).not.toContain(port);
  });

  it('runs every service for production, with a healthcheck', () => {
    for (const [, service] of services) {
      expect(service.environment?.NODE_ENV).toBe('production');
      expect(service.healthcheck?.test.join(' ')).toMatch(/\/health\/ready/);
    }
  });

  it('holds no secret value: secrets are files the operator provides, settings come from the env file', () => {
    for (const [, service] of services) {
      expect(service.env_file).toEqual(['production.env']);
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (SECRET_NAME.test(key) || (/_URL$/.test(key) && /^mysql:/.test(String(value)))) throw new Error(`${key} is given as a literal; give ${key}_FILE`);
        expect(String(value)).not.toMatch(CREDENTIALS_IN_URL);
      }
    }
    for (const secret of Object.values(compose.secrets ?? {})) expect(secret).toEqual({ file: expect.stringMatching(/^\.\/secrets\/[a-z_]+$/) });
    expect(text).not.toMatch(CREDENTIALS_IN_URL);
    expect(text).not.toContain('groups-sync-secret');
  });

  it('ships an example env file without secrets, asking for SASL_SSL, 3 replicas and 2 in sync', () => {
    expect(Object.keys(example).filter((k) => SECRET_NAME.test(k))).toEqual([]);
    for (const value of Object.values(example)) expect(value).not.toMatch(CREDENTIALS_IN_URL);
    expect(example).toMatchObject({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL', KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' });
    // The LMS's asymmetric keys as its JWT_PUBLIC_SIGNING_JWK_SET; its HS256 secret is a secret file (jwt_issuers).
    expect(JSON.parse(example.JWT_PUBLIC_SIGNING_JWK_SET)).toMatchObject({ keys: [expect.objectContaining({ kty: 'RSA' })] });
    expect(example.SERVICE_USERS).toBeTruthy();
  });
});
