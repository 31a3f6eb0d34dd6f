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
    expect(config).toMatchObject({ JWT_ISSUER: DEFAULT_JWT_ISSUER, JWT_AUDIENCE: DEFAULT_JWT_AUDIENCE, JWT_JWKS_URL: undefined, JWT_PUBLIC_KEY: undefined });
  });

  it('accepts a key set URL alone', () => {
    expect(loadConfig(LmsClientConfig, { JWT_JWKS_URL: 'https://lms.example.com/oauth2/jwks.json' }).JWT_JWKS_URL).toBe('https://lms.example.com/oauth2/jwks.json');
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
    expect(error.fields.map((f) => f.split(' ')[0])).toEqual(expect.arrayContaining(['JWT_JWKS_URL', 'JWT_PUBLIC_KEY']));
  });
});
