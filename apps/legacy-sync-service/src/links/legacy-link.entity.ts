import { Column, Entity, PrimaryColumn } from 'typeorm';
import { LegacyType } from '@groups-sync/contracts';

export type LinkState = 'pending' | 'linked' | 'rejected';
/** The LMS's legacy group types, and `teamset`: a read-only link to every team of a teamset. */
export type LinkType = LegacyType | 'teamset';

/** Which legacy group a User Group mirrors. */
@Entity('legacy_link')
export class LegacyLink {
  @PrimaryColumn({ name: 'group_id', type: 'char', length: 36 })
  groupId: string;

  @Column({ name: 'course_key', type: 'varchar', length: 255 })
  courseKey: string;

  @Column({ name: 'legacy_type', type: 'varchar', length: 32 })
  legacyType: LinkType;

  @Column({ name: 'legacy_id', type: 'varchar', length: 64, nullable: true })
  legacyId: string | null;

  /** The legacy group's name as the LMS last showed it (renamed there without an event; reconciliation reads it). */
  @Column({ name: 'legacy_name', type: 'varchar', length: 255, nullable: true })
  legacyName: string | null;

  /** The User Group's name (the cohort is renamed to follow it). */
  @Column({ name: 'group_name', type: 'varchar', length: 255 })
  groupName: string;

  @Column({ type: 'varchar', length: 16 })
  state: LinkState;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError: string | null;
}
