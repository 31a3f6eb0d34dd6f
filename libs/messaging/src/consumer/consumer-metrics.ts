import { Counter, Gauge, Histogram } from 'prom-client';
import { metric } from '@groups-sync/observability';

export const handledMessages = metric(
  'consumer_messages_total',
  () =>
    new Counter({
      name: 'consumer_messages_total',
      help: 'Messages consumed, by outcome',
      labelNames: ['group', 'event_type', 'outcome'],
    }),
);
export const deadLetters = metric(
  'dead_letters_total',
  () =>
    new Counter({
      name: 'dead_letters_total',
      help: 'Messages sent to a dead-letter topic',
      labelNames: ['group', 'reason'],
    }),
);
export const dependencyWaits = metric(
  'consumer_dependency_waits_total',
  () =>
    new Counter({
      name: 'consumer_dependency_waits_total',
      help: 'Retries spent waiting for an unavailable dependency (not counted against a message)',
      labelNames: ['group'],
    }),
);
export const outageDeadLetters = metric(
  'consumer_outage_dead_lettered_total',
  () =>
    new Counter({
      name: 'consumer_outage_dead_lettered_total',
      help: 'Messages dead-lettered after their dependency stayed unavailable for the whole outage budget',
      labelNames: ['group'],
    }),
);
export const handleDuration = metric(
  'consumer_handle_seconds',
  () =>
    new Histogram({
      name: 'consumer_handle_seconds',
      help: 'Time to handle one delivery of a message',
      labelNames: ['group'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
);

/** Consumers running in this process, which the stall gauge reads when scraped. */
export const runningConsumers = new Set<{ readonly group: string; stalledSeconds(): number }>();
metric(
  'consumer_stalled_seconds',
  () =>
    new Gauge({
      name: 'consumer_stalled_seconds',
      help: 'How long the message a partition of the group is stuck on has been failing, for the longest-stuck partition (0: none)',
      labelNames: ['group'],
      collect() {
        const worst = new Map<string, number>();
        for (const c of runningConsumers) worst.set(c.group, Math.max(worst.get(c.group) ?? 0, c.stalledSeconds()));
        this.reset();
        for (const [group, seconds] of worst) this.set({ group }, seconds);
      },
    }),
);
