import { Injectable } from '@nestjs/common';
import { LmsCohortsClient } from '../../lms/lms-cohorts.client';

/**
 * Cohort name → id per course. The LMS's cohort event carries only the name, so we ask the cohorts
 * API, and ask again on a miss (a cohort created or renamed since).
 */
@Injectable()
export class CohortDirectory {
  private readonly byCourse = new Map<string, Map<string, number>>();

  constructor(private readonly lms: LmsCohortsClient) {}

  async idByName(courseKey: string, name: string): Promise<number | null> {
    const known = this.byCourse.get(courseKey)?.get(name);
    if (known !== undefined) return known;
    await this.refresh(courseKey);
    return this.byCourse.get(courseKey)?.get(name) ?? null;
  }

  remember(courseKey: string, name: string, id: number): void {
    if (!this.byCourse.has(courseKey)) this.byCourse.set(courseKey, new Map());
    this.byCourse.get(courseKey)!.set(name, id);
  }

  /** The course's cohorts as just read from the LMS (reconciliation): a rename replaces the old name. */
  replace(courseKey: string, cohorts: Array<{ id: number; name: string }>): void {
    this.byCourse.set(courseKey, new Map(cohorts.map((c) => [c.name, c.id])));
  }

  private async refresh(courseKey: string): Promise<void> {
    const cohorts = await this.lms.listCohorts(courseKey);
    this.byCourse.set(courseKey, new Map(cohorts.map((c) => [c.name, c.id])));
  }
}
