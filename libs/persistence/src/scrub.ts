import { DataSource, EntityManager } from 'typeorm';

/** An identifier (a username, an email) and what replaces it. */
export interface Replacement {
  from: string;
  to: string;
}

/**
 * What a retired user's username and email become in our rows. Open edX keeps user ids and
 * replaces the rest (its `RETIRED_USERNAME_PREFIX`, `RETIRED_EMAIL_DOMAIN`); the LMS's own retired
 * username is a salted hash we cannot compute, so ours carries the id, which stays anyway.
 */
export function retiredIdentifiers(userId: number): { username: string; email: string } {
  return { username: `retired__user_${userId}`, email: `retired__user_${userId}@retired.invalid` };
}

const IDENTIFIER_CHAR = '[\\w.@+-]';

/**
 * In free text: replaces each identifier wherever it stands alone (not inside a longer username or
 * email), in any letter case, as the LMS matches usernames and emails. Longer identifiers go first,
 * so an email is replaced whole before the username it starts with.
 */
export function replaceIdentifiers(text: string, replacements: Replacement[]): string {
  let result = text;
  for (const { from, to } of [...replacements].sort((a, b) => b.from.length - a.from.length)) {
    if (!from) continue;
    const escaped = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    result = result.replace(new RegExp(`(?<!${IDENTIFIER_CHAR})${escaped}(?!${IDENTIFIER_CHAR})`, 'gi'), to);
  }
  return result;
}

/** In a field that holds one identifier (a username, an actor): the replacement if it is one, in any letter case. */
export function replaceIdentity(value: string, replacements: Replacement[]): string {
  return replacements.find((r) => r.from.toLowerCase() === value.toLowerCase())?.to ?? value;
}

/** JSON keys that hold one username or email, and keys that hold free text (errors, reasons), in our payloads and audit details. */
const IDENTITY_KEYS = new Set([
  'username',
  'email',
  'actor',
  'requested_by',
  'changed_by',
  'created_by',
  'updated_by',
  'paused_by',
]);
const TEXT_KEYS = new Set(['error', 'reason', 'outcome', 'message']);

/**
 * In a JSON document: identity keys equal to an identifier, and identifiers in free-text keys, at
 * any depth. Other values are left alone, so a username such as "api" never rewrites an `origin`.
 */
export function replaceInJson(value: unknown, replacements: Replacement[], key?: string): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && IDENTITY_KEYS.has(key)) return replaceIdentity(value, replacements);
    if (key !== undefined && TEXT_KEYS.has(key)) return replaceIdentifiers(value, replacements);
    return value;
  }
  if (Array.isArray(value)) return value.map((v) => replaceInJson(v, replacements, key));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceInJson(v, replacements, k)]));
  return value;
}

/** `identity`: the column holds one username or email; `text`: free text; `json`: a JSON document. */
export interface ScrubColumn {
  name: string;
  kind: 'identity' | 'text' | 'json';
}

export interface ScrubTarget {
  table: string;
  /** A unique key, a column or an expression (rows are paged through in its order). */
  key: string;
  columns: ScrubColumn[];
  /** The rows to look at; by default those whose columns contain an identifier (a case-insensitive scan). */
  where?: { sql: string; params: unknown[] };
}

const PAGE = 500;

function scrubbed(column: ScrubColumn, value: unknown, replacements: Replacement[]): unknown {
  if (value === null || value === undefined) return undefined;
  if (column.kind === 'json') {
    const doc = typeof value === 'string' ? JSON.parse(value) : value;
    const next = replaceInJson(doc, replacements);
    return JSON.stringify(next) === JSON.stringify(doc) ? undefined : JSON.stringify(next);
  }
  const text = String(value);
  const next =
    column.kind === 'identity' ? replaceIdentity(text, replacements) : replaceIdentifiers(text, replacements);
  return next === text ? undefined : next;
}

/**
 * Rewrites the rows of `target` that hold one of the identifiers. This is for rare work such as
 * retiring a user, never for a request's path: without `where` it scans the table. `range` bounds
 * the keys, so a caller can scan most of a table outside its transaction and the rest inside it.
 * Table, key and column names are the caller's constants. Answers how many rows changed.
 */
export async function scrubRows(
  db: DataSource | EntityManager,
  target: ScrubTarget,
  replacements: Replacement[],
  range: { above?: string | number; upTo?: string | number } = {},
): Promise<number> {
  const needles = [...new Set(replacements.map((r) => r.from.toLowerCase()).filter(Boolean))];
  if (!needles.length) return 0;
  const match = target.where ?? {
    sql: target.columns
      .flatMap((c) => needles.map(() => `LOWER(CAST(${c.name} AS CHAR)) LIKE ? ESCAPE '!'`))
      .join(' OR '),
    params: target.columns.flatMap(() => needles.map((n) => `%${n.replace(/[!%_]/g, (ch) => `!${ch}`)}%`)),
  };
  let changed = 0;
  let after = range.above;
  for (;;) {
    const bounds: Array<[string, unknown]> = [];
    if (after !== undefined) bounds.push([`${target.key} > ?`, after]);
    if (range.upTo !== undefined) bounds.push([`${target.key} <= ?`, range.upTo]);
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${target.key} AS scrub_key, ${target.columns.map((c) => c.name).join(', ')} FROM ${target.table}
       WHERE ${[...bounds.map(([sql]) => sql), `(${match.sql})`].join(' AND ')} ORDER BY ${target.key} LIMIT ${PAGE}`,
      [...bounds.map(([, v]) => v), ...match.params],
    );
    for (const row of rows) {
      const set = target.columns.flatMap((c) => {
        const value = scrubbed(c, row[c.name], replacements);
        return value === undefined ? [] : [[c.name, value] as const];
      });
      if (!set.length) continue;
      await db.query(`UPDATE ${target.table} SET ${set.map(([c]) => `${c} = ?`).join(', ')} WHERE ${target.key} = ?`, [
        ...set.map(([, v]) => v),
        row.scrub_key,
      ]);
      changed++;
    }
    if (rows.length < PAGE) return changed;
    after = rows[rows.length - 1].scrub_key as string | number;
  }
}

/** The largest key of a table (0 when empty): where a scan outside a transaction stops and the one inside starts. */
export async function maxKey(db: DataSource | EntityManager, table: string, key = 'id'): Promise<number> {
  const [row] = await db.query(`SELECT COALESCE(MAX(${key}), 0) AS k FROM ${table}`);
  return Number(row.k);
}
