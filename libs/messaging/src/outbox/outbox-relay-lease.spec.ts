import { OutboxRelay } from './outbox-relay';
import { relayLeaseName } from './outbox-relay-lease';

describe('the relay lease name', () => {
  it('is the service name, whatever the database is called', () => {
    expect(relayLeaseName('legacy-sync-service')).toBe('outbox-relay:legacy-sync-service');
  });

  it('stays within MySQL 64 characters and apart for the longest names', () => {
    const long = `${'s'.repeat(80)}-a`;
    const other = `${'s'.repeat(80)}-b`;
    expect(relayLeaseName(long).length).toBeLessThanOrEqual(64);
    expect(relayLeaseName(long)).not.toBe(relayLeaseName(other));
  });

  it('stays within 64 characters for a relay on a database with the longest legal name', () => {
    const relay = new OutboxRelay({ options: { database: 'a'.repeat(64) } } as never, {} as never, {} as never, {
      service: 'legacy-sync-service',
      pollIntervalMs: 50,
    });
    expect(relay.leaseName.length).toBeLessThanOrEqual(64);
  });
});
