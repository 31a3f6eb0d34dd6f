import type { DataSource } from 'typeorm';

/**
 * `CHECKSUM TABLE` of every table of the data source's schema (but `except`), keyed by table:
 * equal before and after, a run of requests changed no row.
 */
export async function tableChecksums(db: DataSource, except: string[] = []): Promise<Record<string, string>> {
  const tables: string[] = (
    await db.query(
      `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name`,
    )
  )
    .map((t: { name: string }) => t.name)
    .filter((t: string) => !except.includes(t));
  const rows: Array<{ Table: string; Checksum: string | number | null }> = await db.query(
    `CHECKSUM TABLE ${tables.map((t) => `\`${t}\``).join(', ')}`,
  );
  return Object.fromEntries(rows.map((r) => [r.Table.slice(r.Table.indexOf('.') + 1), String(r.Checksum)]));
}
