import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { CriterionTypesAnnouncedData, CriterionTypeSpec, installedCatalogue } from '@groups-sync/contracts';

type Announcement = CriterionTypesAnnouncedData['announcement'];

export interface InstalledCriterionTypes {
  catalogue: Record<string, CriterionTypeSpec>;
  /** When the evaluator announced these types; null until one has (the built-in types are assumed). */
  announcedAt: Date | null;
  loadErrors: Announcement['load_errors'];
}

/**
 * The criterion types groups accept are the ones an evaluator has installed, not a list compiled in
 * here: each evaluator announces its built-ins and plugins when it starts, and the newest
 * announcement wins. A type that is no longer installed is refused for new criteria; groups that
 * already use it show the evaluator's error instead of losing their members.
 */
@Injectable()
export class CriterionCatalogue {
  constructor(private readonly dataSource: DataSource) {}

  /** Keeps an announcement unless a newer one from the same source is kept already. */
  async record(manager: EntityManager, announcement: Announcement): Promise<boolean> {
    const result = await manager.query(
      `INSERT INTO criterion_type_announcement (source, announced_at, types, load_errors, received_at) VALUES (?, ?, ?, ?, NOW(6))
       ON DUPLICATE KEY UPDATE types = IF(VALUES(announced_at) >= announced_at, VALUES(types), types),
         load_errors = IF(VALUES(announced_at) >= announced_at, VALUES(load_errors), load_errors),
         received_at = IF(VALUES(announced_at) >= announced_at, VALUES(received_at), received_at),
         announced_at = GREATEST(announced_at, VALUES(announced_at))`,
      [
        announcement.source,
        new Date(announcement.announced_at),
        JSON.stringify(announcement.types),
        JSON.stringify(announcement.load_errors),
      ],
    );
    return result.affectedRows > 0;
  }

  async installed(manager: EntityManager = this.dataSource.manager): Promise<InstalledCriterionTypes> {
    const [row] = (await manager.query(
      'SELECT announced_at, types, load_errors FROM criterion_type_announcement ORDER BY announced_at DESC LIMIT 1',
    )) as Array<{ announced_at: Date; types: string; load_errors: string }>;
    if (!row) return { catalogue: installedCatalogue(null), announcedAt: null, loadErrors: [] };
    return {
      catalogue: installedCatalogue(JSON.parse(row.types)),
      announcedAt: row.announced_at,
      loadErrors: JSON.parse(row.load_errors),
    };
  }
}
