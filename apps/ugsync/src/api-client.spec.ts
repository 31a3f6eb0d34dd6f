import { endpointsFromEnv } from './api-client';

describe('endpointsFromEnv', () => {
  it('defaults to the local stack, its ports and its OAuth client', () => {
    expect(endpointsFromEnv({})).toEqual({
      legacySync: 'http://127.0.0.1:3002',
      groups: 'http://127.0.0.1:3001',
      groupsOps: 'http://127.0.0.1:9301',
      lms: 'http://127.0.0.1:18000',
      clientId: 'groups-sync',
      clientSecret: 'groups-sync-secret',
      token: undefined,
    });
  });

  it("takes the operator's endpoints and credentials over the stack's", () => {
    const e = endpointsFromEnv({
      UGSYNC_LEGACY_SYNC_URL: 'https://sync.example.com',
      LEGACY_SYNC_SERVICE_PORT: '9',
      UGSYNC_CLIENT_ID: 'ops',
      UGSYNC_TOKEN: 'jwt',
    });
    expect(e).toMatchObject({ legacySync: 'https://sync.example.com', clientId: 'ops', token: 'jwt' });
  });

  it('has no default client secret in production', () => {
    expect(() => endpointsFromEnv({ NODE_ENV: 'production' })).toThrow('UGSYNC_CLIENT_SECRET');
    expect(endpointsFromEnv({ NODE_ENV: 'production', UGSYNC_CLIENT_SECRET: 's3cret' }).clientSecret).toBe('s3cret');
    expect(endpointsFromEnv({ NODE_ENV: 'production', UGSYNC_TOKEN: 'jwt' }).token).toBe('jwt');
  });
});
