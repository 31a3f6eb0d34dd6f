-- The services' schemas and MySQL users, for deploy/docker-compose.production.yml. Run once as an
-- administrator of the operator's MySQL, with passwords of your own (each URL goes in deploy/secrets/):
--   groups_sync_migrator     -> migrator_mysql_url         (the migrate step: DDL on the three schemas)
--   groups_sync_groups       -> groups_service_mysql_url   (groups-service: rows of its schema only)
--   groups_sync_legacy_sync  -> legacy_sync_mysql_url      (legacy-sync-service)
--   groups_sync_evaluator    -> evaluator_mysql_url        (evaluator-service)
-- A service's user cannot change a schema, or read another service's: a leaked password, or an
-- injection, reaches one service's rows and no table definition. Schema names are the services'
-- DB_NAME; change both together.
CREATE DATABASE IF NOT EXISTS `groups_service` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS `legacy_sync` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE IF NOT EXISTS `evaluator` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE USER IF NOT EXISTS 'groups_sync_migrator'@'%' IDENTIFIED BY 'change-me-migrator';
CREATE USER IF NOT EXISTS 'groups_sync_groups'@'%' IDENTIFIED BY 'change-me-groups';
CREATE USER IF NOT EXISTS 'groups_sync_legacy_sync'@'%' IDENTIFIED BY 'change-me-legacy-sync';
CREATE USER IF NOT EXISTS 'groups_sync_evaluator'@'%' IDENTIFIED BY 'change-me-evaluator';

-- The migrator: what TypeORM's migrations do (tables, columns, indexes, foreign keys) and its migrations table.
GRANT CREATE, ALTER, DROP, INDEX, REFERENCES, SELECT, INSERT, UPDATE, DELETE ON `groups_service`.* TO 'groups_sync_migrator'@'%';
GRANT CREATE, ALTER, DROP, INDEX, REFERENCES, SELECT, INSERT, UPDATE, DELETE ON `legacy_sync`.* TO 'groups_sync_migrator'@'%';
GRANT CREATE, ALTER, DROP, INDEX, REFERENCES, SELECT, INSERT, UPDATE, DELETE ON `evaluator`.* TO 'groups_sync_migrator'@'%';

-- Each service: rows of its own schema, nothing else.
GRANT SELECT, INSERT, UPDATE, DELETE ON `groups_service`.* TO 'groups_sync_groups'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON `legacy_sync`.* TO 'groups_sync_legacy_sync'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE ON `evaluator`.* TO 'groups_sync_evaluator'@'%';
