import { MessagingHealth } from './messaging.module';
import { OutboxRelay } from './outbox/outbox-relay';

type AddCheck = (name: string, check: () => Promise<{ up: boolean; details?: Record<string, unknown> }>) => void;

/** Readiness: the broker answers, every consumer has joined its group, the relay has no error. */
export function registerMessagingReadiness(add: AddCheck, health: MessagingHealth, relay: OutboxRelay | null): void {
  add('kafka', async () => {
    const consumers = health.consumerStates();
    const reachable = await health.brokerReachable();
    return { up: reachable && consumers.every((c) => c.joined), details: { reachable, consumers } };
  });
  if (relay) {
    add('outbox', async () => ({ up: !relay.status().lastError, details: { ...(await relay.backlogStats()), ...relay.status() } }));
  }
}
