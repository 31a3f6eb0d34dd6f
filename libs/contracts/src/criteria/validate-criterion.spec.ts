import { CRITERION_TYPES } from './criterion-types';
import { validateCriterion } from './validate-criterion';

describe('validateCriterion', () => {
  it.each([
    [{ type: 'last_login', operator: '<=', value: 30 }, 'instance'],
    [{ type: 'enrollment_mode', operator: 'in', value: ['verified', 'credit'] }, 'course'],
    [{ type: 'enrollment_date', operator: '>=', value: '2026-09-01' }, 'course'],
    [{ type: 'country', operator: 'exists' }, 'org'],
    [{ type: 'language', operator: '=', value: 'pt-BR' }, 'course'],
    [{ type: 'is_staff', operator: '=', value: false }, 'instance'],
    [{ type: 'course_grade', operator: '>', value: 79.5 }, 'course'],
    [{ type: 'legacy_cohort', config: {} }, 'course'],
    [{ type: 'legacy_cohort', config: { cohort_id: 12 } }, 'course'],
    [{ type: 'legacy_team', config: { teamset_id: 'projects' } }, 'course'],
    [{ type: 'legacy_enrollment_track', config: { mode: 'verified' } }, 'course'],
  ] as const)('accepts %j in %s scope', (input, scope) => {
    expect(validateCriterion(input, scope)).toEqual([]);
  });

  it.each([
    [{ type: 'favourite_colour', value: 'blue' }, 'course', 'criteria[0].type', 'unknown criterion type'],
    [{ type: 'course_grade', operator: '>', value: 50 }, 'org', 'criteria[0].type', 'not available for org scope'],
    [{ type: 'is_staff', operator: '>', value: true }, 'course', 'criteria[0].operator', 'is_staff allows = !='],
    [{ type: 'last_login', operator: '<', value: -1 }, 'course', 'criteria[0].value', 'whole number of days'],
    [{ type: 'course_grade', operator: '>', value: '80' }, 'course', 'criteria[0].value', 'number from 0 to 100'],
    [{ type: 'country', operator: 'in', value: ['FR', 'france'] }, 'course', 'criteria[0].value[1]', 'ISO 3166-1'],
    [{ type: 'country', operator: 'in', value: [] }, 'course', 'criteria[0].value', 'list of 1 to 100'],
    [{ type: 'country', operator: 'exists', value: 'FR' }, 'course', 'criteria[0].value', 'takes no value'],
    [{ type: 'enrollment_date', operator: '=', value: '01/09/2026' }, 'course', 'criteria[0].value', 'ISO 8601'],
    [{ type: 'legacy_cohort', config: { cohort_id: 'twelve' } }, 'course', 'criteria[0].config.cohort_id', 'positive integer'],
    [{ type: 'legacy_cohort', config: { cohort: 1 } }, 'course', 'criteria[0].config.cohort', 'unknown field'],
    [{ type: 'legacy_team', config: { team_id: 'a', teamset_id: 'b' } }, 'course', 'criteria[0].config', 'exactly one of team_id, teamset_id'],
    [{ type: 'legacy_enrollment_track', config: { mode: 'gold' } }, 'course', 'criteria[0].config.mode', 'expected one of'],
    [{ type: 'legacy_cohort', config: {} }, 'instance', 'criteria[0].type', 'not available for instance scope'],
    [{ type: 'last_login', operator: '<', value: 3, config: { x: 1 } }, 'course', 'criteria[0].config', 'takes no config'],
  ] as const)('refuses %j in %s scope, naming %s', (input, scope, field, message) => {
    const errors = validateCriterion(input, scope);
    expect(errors).toContainEqual({ field, message: expect.stringContaining(message) });
  });

  it('gives every selecting type a refresh cadence and every legacy type none', () => {
    for (const spec of Object.values(CRITERION_TYPES)) {
      expect(spec.scopes.length).toBeGreaterThan(0);
      expect(spec.operators.length).toBeGreaterThan(0);
      if (spec.legacy) expect(spec.defaultRefreshSeconds).toBeNull();
      else expect(spec.defaultRefreshSeconds).toBeGreaterThan(0);
    }
  });
});
