import { Injectable } from '@nestjs/common';
import { LmsEmulatorConfig } from '../lms-emulator.config';
import { LmsHttpError } from '../lms-http.error';

export interface EmulatorSwitchSettings {
  /** Send the proposed team membership events (off: the LMS sends none). */
  emit_team_events: boolean;
  /** Send the proposed cohort removal event, as with the companion plugin (off: the LMS sends none). */
  emit_cohort_removal_events: boolean;
  /** The teams API also takes `JWT` tokens (ADR 0034's target); off: opaque Bearer tokens only, as today. */
  teams_api_accepts_jwt: boolean;
}

/**
 * Behaviour an operator would configure on a real LMS, switchable at run time through
 * /emulator/settings (PUT replaces them all, DELETE restores the environment's values). In memory,
 * per process, like the event faults.
 */
@Injectable()
export class EmulatorSwitches {
  private settings: EmulatorSwitchSettings;

  constructor(private readonly config: LmsEmulatorConfig) {
    this.settings = this.defaults();
  }

  get(): EmulatorSwitchSettings {
    return { ...this.settings };
  }

  /** Replaces every switch; what the body leaves out takes its environment value. */
  set(body: Record<string, unknown>): EmulatorSwitchSettings {
    const next = this.defaults();
    for (const key of Object.keys(next) as Array<keyof EmulatorSwitchSettings>) {
      if (body?.[key] === undefined) continue;
      if (typeof body[key] !== 'boolean') throw new LmsHttpError(400, { [key]: ['Must be a valid boolean.'] });
      next[key] = body[key] as boolean;
    }
    this.settings = next;
    return this.get();
  }

  clear(): void {
    this.settings = this.defaults();
  }

  private defaults(): EmulatorSwitchSettings {
    return {
      emit_team_events: this.config.EMIT_TEAM_EVENTS,
      emit_cohort_removal_events: this.config.EMIT_COHORT_REMOVAL_EVENTS,
      teams_api_accepts_jwt: this.config.TEAMS_API_ACCEPTS_JWT,
    };
  }
}
