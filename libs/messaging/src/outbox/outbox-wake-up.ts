import {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';

/**
 * Wakes the relay (`notify`) once outbox rows are committed, never before: at once for rows written
 * outside a transaction (their statement committed them), else when the transaction that wrote them
 * commits. A rollback wakes nobody; rows rolled back to a savepoint may wake the relay for nothing
 * at the commit, which costs one empty read. A TypeORM subscriber of the service's DataSource.
 */
export class OutboxWakeUp implements EntitySubscriberInterface {
  /** Transactions that wrote outbox rows and have not ended yet. */
  private readonly pending = new WeakSet<QueryRunner>();

  constructor(private readonly notify: () => void) {}

  /** Hears the commits and rollbacks of `dataSource`'s transactions. */
  watch(dataSource: DataSource): this {
    if (!dataSource.subscribers.includes(this)) dataSource.subscribers.push(this);
    return this;
  }

  /** Called by the OutboxWriter after it wrote rows through `manager`. */
  written(manager: EntityManager): void {
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) this.pending.add(runner);
    else this.notify();
  }

  afterTransactionCommit({ queryRunner }: TransactionCommitEvent): void {
    // A released savepoint is not the commit: the transaction is still open.
    if (!queryRunner.isTransactionActive && this.pending.delete(queryRunner)) this.notify();
  }

  afterTransactionRollback({ queryRunner }: TransactionRollbackEvent): void {
    if (!queryRunner.isTransactionActive) this.pending.delete(queryRunner);
  }
}
