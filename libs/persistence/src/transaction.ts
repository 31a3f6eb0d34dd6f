import { DataSource, EntityManager } from 'typeorm';
import { isRetryableTransactionError } from './database-errors';

/**
 * Runs work in one transaction at READ COMMITTED, running it again (up to 3 times) when MySQL picks
 * it as a deadlock victim. READ COMMITTED (Django's default for MySQL, so edx-platform's too) takes
 * no gap locks: at REPEATABLE READ, batches adding new memberships for the same learners to
 * different groups deadlocked on the gaps their locking reads had taken. Writers still serialize on
 * the group rows they lock, and unique keys still hold.
 */
export async function inTransaction<T>(
  dataSource: DataSource,
  work: (manager: EntityManager) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await dataSource.transaction('READ COMMITTED', work);
    } catch (error) {
      if (attempt >= 3 || !isRetryableTransactionError(error)) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt + Math.random() * 30));
    }
  }
}
