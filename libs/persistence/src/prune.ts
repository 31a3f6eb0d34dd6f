import { DataSource } from 'typeorm';

/**
 * Deletes rows whose `column` is older than `age`, at most `limit` of them (small batches keep
 * locks short; the caller runs again later). Table and column are the caller's constants.
 */
export async function deleteOlderThan(
  dataSource: DataSource,
  table: string,
  column: string,
  age: { days: number } | { hours: number },
  limit = 10_000,
): Promise<number> {
  const [amount, unit] = 'days' in age ? [age.days, 'DAY'] : [age.hours, 'HOUR'];
  const result = await dataSource.query(`DELETE FROM ${table} WHERE ${column} < NOW(6) - INTERVAL ? ${unit} LIMIT ?`, [
    amount,
    limit,
  ]);
  return result.affectedRows ?? 0;
}
