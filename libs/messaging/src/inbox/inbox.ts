import { DataSource, EntityManager } from 'typeorm';
import { DecodedEvent } from '@groups-sync/contracts';
import { inTransaction } from '@groups-sync/persistence';

export type InboxOutcome = 'applied' | 'duplicate';

/**
 * Applies events at most once per consumer group: the `(consumer group, ce_id)` rows and the effect
 * commit together, so a redelivered event finds its row and does nothing. Batches cost one read and
 * one multi-row insert.
 */
export class Inbox {
  constructor(
    private readonly dataSource: DataSource,
    private readonly consumerGroup: string,
  ) {}

  /**
   * The events not applied yet, in order, each id once. A read outside the transaction, for handlers
   * that call another system first: a redelivery then skips the call too. `processBatch` still decides.
   */
  async unseen<E extends DecodedEvent>(events: E[], manager: EntityManager = this.dataSource.manager): Promise<E[]> {
    const once = new Map<string, E>();
    for (const e of events) if (!once.has(e.metadata.id)) once.set(e.metadata.id, e);
    if (!once.size) return [];
    const seen: Array<{ event_id: string }> = await manager.query(
      'SELECT event_id FROM inbox WHERE consumer_group = ? AND event_id IN (?)',
      [this.consumerGroup, [...once.keys()]],
    );
    for (const row of seen) once.delete(row.event_id);
    return [...once.values()];
  }

  async seen(event: DecodedEvent): Promise<boolean> {
    return (await this.unseen([event])).length === 0;
  }

  /**
   * One transaction: the inbox rows of the events not applied yet, and `work` on just those. A
   * concurrent consumer that applied one of them first makes the insert fail on its key; the
   * transaction rolls back and the batch is retried, finding the event seen.
   */
  processBatch<E extends DecodedEvent>(
    events: E[],
    work: (manager: EntityManager, fresh: E[]) => Promise<void>,
  ): Promise<E[]> {
    return inTransaction(this.dataSource, (manager) => this.processBatchIn(manager, events, work));
  }

  async process(event: DecodedEvent, work: (manager: EntityManager) => Promise<void>): Promise<InboxOutcome> {
    return (await this.processBatch([event], (manager) => work(manager))).length ? 'applied' : 'duplicate';
  }

  /** `process` inside a transaction the caller holds and commits (one that spans several messages). */
  async processIn(
    manager: EntityManager,
    event: DecodedEvent,
    work: (manager: EntityManager) => Promise<void>,
  ): Promise<InboxOutcome> {
    return (await this.processBatchIn(manager, [event], (m) => work(m))).length ? 'applied' : 'duplicate';
  }

  private async processBatchIn<E extends DecodedEvent>(
    manager: EntityManager,
    events: E[],
    work: (manager: EntityManager, fresh: E[]) => Promise<void>,
  ): Promise<E[]> {
    const fresh = await this.unseen(events, manager);
    if (!fresh.length) return [];
    await manager.query('INSERT INTO inbox (consumer_group, event_id, event_type) VALUES ?', [
      fresh.map((e) => [this.consumerGroup, e.metadata.id, e.type]),
    ]);
    await work(manager, fresh);
    return fresh;
  }
}
