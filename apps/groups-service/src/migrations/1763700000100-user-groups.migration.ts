import { MigrationInterface, QueryRunner } from 'typeorm';

export class UserGroups1763700000100 implements MigrationInterface {
  name = 'UserGroups1763700000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE user_group (
      id CHAR(36) NOT NULL,
      scope_type VARCHAR(16) NOT NULL,
      scope_key VARCHAR(255) NOT NULL,
      name VARCHAR(255) NOT NULL,
      description TEXT NOT NULL,
      kind VARCHAR(16) NOT NULL,
      enabled TINYINT(1) NOT NULL DEFAULT 1,
      frozen TINYINT(1) NOT NULL DEFAULT 0,
      refresh_cadence_seconds INT NULL,
      last_refreshed_at DATETIME(6) NULL,
      version INT NOT NULL DEFAULT 1,
      created_by VARCHAR(255) NULL,
      updated_by VARCHAR(255) NULL,
      created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      deleted_at DATETIME(6) NULL,
      -- Names are unique per scope among live groups; a deleted group frees its name (live_name is NULL then).
      live_name VARCHAR(255) AS (IF(deleted_at IS NULL, name, NULL)) STORED,
      PRIMARY KEY (id),
      UNIQUE KEY uq_user_group_scope_name (scope_type, scope_key, live_name),
      KEY ix_user_group_scope (scope_type, scope_key)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE criterion (
      id BIGINT NOT NULL AUTO_INCREMENT,
      group_id CHAR(36) NOT NULL,
      position TINYINT NOT NULL,
      type VARCHAR(64) NOT NULL,
      operator VARCHAR(16) NOT NULL,
      value JSON NULL,
      config JSON NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_criterion_position (group_id, position),
      KEY ix_criterion_type (type),
      CONSTRAINT fk_criterion_group FOREIGN KEY (group_id) REFERENCES user_group (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE membership (
      id BIGINT NOT NULL AUTO_INCREMENT,
      group_id CHAR(36) NOT NULL,
      user_id BIGINT NOT NULL,
      username VARCHAR(150) NOT NULL,
      active TINYINT(1) NOT NULL,
      joined_at DATETIME(6) NOT NULL,
      left_at DATETIME(6) NULL,
      origin VARCHAR(16) NOT NULL,
      changed_at DATETIME(6) NOT NULL,
      sync_state VARCHAR(16) NULL,
      sync_error TEXT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY uq_membership_group_user (group_id, user_id),
      -- Serves "every group a user is in" without touching other users' rows.
      KEY ix_membership_user (user_id, active, group_id),
      KEY ix_membership_group_active (group_id, active, user_id),
      CONSTRAINT fk_membership_group FOREIGN KEY (group_id) REFERENCES user_group (id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await q.query(`CREATE TABLE audit_event (
      id BIGINT NOT NULL AUTO_INCREMENT,
      group_id CHAR(36) NOT NULL,
      user_id BIGINT NULL,
      action VARCHAR(64) NOT NULL,
      actor VARCHAR(255) NULL,
      \`trigger\` VARCHAR(16) NOT NULL,
      correlation_id VARCHAR(64) NULL,
      details JSON NULL,
      at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
      PRIMARY KEY (id),
      KEY ix_audit_group (group_id, id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['audit_event', 'membership', 'criterion', 'user_group'])
      await q.query(`DROP TABLE IF EXISTS ${table}`);
  }
}
