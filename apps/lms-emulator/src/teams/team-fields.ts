import { LmsHttpError } from '../lms-http.error';
import { TeamFields } from './teams.service';

type FieldErrors = Record<string, { developer_message: string; user_message: string }>;

const LIMITS: Record<keyof TeamFields, number> = { name: 255, description: 300, country: 2, language: 16 };

/**
 * CourseTeamCreationSerializer / CourseTeamSerializer validation as add_serializer_errors reports
 * it: `{developer_message: "Value '<v>' is not valid for field '<f>': [<DRF errors>]", user_message}`.
 * `required` lists the fields a creation must have (name and description have no default).
 */
export function teamFieldErrors(
  data: Record<string, unknown>,
  fields: Array<keyof TeamFields>,
  required: Array<keyof TeamFields>,
): FieldErrors {
  const errors: FieldErrors = {};
  for (const field of fields) {
    const value = data[field];
    const problems: string[] = [];
    if (value === undefined || value === null) {
      if (required.includes(field))
        problems.push(value === null ? 'This field may not be null.' : 'This field is required.');
    } else if (typeof value !== 'string') {
      problems.push('Not a valid string.');
    } else if (field === 'country') {
      if (value && !/^[A-Z]{2}$/.test(value)) problems.push(`${value} is not a valid country code`);
    } else if (field === 'language') {
      if (value && !/^[a-z]{2,3}([_-][A-Za-z]{2,4})?$/.test(value)) problems.push(`"${value}" is not a valid choice.`);
    } else if (!value.trim()) {
      problems.push('This field may not be blank.');
    } else if (value.length > LIMITS[field]) {
      problems.push(`Ensure this field has no more than ${LIMITS[field]} characters.`);
    }
    if (problems.length) {
      errors[field] = {
        developer_message: `Value '${value ?? ''}' is not valid for field '${field}': [${problems.map((p) => `'${p}'`).join(', ')}]`,
        user_message: 'This value is invalid.',
      };
    }
  }
  return errors;
}

export function throwFieldErrors(errors: FieldErrors): void {
  if (Object.keys(errors).length) throw new LmsHttpError(400, { field_errors: errors });
}
