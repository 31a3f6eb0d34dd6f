import { EventType } from '@groups-sync/contracts';
import { outboxOrderKey } from './outbox-order-key';

const AT = '2026-11-22T00:00:00+00:00';
const requested = (group: string) => ({
  refresh: { group_id: group, requested_by: null, trigger: 'user', occurred_at: AT },
});
const completed = (group: string) => ({
  refresh: {
    group_id: group,
    run_id: 'r',
    trigger: 'user',
    requested_by: null,
    added: 0,
    removed: 0,
    member_count: 0,
    completed_at: AT,
  },
});

describe('outboxOrderKey', () => {
  it('is shared by events of different types with one topic and one Kafka key', () => {
    expect(outboxOrderKey(EventType.UserGroupRefreshRequested, requested('g-1'))).toBe(
      outboxOrderKey(EventType.UserGroupRefreshCompleted, completed('g-1')),
    );
    expect(outboxOrderKey(EventType.UserGroupRefreshRequested, requested('g-1'))).toMatch(/^[0-9a-f]{40}$/);
  });

  it('differs between keys, and between topics for one key value', () => {
    expect(outboxOrderKey(EventType.UserGroupRefreshRequested, requested('g-1'))).not.toBe(
      outboxOrderKey(EventType.UserGroupRefreshRequested, requested('g-2')),
    );
    const sync = {
      sync_result: {
        group_id: 'g-1',
        user_id: 1,
        status: 'synced',
        error: null,
        legacy_type: 'cohort',
        legacy_id: '1',
        occurred_at: AT,
        change_occurred_at: AT,
      },
    };
    expect(outboxOrderKey(EventType.LegacySyncCompleted, sync)).not.toBe(
      outboxOrderKey(EventType.UserGroupRefreshRequested, requested('g-1')),
    );
  });

  it('refuses an unknown event type and an event without its key field: neither can be published', () => {
    expect(() => outboxOrderKey('org.example.nope.v1', {})).toThrow(/unknown event type/);
    expect(() => outboxOrderKey(EventType.UserGroupRefreshRequested, { refresh: {} })).toThrow(
      /no value at refresh.group_id/,
    );
  });
});
