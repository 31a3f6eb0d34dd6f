import { Injectable } from '@nestjs/common';
import { LmsHttpError } from '../lms-http.error';

export interface EventFaultSettings {
  /** Share (0..1) of the LMS events not sent, at random. */
  drop_events_share: number;
  /** Learners (usernames, any case) whose events are not sent. */
  drop_events_for: string[];
  /** Learners whose add emits the event, then fails and rolls back (a phantom event). */
  rollback_after_emit_for: string[];
  /** Learners whose add fails (500) before anything happens: no event, no change (an LMS defect). */
  fail_adds_for: string[];
}

/**
 * Faults a test sets through /emulator/faults, so lost and phantom events can be made on purpose.
 * In memory, one set per process: a restart clears them.
 */
@Injectable()
export class EventFaults {
  private settings: EventFaultSettings = none();

  get(): EventFaultSettings {
    return {
      ...this.settings,
      drop_events_for: [...this.settings.drop_events_for],
      rollback_after_emit_for: [...this.settings.rollback_after_emit_for],
      fail_adds_for: [...this.settings.fail_adds_for],
    };
  }

  /** Replaces every setting; what the body leaves out is off. */
  set(body: Record<string, unknown>): EventFaultSettings {
    const share = body?.drop_events_share ?? 0;
    if (typeof share !== 'number' || !(share >= 0 && share <= 1))
      throw new LmsHttpError(400, { drop_events_share: ['A number from 0 to 1.'] });
    this.settings = {
      drop_events_share: share,
      drop_events_for: usernames(body, 'drop_events_for'),
      rollback_after_emit_for: usernames(body, 'rollback_after_emit_for'),
      fail_adds_for: usernames(body, 'fail_adds_for'),
    };
    return this.get();
  }

  clear(): void {
    this.settings = none();
  }

  dropsEventOf(username: string): boolean {
    return named(this.settings.drop_events_for, username) || Math.random() < this.settings.drop_events_share;
  }

  failsAdd(username: string): boolean {
    return named(this.settings.fail_adds_for, username);
  }

  rollsBackAfterEmit(username: string): boolean {
    return named(this.settings.rollback_after_emit_for, username);
  }
}

function none(): EventFaultSettings {
  return { drop_events_share: 0, drop_events_for: [], rollback_after_emit_for: [], fail_adds_for: [] };
}

function usernames(body: Record<string, unknown>, field: string): string[] {
  const value = body?.[field] ?? [];
  if (!Array.isArray(value) || value.some((u) => typeof u !== 'string'))
    throw new LmsHttpError(400, { [field]: ['A list of usernames.'] });
  return [...new Set(value as string[])];
}

/** Case-insensitively, as the LMS matches usernames (MySQL's collation). */
function named(list: string[], username: string): boolean {
  return list.some((u) => u.toLowerCase() === username.toLowerCase());
}
