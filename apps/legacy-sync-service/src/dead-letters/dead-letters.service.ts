import { retiredAmong } from '@groups-sync/persistence';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConsumerGroup } from '@groups-sync/contracts';
import {
  DEAD_LETTER_ID,
  DeadLetter,
  DeadLetterPages,
  DeadLetterTopics,
  parseDeadLetterId,
} from '@groups-sync/messaging';
import { DomainException, personalValues, redactPersonalData } from '@groups-sync/observability';
import { maskPersonalData, userIdsOf } from './dead-letter-people';

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

/** A page is this many dead letters read (the filters may keep fewer); `after` is the last one's id. */
export interface DeadLetterPageRequest {
  limit?: number;
  after?: string;
}

export const DEAD_LETTER_PAGE_DEFAULT = 100;
export const DEAD_LETTER_PAGE_MAX = 500;

type Listed = DeadLetter & { state: DeadLetterState; actions: ActionRow[] };

/** A dead letter as operators see it: where it is, why, what it carries, and what was done about it. */
export function deadLetterView(l: Listed) {
  return {
    id: l.id,
    topic: l.topic,
    partition: l.partition,
    offset: l.offset,
    consumer_group: l.consumerGroup,
    reason: l.reason,
    error: l.error,
    event_type: l.eventType,
    ce_id: l.ceId,
    dead_lettered_at: l.deadLetteredAt,
    original: l.original,
    attempts: l.attempts,
    state: l.state,
    actions: l.actions.map((a) => ({ action: a.action, actor: a.actor, at: a.at, outcome: a.outcome })),
  };
}

interface ActionRow {
  dead_letter_id: string;
  action: 'replayed' | 'resolved';
  actor: string;
  at: Date;
  outcome: string;
}

/**
 * Dead letters of every consumer group of every service (their topics are the record; this
 * service keeps what operators did about each), read a page at a time, replayed into the failing
 * group's retry topic or marked resolved. Every action is recorded with who did it. A retired
 * learner's letters are shown masked and never replayed.
 */
@Injectable()
export class DeadLetters {
  constructor(
    private readonly topics: DeadLetterTopics,
    private readonly pages: DeadLetterPages,
    private readonly dataSource: DataSource,
  ) {}

  /** One page: the letters read that pass the filter, and the cursor of the next page (null at the end). */
  async list(
    filter: DeadLetterFilter = {},
    page: DeadLetterPageRequest = {},
  ): Promise<{ letters: Listed[]; next: string | null }> {
    const groups = filter.consumerGroup ? [filter.consumerGroup] : Object.values(ConsumerGroup);
    let read: { letters: DeadLetter[]; next: string | null };
    if (filter.id) {
      const group = this.groupOfId(filter.id);
      // Only dead-letter topics are read, by this API.
      const letter = group && groups.includes(group) ? await this.pages.one(filter.id) : null;
      read = { letters: letter ? [letter] : [], next: null };
    } else {
      if (page.after) {
        const group = this.groupOfId(page.after);
        if (!group || !groups.includes(group))
          throw new DomainException(
            'INVALID_CURSOR',
            'invalid',
            `after: ${page.after} is not a dead letter of the groups listed`,
          );
      }
      read = await this.pages.page(
        groups,
        page.after ?? null,
        Math.min(page.limit ?? DEAD_LETTER_PAGE_DEFAULT, DEAD_LETTER_PAGE_MAX),
      );
    }
    const ids = read.letters.map((l) => l.id);
    const actions: ActionRow[] = ids.length
      ? await this.dataSource.query(
          'SELECT dead_letter_id, action, actor, at, outcome FROM dead_letter_action WHERE dead_letter_id IN (?) ORDER BY id',
          [ids],
        )
      : [];
    const byId = new Map<string, ActionRow[]>();
    for (const a of actions)
      (byId.get(a.dead_letter_id) ?? byId.set(a.dead_letter_id, []).get(a.dead_letter_id))!.push(a);
    const wantedState = filter.state ?? 'all';
    const letters = read.letters
      .map((l) => {
        const done = byId.get(l.id) ?? [];
        const last = done[done.length - 1];
        return { ...l, actions: done, state: (last ? last.action : 'open') as DeadLetterState };
      })
      .filter(
        (l) =>
          (!filter.reason || l.reason === filter.reason) &&
          (!filter.type || l.eventType === filter.type) &&
          (!filter.since || (l.deadLetteredAt !== null && Date.parse(l.deadLetteredAt) >= filter.since.getTime())) &&
          (wantedState === 'all' || l.state === wantedState),
      );
    return { letters, next: read.next };
  }

  async show(id: string) {
    const {
      letters: [letter],
    } = await this.list({ id });
    if (!letter) return null;
    const decoded = await this.topics.decode(letter);
    const retired =
      'event' in decoded && (await retiredAmong(this.dataSource.manager, userIdsOf(decoded.event.data))).size > 0;
    const view = deadLetterView(letter);
    return {
      ...view,
      ...(retired
        ? { error: redactPersonalData(view.error, personalValues(decoded.event.data)), retired_user: true }
        : {}),
      key: letter.key?.toString('base64') ?? null,
      headers: letter.headers,
      ...('event' in decoded
        ? {
            event: {
              type: decoded.event.type,
              metadata: decoded.event.metadata,
              data: retired ? maskPersonalData(decoded.event.data) : decoded.event.data,
            },
          }
        : { decode_error: decoded.error }),
    };
  }

  /**
   * Replays the open dead letters of one page the filter selects (`dryRun`: only says which). A
   * retired learner's are not replayed: they are listed as such, to be resolved.
   */
  async replay(filter: DeadLetterFilter, actor: string, dryRun: boolean, page: DeadLetterPageRequest = {}) {
    const { letters: selected, next } = await this.list({ ...filter, state: filter.state ?? 'open' }, page);
    const retired = new Set(await this.ofRetiredUsers(selected));
    const letters = selected.filter((l) => !retired.has(l.id));
    if (!dryRun && letters.length) {
      try {
        await this.topics.replay(letters);
        await this.record(letters, 'replayed', actor, 'sent to the retry topic');
      } catch (error) {
        await this.record(letters, 'replayed', actor, `failed: ${(error as Error).message}`.slice(0, 500)).catch(
          () => undefined,
        );
        throw error;
      }
    }
    return {
      dry_run: dryRun,
      count: letters.length,
      dead_letters: letters.map(deadLetterView),
      next_after: next,
      not_replayed: selected
        .filter((l) => retired.has(l.id))
        .map((l) => ({ id: l.id, reason: 'the learner was retired: resolve it instead' })),
    };
  }

  /** Marks the open dead letters of one page the filter selects as handled, without replaying them. */
  async resolve(
    filter: DeadLetterFilter,
    actor: string,
    note: string | undefined,
    dryRun: boolean,
    page: DeadLetterPageRequest = {},
  ) {
    const { letters, next } = await this.list({ ...filter, state: filter.state ?? 'open' }, page);
    if (!dryRun && letters.length)
      await this.record(letters, 'resolved', actor, note?.slice(0, 500) || 'resolved without replay');
    return { dry_run: dryRun, count: letters.length, dead_letters: letters.map(deadLetterView), next_after: next };
  }

  /**
   * Dead letters per consumer group, open ones apart, from the topics' offsets and the actions
   * recorded: no letter is read.
   */
  async counts() {
    const out: Record<string, { total: number; open: number }> = {};
    for (const p of await this.pages.partitions(Object.values(ConsumerGroup))) {
      const total = Number(p.high - p.low);
      if (!total) continue;
      const prefix = `${p.topic}:${p.partition}:`;
      const [{ acted }] = await this.dataSource.query(
        `SELECT COUNT(DISTINCT dead_letter_id) AS acted FROM dead_letter_action
         WHERE dead_letter_id LIKE ? AND CAST(SUBSTRING_INDEX(dead_letter_id, ':', -1) AS UNSIGNED) BETWEEN ? AND ?`,
        [`${prefix.replace(/[\\%_]/g, '\\$&')}%`, p.low.toString(), (p.high - 1n).toString()],
      );
      const entry = (out[p.consumerGroup] ??= { total: 0, open: 0 });
      entry.total += total;
      entry.open += total - Number(acted);
    }
    return out;
  }

  /** The letters (ids) that carry a retired user. */
  private async ofRetiredUsers(letters: DeadLetter[]): Promise<string[]> {
    const users = new Map<string, number[]>();
    for (const l of letters) {
      const decoded = await this.topics.decode(l);
      if ('event' in decoded) users.set(l.id, userIdsOf(decoded.event.data));
    }
    const retired = await retiredAmong(this.dataSource.manager, [...users.values()].flat());
    return [...users].filter(([, ids]) => ids.some((id) => retired.has(id))).map(([id]) => id);
  }

  /** The consumer group whose dead-letter topic an id names; undefined for anything else. */
  private groupOfId(id: string): string | undefined {
    return DEAD_LETTER_ID.test(id) ? this.topics.groupOf(parseDeadLetterId(id).topic) : undefined;
  }

  private async record(
    letters: DeadLetter[],
    action: 'replayed' | 'resolved',
    actor: string,
    outcome: string,
  ): Promise<void> {
    for (let i = 0; i < letters.length; i += 500) {
      const chunk = letters.slice(i, i + 500);
      await this.dataSource.query(
        `INSERT INTO dead_letter_action (dead_letter_id, consumer_group, event_type, ce_id, action, actor, outcome) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((l) => [l.id, l.consumerGroup, l.eventType, l.ceId, action, actor.slice(0, 255), outcome]),
      );
    }
  }
}
