import { Injectable, Provider } from '@nestjs/common';
import { LmsRejectedError } from '@groups-sync/lms-client';
import { LegacyLink } from '../../links/legacy-link.entity';
import { LmsEnrollmentsClient } from '../../lms/lms-enrollments.client';
import { KindRead, LegacyKind, LinkDecision, LmsMember, UserGroup } from '../legacy-kind.port';
import { EnrollmentEvents } from './enrollment.events';
import { trackRefusal } from './enrollment-tracks';
import { TrackRoster } from './track-roster';

type Linked = Extract<LinkDecision, { legacyId: string }>;

/**
 * Enrollment tracks, read-only: the learners of the course whose active enrollment has the track's
 * mode (credit counts as verified). Linking only checks the course offers the mode; the LMS cannot
 * delete a track, and nothing is ever written to it.
 */
@Injectable()
export class TrackKind implements LegacyKind {
  readonly legacyType = 'enrollment_track' as const;
  readonly linkTypes = ['enrollment_track'] as const;
  readonly criterion = 'legacy_enrollment_track';
  readonly events = new EnrollmentEvents();
  static readonly providers: Provider[] = [TrackRoster];

  constructor(
    private readonly enrollments: LmsEnrollmentsClient,
    private readonly roster: TrackRoster,
  ) {}

  /** Refused: a course the LMS does not know, a mode the course does not offer, credit (its learners are in verified). */
  async link(group: UserGroup, config: string): Promise<LinkDecision> {
    const mode = (JSON.parse(config || '{}') as { mode?: string }).mode ?? '';
    const refusal = trackRefusal(mode);
    if (refusal) return { linkType: 'enrollment_track', refusal };
    try {
      const modes = await this.enrollments.courseModes(group.scope_key);
      if (!modes.includes(mode)) {
        return {
          linkType: 'enrollment_track',
          refusal: `course ${group.scope_key} offers no "${mode}" mode (it offers ${modes.join(', ') || 'none'}): edx-platform has a track group only for the course's modes`,
        };
      }
      // Linking imports the track's learners at once (a reconciliation run of the group).
      return { linkType: 'enrollment_track', legacyId: mode, legacyName: mode, reportedId: mode, existed: true };
    } catch (error) {
      if (!(error instanceof LmsRejectedError)) throw error; // LMS down: retry with backoff
      // edx-platform answers 400 "No course found for course ID" for a course it does not know.
      const unknown = error.status === 404 || /no course found/i.test(error.message);
      return {
        linkType: 'enrollment_track',
        refusal: unknown ? `the LMS does not know course ${group.scope_key}: ${error.message}` : error.message,
      };
    }
  }

  mirroredBy(decision: Linked, group: UserGroup, holder: string): string {
    return `the ${decision.legacyId} track of ${group.scope_key} is mirrored by group ${holder} already: a track mirrors one group`;
  }

  takenMeanwhile(decision: Linked, group: UserGroup): string {
    return `the ${decision.legacyId} track of ${group.scope_key} is mirrored by another group already: a track mirrors one group`;
  }

  async readRosters(links: LegacyLink[]): Promise<KindRead> {
    const courses = new Map(
      (await this.roster.read([...new Set(links.map((l) => l.courseKey))])).map((t) => [t.courseKey, t]),
    );
    return {
      rosters: new Map(
        links.map((link) => {
          const course = courses.get(link.courseKey)!;
          return [
            link.groupId,
            course.found
              ? { members: course.tracks.get(link.legacyId!) ?? new Map<string, LmsMember>() }
              : {
                  members: null,
                  notFound: { kind: 'course_not_found', reason: `the LMS does not know course ${link.courseKey}` },
                },
          ];
        }),
      ),
    };
  }

  driftLabel(link: LegacyLink): string {
    return `${link.legacyId} track`;
  }
}
