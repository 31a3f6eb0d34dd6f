import type { DataSource } from 'typeorm';

/**
 * Every row of every table of the data source's schema whose text or JSON columns contain `needle`
 * (any letter case), counted per table: what a test asserts is gone, e.g. a retired user's name.
 */
export async function rowsContaining(db: DataSource, needle: string): Promise<Record<string, number>> {
  const columns: Array<{ table_name: string; column_name: string }> = await db.query(
    `SELECT table_name AS table_name, column_name AS column_name FROM information_schema.columns
     WHERE table_schema = DATABASE() AND data_type IN ('char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'json')`,
  );
  const byTable = new Map<string, string[]>();
  for (const c of columns) byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), c.column_name]);
  const found: Record<string, number> = {};
  for (const [table, cols] of byTable) {
    const [{ n }] = await db.query(
      `SELECT COUNT(*) AS n FROM \`${table}\` WHERE ${cols.map((c) => `LOWER(CAST(\`${c}\` AS CHAR)) LIKE ?`).join(' OR ')}`,
      cols.map(() => `%${needle.toLowerCase()}%`),
    );
    if (Number(n)) found[table] = Number(n);
  }
  return found;
}
