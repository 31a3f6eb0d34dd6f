import { DataSource, EntityManager } from 'typeorm';
import { isRetryableTransactionError } from './database-errors';

/**
 * Runs work in one transaction, running it again (up to 3 times) when MySQL picks it as a deadlock
 * victim: concurrent membership writes on the same rows can deadlock, and a retry is the cure.
 */
export async function inTransaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction(work);
    } catch (error) {
      if (attempt >= 3 || !isRetryableTransactionError(error)) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
    }
  }
}
