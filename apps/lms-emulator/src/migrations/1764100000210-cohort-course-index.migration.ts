import { MigrationInterface, QueryRunner } from 'typeorm';

/** edx-platform indexes CourseUserGroup.course_id (`CourseKeyField(db_index=True)`); reads of a course's cohorts rely on it. */
export class CohortCourseIndex1764100000210 implements MigrationInterface {
  name = 'CohortCourseIndex1764100000210';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      'ALTER TABLE course_groups_courseusergroup ADD KEY course_groups_courseusergroup_course_id (course_id)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE course_groups_courseusergroup DROP KEY course_groups_courseusergroup_course_id');
  }
}
