import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The legacy group's own name on links; reconciliation runs and their differences, per-course reconciliation state, LMS write pauses,
 * operators' actions on dead letters; and one group per linked cohort (a unique key).
 */
export class Reconciliation1764100000300 implements MigrationInterface {
  name = 'Reconciliation1764100000300';

  async up(q: QueryRunner): Promise<void> {
    // Links made before the unique key: the oldest group keeps the cohort, later ones are rejected.
    await q.query(`UPDATE legacy_link l JOIN legacy_link first
        ON first.course_key = l.course_key AND first.legacy_type = l.legacy_type AND first.legacy_id = l.legacy_id
        AND (first.created_at < l.created_at OR (first.created_at = l.created_at AND first.group_id < l.group_id))
      SET l.state = 'rejected', l.last_error = CONCAT('cohort ', l.legacy_id, ' is linked to group ', first.group_id, ' already'), l.legacy_id = NULL`);
    await q.query(
      'ALTER TABLE legacy_link DROP KEY ix_legacy_link_legacy, ADD UNIQUE KEY uq_legacy_link_legacy (course_key, legacy_type, legacy_id)',
    );
    // The cohort's name as the LMS last showed it (a rename there has no event): until now the group's name stood for it.
    await q.query('ALTER TABLE legacy_link ADD COLUMN legacy_name VARCHAR(255) NULL AFTER legacy_id');
    await q.query('UPDATE legacy_link SET legacy_name = group_name WHERE legacy_id IS NOT NULL');
    await q.query(`CREATE TABLE reconciliation_run (
      id CHAR(36) NOT NULL,
      scope_type VARCHAR(16) NOT NULL,
      scope_key VARCHAR(255) NULL,
      dry_run TINYINT(1) NOT NULL,
      trigger_kind VARCHAR(16) NOT NULL,
      requested_by VARCHAR(255) NOT NULL,
      status VARCHAR(16) NOT NULL,
      source VARCHAR(16) NULL,
      progress_done INT NOT NULL DEFAULT 0,
      progress_total INT NOT NULL DEFAULT 0,
      summary LONGTEXT NULL,
      error TEXT NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      started_at DATETIME(6) NULL,
      heartbeat_at DATETIME(6) NULL,
      finished_at DATETIME(6) NULL,
      PRIMARY KEY (id),
      KEY ix_run_status (status, created_at),
      KEY ix_run_created (created_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE reconciliation_difference (
      id BIGINT NOT NULL AUTO_INCREMENT,
      run_id CHAR(36) NOT NULL,
      course_key VARCHAR(255) NOT NULL,
      group_id CHAR(36) NULL,
      user_id BIGINT NULL,
      username VARCHAR(150) NULL,
      side VARCHAR(16) NOT NULL,
      kind VARCHAR(40) NOT NULL,
      reason VARCHAR(500) NOT NULL,
      action VARCHAR(32) NOT NULL,
      outcome VARCHAR(255) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_difference_run (run_id, id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE course_reconciliation (
      course_key VARCHAR(255) NOT NULL,
      last_activity_at DATETIME(6) NULL,
      last_run_id CHAR(36) NULL,
      last_success_at DATETIME(6) NULL,
      PRIMARY KEY (course_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE lms_write_pause (
      course_key VARCHAR(255) NOT NULL,
      paused_by VARCHAR(255) NOT NULL,
      paused_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (course_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE dead_letter_action (
      id BIGINT NOT NULL AUTO_INCREMENT,
      dead_letter_id VARCHAR(320) NOT NULL,
      consumer_group VARCHAR(255) NOT NULL,
      event_type VARCHAR(255) NULL,
      ce_id VARCHAR(64) NULL,
      action VARCHAR(16) NOT NULL,
      actor VARCHAR(255) NOT NULL,
      outcome VARCHAR(500) NOT NULL,
      at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (id),
      KEY ix_dead_letter_action (dead_letter_id, id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'dead_letter_action',
      'lms_write_pause',
      'course_reconciliation',
      'reconciliation_difference',
      'reconciliation_run',
    ])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query(
      'ALTER TABLE legacy_link DROP COLUMN legacy_name, DROP KEY uq_legacy_link_legacy, ADD KEY ix_legacy_link_legacy (course_key, legacy_type, legacy_id)',
    );
  }
}
