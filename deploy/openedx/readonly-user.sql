-- A read-only MySQL user on the LMS's database (edxapp), for the services' LMS_DB_URL:
--   legacy-sync-service: cohorts and teams (reconciliation), course roles (who may manage groups);
--   groups-service: course roles, and the reruns Studio finished (its groups carry over);
--   evaluator-service: the learner data its built-in criteria read.
-- An analytics replica will do. Run as an administrator of the LMS's MySQL; change the password.
CREATE USER IF NOT EXISTS 'groups_sync_reader'@'%' IDENTIFIED BY 'change-me';
GRANT SELECT ON edxapp.auth_user TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.auth_userprofile TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.student_courseaccessrole TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.student_courseenrollment TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.course_groups_courseusergroup TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.course_groups_cohortmembership TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.course_groups_coursecohort TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.course_groups_coursecohortssettings TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.teams_courseteam TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.teams_courseteammembership TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.user_api_userpreference TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.grades_persistentcoursegrade TO 'groups_sync_reader'@'%';
GRANT SELECT ON edxapp.course_action_state_coursererunstate TO 'groups_sync_reader'@'%';
-- On a replica: lets the services ask how far behind the primary it is (SHOW REPLICA STATUS), so
-- their reads are dated by what it has applied. MySQL: REPLICATION CLIENT; MariaDB 10.5.9+: SLAVE
-- MONITOR (use that line instead). Without it they assume LMS_DB_ASSUMED_LAG_SECONDS (30 s).
GRANT REPLICATION CLIENT ON *.* TO 'groups_sync_reader'@'%';
