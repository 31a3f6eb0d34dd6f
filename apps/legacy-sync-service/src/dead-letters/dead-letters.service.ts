import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DeadLetter, DeadLetterTopics } from '@groups-sync/messaging';

export type DeadLetterState = 'open' | 'replayed' | 'resolved';

export interface DeadLetterFilter {
  consumerGroup?: string;
  reason?: string;
  type?: string;
  since?: Date;
  /** One dead letter by `topic:partition:offset`. */
  id?: string;
  /** Open ones only unless told otherwise: a replay or resolve acts once. */
  state?: DeadLetterState | 'all';
}

/** A dead letter as operators see it: where it is, why, what it carries, and what was done about it. */
export function deadLetterView(l: DeadLetter & { state: DeadLetterState; actions: ActionRow[] }) {
  return {
    id: l.id, topic: l.topic, partition: l.partition, offset: l.offset, consumer_group: l.consumerGroup, reason: l.reason, error: l.error,
    event_type: l.eventType, ce_id: l.ceId, dead_lettered_at: l.deadLetteredAt, original: l.original, attempts: l.attempts, state: l.state,
    actions: l.actions.map((a) => ({ action: a.action, actor: a.actor, at: a.at, outcome: a.outcome })),
  };
}

interface ActionRow { dead_letter_id: string; action: 'replayed' | 'resolved'; actor: string; at: Date; outcome: string }

/**
 * Dead letters of every consumer group of every service (their topics are the record; this
 * service keeps what operators did about each), replayed into the failing group's retry topic or
 * marked resolved. Every action is recorded with who did it.
 */
@Injectable()
export class DeadLetters {
  constructor(private readonly topics: DeadLetterTopics, private readonly dataSource: DataSource) {}

  async list(filter: DeadLetterFilter = {}): Promise<Array<DeadLetter & { state: DeadLetterState; actions: ActionRow[] }>> {
    const letters = await this.topics.readAll(filter.consumerGroup ? [filter.consumerGroup] : undefined);
    const ids = letters.map((l) => l.id);
    const actions: ActionRow[] = ids.length
      ? await this.dataSource.query('SELECT dead_letter_id, action, actor, at, outcome FROM dead_letter_action WHERE dead_letter_id IN (?) ORDER BY id', [ids])
      : [];
    const byId = new Map<string, ActionRow[]>();
    for (const a of actions) byId.set(a.dead_letter_id, [...(byId.get(a.dead_letter_id) ?? []), a]);
    const wantedState = filter.state ?? 'all';
    return letters
      .map((l) => {
        const done = byId.get(l.id) ?? [];
        const last = done[done.length - 1];
        return { ...l, actions: done, state: (last ? last.action : 'open') as DeadLetterState };
      })
      .filter((l) => (!filter.id || l.id === filter.id)
        && (!filter.reason || l.reason === filter.reason)
        && (!filter.type || l.eventType === filter.type)
        && (!filter.since || (l.deadLetteredAt !== null && Date.parse(l.deadLetteredAt) >= filter.since.getTime()))
        && (wantedState === 'all' || l.state === wantedState));
  }

  async show(id: string) {
    const [letter] = await this.list({ id, consumerGroup: this.topics.groupOf(id.replace(/:\d+:\d+$/, '')) });
    if (!letter) return null;
    const decoded = await this.topics.decode(letter);
    return {
      ...deadLetterView(letter),
      key: letter.key?.toString('base64') ?? null,
      headers: letter.headers,
      ...('event' in decoded ? { event: { type: decoded.event.type, metadata: decoded.event.metadata, data: decoded.event.data } } : { decode_error: decoded.error }),
    };
  }

  /** Replays the open dead letters the filter selects (`dryRun`: only says which). */
  async replay(filter: DeadLetterFilter, actor: string, dryRun: boolean) {
    const letters = await this.list({ ...filter, state: filter.state ?? 'open' });
    if (!dryRun && letters.length) {
      try {
        await this.topics.replay(letters);
        await this.record(letters, 'replayed', actor, 'sent to the retry topic');
      } catch (error) {
        await this.record(letters, 'replayed', actor, `failed: ${(error as Error).message}`.slice(0, 500)).catch(() => undefined);
        throw error;
      }
    }
    return { dry_run: dryRun, count: letters.length, dead_letters: letters.map(deadLetterView) };
  }

  /** Marks the open dead letters the filter selects as handled, without replaying them. */
  async resolve(filter: DeadLetterFilter, actor: string, note: string | undefined, dryRun: boolean) {
    const letters = await this.list({ ...filter, state: filter.state ?? 'open' });
    if (!dryRun && letters.length) await this.record(letters, 'resolved', actor, note?.slice(0, 500) || 'resolved without replay');
    return { dry_run: dryRun, count: letters.length, dead_letters: letters.map(deadLetterView) };
  }

  /** Dead letters per consumer group and reason, open ones apart. */
  async counts() {
    const out: Record<string, Record<string, { total: number; open: number }>> = {};
    for (const l of await this.list()) {
      const group = (out[l.consumerGroup] ??= {});
      const entry = (group[l.reason] ??= { total: 0, open: 0 });
      entry.total++;
      if (l.state === 'open') entry.open++;
    }
    return out;
  }

  private async record(letters: DeadLetter[], action: 'replayed' | 'resolved', actor: string, outcome: string): Promise<void> {
    for (let i = 0; i < letters.length; i += 500) {
      const chunk = letters.slice(i, i + 500);
      await this.dataSource.query(
        `INSERT INTO dead_letter_action (dead_letter_id, consumer_group, event_type, ce_id, action, actor, outcome) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((l) => [l.id, l.consumerGroup, l.eventType, l.ceId, action, actor.slice(0, 255), outcome]));
    }
  }
}

