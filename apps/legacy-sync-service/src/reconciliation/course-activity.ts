import { EntityManager } from 'typeorm';

/** Notes that these courses saw changes now: a site-wide reconciliation takes them first. One statement per batch. */
export async function recordCourseActivity(manager: EntityManager, courses: Iterable<string>): Promise<void> {
  const keys = [...new Set(courses)];
  if (!keys.length) return;
  await manager.query(
    `INSERT INTO course_reconciliation (course_key, last_activity_at) VALUES ${keys.map(() => '(?, NOW(6))').join(', ')}
     ON DUPLICATE KEY UPDATE last_activity_at = VALUES(last_activity_at)`, keys);
}
