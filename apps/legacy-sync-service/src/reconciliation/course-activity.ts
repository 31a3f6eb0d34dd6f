import { EntityManager } from 'typeorm';

/** A course's activity is noted at most this often per process: ordering runs needs no finer grain. */
const EVERY_MS = 60_000;
const noted = new Map<string, number>();

/**
 * Notes that these courses saw changes now, so that a site-wide reconciliation takes them first.
 * At most once a minute per course and process: every batch of a busy course writing the same row
 * made the sync's transactions queue on its lock.
 */
export async function recordCourseActivity(manager: EntityManager, courses: Iterable<string>): Promise<void> {
  const now = Date.now();
  const keys = [...new Set(courses)].filter((c) => now - (noted.get(c) ?? 0) >= EVERY_MS);
  if (!keys.length) return;
  for (const c of keys) noted.set(c, now);
  if (noted.size > 100_000) noted.clear();
  await manager.query(
    `INSERT INTO course_reconciliation (course_key, last_activity_at) VALUES ${keys.map(() => '(?, NOW(6))').join(', ')}
     ON DUPLICATE KEY UPDATE last_activity_at = VALUES(last_activity_at)`,
    keys,
  );
}
