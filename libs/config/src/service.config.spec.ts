import { ConfigValidationError, loadConfig } from './load-config';
import { ServiceConfig } from './service.config';

/** What a production deployment gives every service: its endpoints and a MySQL user with a password. */
const PRODUCTION = {
  NODE_ENV: 'production',
  MYSQL_URL: 'mysql://sync:pw@db.internal:3306',
  KAFKA_BROKERS: 'b1.example.com:9092,b2.example.com:9092',
  SCHEMA_REGISTRY_URL: 'https://registry.example.com',
};

function failures(env: Record<string, string>): string[] {
  try {
    loadConfig(ServiceConfig, env);
  } catch (e) {
    if (e instanceof ConfigValidationError) return e.fields;
    throw e;
  }
  throw new Error('expected a validation error');
}
const failing = (env: Record<string, string>) => failures(env).map((f) => f.split(/[ :]/)[0]);

describe('ServiceConfig in production (NODE_ENV=production)', () => {
  it('boots with its endpoints and a MySQL password given', () => {
    expect(loadConfig(ServiceConfig, PRODUCTION)).toMatchObject({
      NODE_ENV: 'production',
      KAFKA_TOPIC_REPLICATION_FACTOR: 1,
    });
  });

  it('refuses to boot on development defaults, naming each setting and its _FILE form', () => {
    const fields = failures({ NODE_ENV: 'production' });
    expect(fields.map((f) => f.split(' ')[0]).sort()).toEqual(['KAFKA_BROKERS', 'MYSQL_URL', 'SCHEMA_REGISTRY_URL']);
    expect(fields.find((f) => f.startsWith('MYSQL_URL'))).toMatch(
      /required with NODE_ENV=production \(set MYSQL_URL or MYSQL_URL_FILE\)/,
    );
  });

  it('keeps the development defaults in development and tests', () => {
    for (const NODE_ENV of ['development', 'test'])
      expect(loadConfig(ServiceConfig, { NODE_ENV }).MYSQL_URL).toBe('mysql://root@127.0.0.1:3306');
  });

  it('refuses a MySQL user without a password', () => {
    expect(failures({ ...PRODUCTION, MYSQL_URL: 'mysql://root@db.internal:3306' })).toEqual([
      expect.stringMatching(/^MYSQL_URL \(<hidden>\): must carry a password/),
    ]);
  });

  it('refuses a NODE_ENV it does not know', () => {
    expect(failing({ NODE_ENV: 'prod' })).toEqual(['NODE_ENV']);
  });
});

describe('Kafka and schema registry credentials', () => {
  it('takes an API key and secret together, the way event-bus-kafka does', () => {
    const config = loadConfig(ServiceConfig, { EVENT_BUS_KAFKA_API_KEY: 'key', EVENT_BUS_KAFKA_API_SECRET: 'secret' });
    expect(config).toMatchObject({
      EVENT_BUS_KAFKA_API_KEY: 'key',
      EVENT_BUS_KAFKA_API_SECRET: 'secret',
      KAFKA_SECURITY_PROTOCOL: undefined,
    });
  });

  it('refuses a key without its secret, and a registry secret without its key', () => {
    expect(failing({ EVENT_BUS_KAFKA_API_KEY: 'key' })).toEqual(['EVENT_BUS_KAFKA_API_KEY']);
    expect(failing({ EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET: 'secret' })).toEqual([
      'EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET',
    ]);
  });

  it('refuses SASL_SSL without credentials and PLAINTEXT with them', () => {
    expect(failures({ KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' })).toEqual([
      expect.stringMatching(/SASL_SSL needs EVENT_BUS_KAFKA_API_KEY and EVENT_BUS_KAFKA_API_SECRET/),
    ]);
    expect(
      failures({ KAFKA_SECURITY_PROTOCOL: 'PLAINTEXT', EVENT_BUS_KAFKA_API_KEY: 'k', EVENT_BUS_KAFKA_API_SECRET: 's' }),
    ).toEqual([expect.stringMatching(/PLAINTEXT sends no credentials/)]);
  });

  it('never prints a credential in its errors', () => {
    const text = failures({
      EVENT_BUS_KAFKA_API_KEY: 'AKIA-key-value',
      EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET: 'hunter2',
    }).join('\n');
    expect(text).not.toMatch(/AKIA-key-value|hunter2/);
  });
});

describe('topic replication', () => {
  it('defaults to 1 replica and 1 in-sync replica, for the one local broker', () => {
    expect(loadConfig(ServiceConfig, {})).toMatchObject({
      KAFKA_TOPIC_REPLICATION_FACTOR: 1,
      KAFKA_TOPIC_MIN_INSYNC_REPLICAS: 1,
    });
  });

  it('takes 3 replicas with 2 in sync, and refuses more in-sync replicas than replicas', () => {
    expect(
      loadConfig(ServiceConfig, { KAFKA_TOPIC_REPLICATION_FACTOR: '3', KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' }),
    ).toMatchObject({ KAFKA_TOPIC_REPLICATION_FACTOR: 3, KAFKA_TOPIC_MIN_INSYNC_REPLICAS: 2 });
    expect(failures({ KAFKA_TOPIC_MIN_INSYNC_REPLICAS: '2' })).toEqual([
      expect.stringMatching(
        /^KAFKA_TOPIC_MIN_INSYNC_REPLICAS \("2"\): must not be above KAFKA_TOPIC_REPLICATION_FACTOR/,
      ),
    ]);
  });
});

describe('where the LMS publishes (LMS_EVENT_BUS)', () => {
  it("reads Kafka by default, and takes redis or both only with event-bus-redis's URL", () => {
    expect(loadConfig(ServiceConfig, {}).LMS_EVENT_BUS).toBe('kafka');
    expect(failing({ LMS_EVENT_BUS: 'redis' })).toEqual(['LMS_EVENT_BUS']);
    expect(failing({ LMS_EVENT_BUS: 'both' })).toEqual(['LMS_EVENT_BUS']);
    expect(
      loadConfig(ServiceConfig, {
        LMS_EVENT_BUS: 'redis',
        EVENT_BUS_REDIS_CONNECTION_URL: 'rediss://:pw@redis.example.com:6380/0',
      }).LMS_EVENT_BUS,
    ).toBe('redis');
    expect(failing({ LMS_EVENT_BUS: 'redis', EVENT_BUS_REDIS_CONNECTION_URL: 'http://redis:6379' })).toEqual([
      'EVENT_BUS_REDIS_CONNECTION_URL',
    ]);
    expect(new Set(failing({ LMS_EVENT_BUS: 'kinesis' }))).toEqual(new Set(['LMS_EVENT_BUS']));
  });
});

describe('ServiceConfig DB_MIGRATIONS_RUN', () => {
  it('migrates at start unless told false, and refuses anything but true or false', () => {
    expect(loadConfig(ServiceConfig, {}).DB_MIGRATIONS_RUN).toBe(true);
    expect(loadConfig(ServiceConfig, { DB_MIGRATIONS_RUN: 'true' }).DB_MIGRATIONS_RUN).toBe(true);
    expect(loadConfig(ServiceConfig, { DB_MIGRATIONS_RUN: 'false' }).DB_MIGRATIONS_RUN).toBe(false);
    expect(failing({ DB_MIGRATIONS_RUN: 'no' })).toEqual(['DB_MIGRATIONS_RUN']);
  });
});

describe('consumer group session (KAFKA_SESSION_TIMEOUT_MS, KAFKA_HEARTBEAT_INTERVAL_MS)', () => {
  it("lets a survivor take a dead instance's partitions within 10 s by default: a 6 s session (the broker's minimum), a heartbeat every second", () => {
    expect(loadConfig(ServiceConfig, {})).toMatchObject({
      KAFKA_SESSION_TIMEOUT_MS: 6000,
      KAFKA_HEARTBEAT_INTERVAL_MS: 1000,
    });
  });

  it('takes other values, and refuses a heartbeat slower than a third of the session', () => {
    expect(
      loadConfig(ServiceConfig, { KAFKA_SESSION_TIMEOUT_MS: '45000', KAFKA_HEARTBEAT_INTERVAL_MS: '3000' }),
    ).toMatchObject({ KAFKA_SESSION_TIMEOUT_MS: 45_000, KAFKA_HEARTBEAT_INTERVAL_MS: 3000 });
    expect(failures({ KAFKA_SESSION_TIMEOUT_MS: '6000', KAFKA_HEARTBEAT_INTERVAL_MS: '2500' })).toEqual([
      expect.stringMatching(
        /^KAFKA_HEARTBEAT_INTERVAL_MS \("2500"\): must be at most a third of KAFKA_SESSION_TIMEOUT_MS/,
      ),
    ]);
    expect(failing({ KAFKA_SESSION_TIMEOUT_MS: '500' })).toContain('KAFKA_SESSION_TIMEOUT_MS');
  });
});

describe('ServiceConfig OPS_PORT', () => {
  it('serves operations on a port of its own, 9300 unless set', () => {
    expect(loadConfig(ServiceConfig, {})).toMatchObject({ PORT: 3000, OPS_PORT: 9300 });
    expect(loadConfig(ServiceConfig, { OPS_PORT: '9464' }).OPS_PORT).toBe(9464);
  });

  it("refuses an OPS_PORT that is the API's PORT, or no port", () => {
    expect(failing({ PORT: '3001', OPS_PORT: '3001' })).toEqual(['OPS_PORT']);
    expect(failing({ OPS_PORT: '70000' })).toEqual(['OPS_PORT']);
  });
});
