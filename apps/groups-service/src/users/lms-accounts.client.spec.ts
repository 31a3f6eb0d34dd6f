import { LmsRejectedError } from '@groups-sync/lms-client';
import { GroupsServiceConfig } from '../groups-service.config';
import { denied, FakeLms, throttled } from '../test/fake-lms';
import { LmsAccountsClient } from './lms-accounts.client';

describe('LmsAccountsClient against a throttling or refusing LMS', () => {
  let lms: FakeLms;
  const client = (settings: Partial<GroupsServiceConfig> = {}) =>
    new LmsAccountsClient(Object.assign(new GroupsServiceConfig(), { LMS_BASE_URL: lms.url, ...settings }));
  const ids = Array.from({ length: 10_000 }, (_, i) => i + 1);

  beforeAll(async () => (lms = await new FakeLms(throttled).start()));
  afterAll(() => lms.stop());
  beforeEach(() => lms.reset());

  it('stops at the deadline when the LMS answers 429 with Retry-After: 60, leaving the ids unanswered', async () => {
    lms.answer = throttled;
    const started = Date.now();
    const found = await client().byIds(ids, Date.now() + 1000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(found).toEqual({ accounts: [], unanswered: ids });
    // The first 429 past the deadline stops the others taking ids: no 10,000 throttled calls.
    expect(lms.calls).toBeLessThanOrEqual(16);
  }, 10_000);

  it('keeps at most LMS_ACCOUNTS_CALLS_IN_FLIGHT calls in flight across concurrent resolutions', async () => {
    lms.answer = (_req, res) => void setTimeout(() => res.writeHead(404).end(), 20);
    const lookups = client({ LMS_ACCOUNTS_CALLS_IN_FLIGHT: 4 });
    await Promise.all([1, 2, 3].map((n) => lookups.byIds(ids.slice(n * 50, n * 50 + 50), Date.now() + 10_000)));
    expect(lms.calls).toBe(150);
    expect(lms.maxInFlight).toBeLessThanOrEqual(4);
  }, 10_000);

  it('gives up waiting for a free call at the deadline, leaving the ids unanswered', async () => {
    lms.answer = (_req, res) => void setTimeout(() => res.writeHead(404).end(), 2000);
    const lookups = client({ LMS_ACCOUNTS_CALLS_IN_FLIGHT: 1 });
    const holding = lookups.byIds([1], Date.now() + 10_000); // takes the only call for 2 s
    const started = Date.now();
    const found = await lookups.byIds([2, 3], Date.now() + 300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(found).toEqual({ accounts: [], unanswered: [2, 3] });
    await holding;
  }, 10_000);

  it('reads a 403 with a DRF detail as a refusal, not as "nobody found"', async () => {
    lms.answer = denied;
    const error = await client()
      .byIds([1, 2])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LmsRejectedError);
    expect((error as LmsRejectedError).status).toBe(403);
    await expect(client().byUsernames(['ana'])).rejects.toBeInstanceOf(LmsRejectedError);
  });

  it('reads a bare 403 as "nobody found", as older edx-platform releases answer a staff caller', async () => {
    lms.answer = (_req, res) => void res.writeHead(403).end();
    await expect(client().byUsernames(['nobody'])).resolves.toEqual({ accounts: [], unanswered: [] });
  });
});
