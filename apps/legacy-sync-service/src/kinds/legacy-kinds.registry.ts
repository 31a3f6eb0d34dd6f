import { Inject, Injectable, Provider, Type } from '@nestjs/common';
import { LegacyLink, LinkType } from '../links/legacy-link.entity';
import { CohortKind } from './cohort/cohort.kind';
import { LegacyKind, LegacyKindWrites, UserGroup } from './legacy-kind.port';
import { TeamKind } from './team/team.kind';
import { TrackKind } from './track/track.kind';

/** The adapters, one per kind: adding a kind is a folder under `kinds/` and a line here. */
export const LEGACY_KIND_ADAPTERS: Array<Type<LegacyKind> & { providers: Provider[] }> = [
  CohortKind,
  TeamKind,
  TrackKind,
];

export const LEGACY_KINDS = Symbol('LEGACY_KINDS');

/** Nest providers: each adapter and what it needs (its static `providers`), and the list of adapters the registry takes. */
export const legacyKindProviders: Provider[] = [
  ...LEGACY_KIND_ADAPTERS,
  ...LEGACY_KIND_ADAPTERS.flatMap((adapter) => adapter.providers),
  { provide: LEGACY_KINDS, useFactory: (...kinds: LegacyKind[]) => kinds, inject: LEGACY_KIND_ADAPTERS },
];

/** Which kind a link, a group or a membership change belongs to; the pipelines ask it, never the link's type. */
@Injectable()
export class LegacyKinds {
  private readonly byLinkType = new Map<LinkType, LegacyKind>();

  constructor(@Inject(LEGACY_KINDS) readonly all: LegacyKind[]) {
    for (const kind of all) for (const type of kind.linkTypes) this.byLinkType.set(type, kind);
  }

  /** The link types some kind owns (every other row of `legacy_link` is ignored). */
  get linkTypes(): LinkType[] {
    return [...this.byLinkType.keys()];
  }

  /** The link types reconciled on their own schedule (the run scope `teams`). */
  get scheduledLinkTypes(): LinkType[] {
    return this.all.filter((k) => k.reconciledOnItsOwn).flatMap((k) => [...k.linkTypes]);
  }

  of(link: Pick<LegacyLink, 'legacyType'>): LegacyKind | undefined {
    return this.byLinkType.get(link.legacyType);
  }

  /** The kind a new course group asks to mirror, and its criterion's config; undefined for a group that mirrors nothing. */
  forGroup(group: UserGroup): { kind: LegacyKind; config: string } | undefined {
    if (group.scope_type !== 'course') return undefined;
    for (const kind of this.all) {
      const criterion = group.criteria.find((c) => c.type === kind.criterion);
      if (criterion) return { kind, config: criterion.config };
    }
    return undefined;
  }

  /** The writing half of the link's kind, when this link is written to (not a read-only kind or link). */
  writesFor(link: Pick<LegacyLink, 'legacyType'>): LegacyKindWrites | undefined {
    const writes = this.of(link)?.writes;
    return writes?.writableLinkTypes.includes(link.legacyType) ? writes : undefined;
  }
}
