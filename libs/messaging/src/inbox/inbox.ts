import { DataSource, EntityManager } from 'typeorm';
import { DecodedEvent } from '@groups-sync/contracts';
import { inTransaction, isDuplicateKeyError } from '@groups-sync/persistence';
import { InboxEntry } from './inbox-entry.entity';

export type InboxOutcome = 'applied' | 'duplicate';

/**
 * Applies an event at most once per consumer group: the `(consumer group, ce_id)` row and the
 * effect commit together, so a redelivered event finds its row and does nothing.
 */
export class Inbox {
  constructor(private readonly dataSource: DataSource, private readonly consumerGroup: string) {}

  /**
   * Whether this event was applied already. A read outside the transaction, for handlers that call
   * another system before `process`: a redelivery then skips the call too. `process` still decides.
   */
  async seen(event: DecodedEvent): Promise<boolean> {
    return (await this.dataSource.getRepository(InboxEntry).countBy({ consumerGroup: this.consumerGroup, eventId: event.metadata.id })) > 0;
  }

  process(event: DecodedEvent, work: (manager: EntityManager) => Promise<void>): Promise<InboxOutcome> {
    return inTransaction(this.dataSource, async (manager) => {
      try {
        await manager.insert(InboxEntry, { consumerGroup: this.consumerGroup, eventId: event.metadata.id, eventType: event.type });
      } catch (error) {
        if (isDuplicateKeyError(error)) return 'duplicate';
        throw error;
      }
      await work(manager);
      return 'applied';
    });
  }
}
