import { EntityManager } from 'typeorm';

/**
 * A column filled per row from the JSON rows: its name and the SQL type JSON_TABLE reads it as.
 * Give strings `TEXT`, not the table's `VARCHAR(n)`: JSON_TABLE cuts a longer value to n with a
 * mere warning, while the table's own column, in strict mode, rejects it.
 */
export type JsonColumn = [name: string, type: string];

/**
 * Inserts many rows as one JSON parameter, `INSERT ... SELECT ... FROM JSON_TABLE(?)` (MariaDB
 * 10.6+, MySQL 8): the server reads the rows from one string instead of parsing a statement of
 * thousands of placeholders, and the client escapes one string instead of every value. Measured
 * on 100,000 memberships: a third less time than multi-row VALUES. `same` holds the values every
 * row shares (bound once); `rows` holds the others, in `columns` order. Table and column names are
 * the caller's constants.
 */
export async function insertJsonRows(
  manager: EntityManager,
  table: string,
  same: Record<string, unknown>,
  columns: JsonColumn[],
  rows: unknown[][],
): Promise<void> {
  if (!rows.length) return;
  const shared = Object.keys(same);
  const names = [...shared, ...columns.map(([name]) => name)].map((name) => `\`${name}\``).join(', ');
  const select = [...shared.map(() => '?'), ...columns.map(([name]) => `j.\`${name}\``)].join(', ');
  const paths = columns.map(([name, type], i) => `\`${name}\` ${type} PATH '$[${i}]'`).join(', ');
  await manager.query(
    `INSERT INTO ${table} (${names}) SELECT ${select} FROM JSON_TABLE(?, '$[*]' COLUMNS (${paths})) j`,
    [...Object.values(same), JSON.stringify(rows)],
  );
}
