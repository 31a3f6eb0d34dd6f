import { DataSource } from 'typeorm';
import { DomainException } from '@groups-sync/observability';
import { GroupsServiceConfig } from '../groups-service.config';
import { denied, FakeLms, throttled } from '../test/fake-lms';
import { LmsAccountsClient } from './lms-accounts.client';
import { UserDirectory } from './user-directory';

/** No account cached, none retired: every lookup goes to the LMS. */
const emptyDatabase = { query: async () => [], manager: { query: async () => [] } } as unknown as DataSource;

describe('UserDirectory when the LMS throttles or refuses us', () => {
  let lms: FakeLms;
  const directory = (settings: Partial<GroupsServiceConfig> = {}) => {
    const config = Object.assign(new GroupsServiceConfig(), { LMS_BASE_URL: lms.url, ...settings });
    return new UserDirectory(emptyDatabase, new LmsAccountsClient(config), config);
  };

  beforeAll(async () => (lms = await new FakeLms(throttled).start()));
  afterAll(() => lms.stop());

  it('answers 10,000 user ids within USER_DIRECTORY_DEADLINE_MS, each refused with a reason, when the LMS asks for 60 s', async () => {
    lms.answer = throttled;
    const started = Date.now();
    const resolved = await directory({ USER_DIRECTORY_DEADLINE_MS: 1000 }).resolve(
      Array.from({ length: 10_000 }, (_, i) => ({ user_id: i + 1 })),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(resolved).toHaveLength(10_000);
    expect(new Set(resolved.map((r) => r.status))).toEqual(new Set(['refused']));
    expect(resolved[0]).toEqual({ status: 'refused', reason: expect.stringContaining('USER_DIRECTORY_DEADLINE_MS') });
  }, 10_000);

  it('refuses the request with LMS_ACCESS_DENIED, naming the setting, when the accounts API answers 403: nobody is unknown', async () => {
    lms.answer = denied;
    for (const lookup of [{ user_id: 7 }, { username: 'ana' }, { email: 'ana@example.com' }]) {
      const error = (await directory()
        .resolve([lookup])
        .catch((e: unknown) => e)) as DomainException;
      expect(error).toBeInstanceOf(DomainException);
      expect([error.code, error.kind]).toEqual(['LMS_ACCESS_DENIED', 'unavailable']);
      expect(error.message).toContain('LMS_OAUTH_CLIENT_ID');
    }
  });
});
