// Open edX course keys: `course-v1:Org+Course+Run`, and the old slash form `Org/Course/Run`.
const PART = '[A-Za-z0-9_.~%-]+';
const COURSE_KEY = new RegExp(`^(course-v1:${PART}\\+${PART}\\+${PART}|${PART}/${PART}/${PART})$`);

export function isCourseKey(value: string): boolean {
  return value.length <= 255 && COURSE_KEY.test(value);
}
