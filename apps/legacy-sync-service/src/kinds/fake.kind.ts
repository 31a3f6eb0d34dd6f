import { LegacyLink } from '../links/legacy-link.entity';
import { KindRead, LegacyKind, LegacyKindWrites, LinkDecision, LinkRoster, LmsChange } from './legacy-kind.port';

/**
 * A kind for the pipelines' specs: link type `cohort` (written to) and `teamset` (read-only); what
 * it reads and how the LMS answers are set by the spec.
 */
export class FakeKind implements LegacyKind, LegacyKindWrites {
  readonly legacyType = 'cohort' as const;
  readonly linkTypes = ['cohort', 'teamset'] as const;
  readonly writableLinkTypes = ['cohort'] as const;
  readonly criterion = 'legacy_fake';
  readonly addMovesWithinCourse = false;
  readonly writes = this;
  /** By group id. */
  rosters = new Map<string, LinkRoster>();
  /** The outcome the LMS gives each change; throws for an LMS that is down. */
  answer: (change: LmsChange) => LmsChange['outcome'] = () => ({ status: 'synced', error: null, echoExpected: true });
  readonly sent: LmsChange[][] = [];

  async link(): Promise<LinkDecision> {
    return { linkType: 'cohort', legacyId: '1', legacyName: 'one', reportedId: '1', existed: true };
  }

  mirroredBy(): string {
    return 'mirrored';
  }

  takenMeanwhile(): string {
    return 'taken';
  }

  /** One call for all the adds, one for all the removals. */
  calls(adds: LmsChange[], removals: LmsChange[]): Array<() => Promise<void>> {
    return [adds, removals]
      .filter((c) => c.length)
      .map((changes) => async () => {
        this.sent.push(changes);
        for (const c of changes) c.outcome = this.answer(c);
      });
  }

  async readRosters(links: LegacyLink[]): Promise<KindRead> {
    return { rosters: new Map(links.map((l) => [l.groupId, this.rosters.get(l.groupId)!])) };
  }

  driftLabel(): string {
    return 'fake';
  }
}
