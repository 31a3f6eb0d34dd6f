import { ConfigValidationError, loadConfig } from '@groups-sync/config';
import { LmsClientConfig } from './lms-client.config';
import { DEFAULT_JWT_AUDIENCE, DEFAULT_JWT_ISSUER } from '@groups-sync/auth';

const PEM = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';

function configError(env: Record<string, string>): ConfigValidationError {
  try {
    loadConfig(LmsClientConfig, env);
  } catch (e) {
    return e as ConfigValidationError;
  }
  throw new Error('expected a validation error');
}

describe('JWT settings of LmsClientConfig', () => {
  it('defaults to the LMS devstack issuer, the openedx audience and no key source', () => {
    const config = loadConfig(LmsClientConfig, {});
    expect(config).toMatchObject({
      JWT_ISSUER: DEFAULT_JWT_ISSUER,
      JWT_AUDIENCE: DEFAULT_JWT_AUDIENCE,
      JWT_JWKS_URL: undefined,
      JWT_PUBLIC_KEY: undefined,
    });
  });

  it('accepts a key set URL alone', () => {
    expect(loadConfig(LmsClientConfig, { JWT_JWKS_URL: 'https://lms.example.com/oauth2/jwks.json' }).JWT_JWKS_URL).toBe(
      'https://lms.example.com/oauth2/jwks.json',
    );
  });

  it('accepts a PEM public key alone', () => {
    expect(loadConfig(LmsClientConfig, { JWT_PUBLIC_KEY: PEM }).JWT_PUBLIC_KEY).toBe(PEM);
  });

  it('refuses to boot with both a key set URL and a public key', () => {
    const error = configError({ JWT_JWKS_URL: 'https://lms.example.com/oauth2/jwks.json', JWT_PUBLIC_KEY: PEM });
    expect(error.fields.join('\n')).toMatch(/JWT_JWKS_URL .*not both/);
  });

  it('refuses to boot with a key set URL that is not http(s) or a key that is not PEM', () => {
    const error = configError({ JWT_JWKS_URL: 'file:///etc/jwks.json', JWT_PUBLIC_KEY: 'ssh-rsa AAAA' });
    expect(error.fields.map((f) => f.split(' ')[0])).toEqual(
      expect.arrayContaining(['JWT_JWKS_URL', 'JWT_PUBLIC_KEY']),
    );
  });
});

describe('LmsClientConfig in production (NODE_ENV=production)', () => {
  const PRODUCTION = {
    NODE_ENV: 'production',
    MYSQL_URL: 'mysql://sync:pw@db:3306',
    KAFKA_BROKERS: 'kafka:9092',
    SCHEMA_REGISTRY_URL: 'https://registry.example.com',
    LMS_BASE_URL: 'https://lms.example.com',
    LMS_OAUTH_CLIENT_SECRET: 'from-the-lms-admin',
    SERVICE_USERS: 'groups_sync_worker',
  };

  it('boots with the OAuth2 client secret given and an https key set', () => {
    expect(
      loadConfig(LmsClientConfig, { ...PRODUCTION, JWT_JWKS_URL: 'https://lms.example.com/oauth2/jwks.json' })
        .LMS_OAUTH_CLIENT_SECRET,
    ).toBe('from-the-lms-admin');
  });

  it('refuses to boot without the OAuth2 client secret or the LMS URL: no default outside development and tests', () => {
    const fields = configError(
      Object.fromEntries(
        Object.entries(PRODUCTION).filter(([k]) => !['LMS_OAUTH_CLIENT_SECRET', 'LMS_BASE_URL'].includes(k)),
      ),
    ).fields;
    expect(fields.map((f) => f.split(' ')[0]).sort()).toEqual(['LMS_BASE_URL', 'LMS_OAUTH_CLIENT_SECRET']);
    expect(fields.join('\n')).toMatch(/LMS_OAUTH_CLIENT_SECRET \(unset\): required with NODE_ENV=production/);
  });

  it('takes no default SERVICE_USERS in production: the operator names the service users', () => {
    const { SERVICE_USERS: _unset, ...without } = PRODUCTION;
    expect(configError(without).fields).toEqual([
      expect.stringMatching(/^SERVICE_USERS \(unset\): required with NODE_ENV=production/),
    ]);
  });

  it('refuses SERVICE_USERS that are not <name>[:read|:write]', () => {
    expect(configError({ ...PRODUCTION, SERVICE_USERS: 'worker:admin' }).fields).toEqual([
      expect.stringMatching(/^SERVICE_USERS/),
    ]);
  });

  it('refuses a key set URL over plain http', () => {
    const error = configError({ ...PRODUCTION, JWT_JWKS_URL: 'http://lms-emulator:18000/oauth2/jwks.json' });
    expect(error.fields).toEqual([expect.stringMatching(/^JWT_JWKS_URL \(<hidden>\): must be an https URL/)]);
  });

  it('still takes an http key set in development and tests (the local emulator)', () => {
    for (const NODE_ENV of ['development', 'test']) {
      expect(
        loadConfig(LmsClientConfig, { NODE_ENV, JWT_JWKS_URL: 'http://127.0.0.1:18000/oauth2/jwks.json' })
          .LMS_OAUTH_CLIENT_SECRET,
      ).toBe('groups-sync-secret');
    }
  });
});
