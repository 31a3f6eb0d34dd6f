import { Injectable } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { HeldByOperatorError, metric } from '@groups-sync/messaging';

/** Every course: the row an operator's site-wide pause writes. */
export const ALL_COURSES = '*';
const CACHE_MS = 1000;

const paused = metric(
  'lms_writes_paused',
  () =>
    new Gauge({
      name: 'lms_writes_paused',
      help: 'Writes to the LMS paused by an operator (1), per course; "*" is every course',
      labelNames: ['course_key'],
    }),
);

export interface Pause {
  course_key: string;
  paused_by: string;
  paused_at: Date;
}

/** Thrown before a write to a paused course: the consumer waits (in order, no retry or outage budget spent) and changes queue in Kafka. */
export class LmsWritesPausedError extends HeldByOperatorError {
  constructor(courseKey: string) {
    super(`writes to the LMS are paused${courseKey === ALL_COURSES ? '' : ` for ${courseKey}`} (ugsync resume)`);
    this.name = 'LmsWritesPausedError';
  }
}

/**
 * Operators pause writing to the LMS (a maintenance window), for one course or all. Stored in the
 * database so every instance sees it within a second; read from a cache on the write path.
 */
@Injectable()
export class LmsWritePauses {
  private cache?: { at: number; pauses: Pause[] };

  constructor(private readonly dataSource: DataSource) {}

  async list(): Promise<Pause[]> {
    if (this.cache && Date.now() - this.cache.at < CACHE_MS) return this.cache.pauses;
    const pauses: Pause[] = await this.dataSource.query(
      'SELECT course_key, paused_by, paused_at FROM lms_write_pause ORDER BY course_key',
    );
    paused.reset();
    for (const p of pauses) paused.set({ course_key: p.course_key }, 1);
    this.cache = { at: Date.now(), pauses };
    return pauses;
  }

  async isPaused(courseKey: string): Promise<boolean> {
    return (await this.list()).some((p) => p.course_key === ALL_COURSES || p.course_key === courseKey);
  }

  async assertWritable(courseKey: string): Promise<void> {
    if (await this.isPaused(courseKey)) throw new LmsWritesPausedError(courseKey);
  }

  async pause(courseKey: string, by: string): Promise<void> {
    await this.dataSource.query(
      'INSERT INTO lms_write_pause (course_key, paused_by) VALUES (?, ?) ON DUPLICATE KEY UPDATE paused_by = VALUES(paused_by)',
      [courseKey, by],
    );
    this.cache = undefined;
  }

  /** Resumes one course, or (`ALL_COURSES`) lifts every pause. */
  async resume(courseKey: string): Promise<number> {
    const result =
      courseKey === ALL_COURSES
        ? await this.dataSource.query('DELETE FROM lms_write_pause')
        : await this.dataSource.query('DELETE FROM lms_write_pause WHERE course_key = ?', [courseKey]);
    this.cache = undefined;
    return result.affectedRows ?? 0;
  }
}
