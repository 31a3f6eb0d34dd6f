import { fromAnnouncedType, installedCatalogue, toAnnouncedType } from './criterion-announcement';
import { CRITERION_TYPES, CriterionTypeSpec } from './criterion-types';
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
    [{ type: 'days_since_last_activity', operator: '>', value: 14 }, 'course'],
    [{ type: 'days_since_last_activity', operator: '=', value: 0 }, 'course'],
    [{ type: 'legacy_cohort', config: {} }, 'course'],
    [{ type: 'legacy_cohort', config: { cohort_id: 12 } }, 'course'],
    [{ type: 'legacy_team', config: { teamset_id: 'projects' } }, 'course'],
    [{ type: 'legacy_team', config: { teamset_id: 'projects', whole_teamset: true } }, 'course'],
    [{ type: 'legacy_team', config: { team_id: 'red-1a2b' } }, 'course'],
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
    [
      { type: 'legacy_cohort', config: { cohort_id: 'twelve' } },
      'course',
      'criteria[0].config.cohort_id',
      'positive integer',
    ],
    [{ type: 'legacy_cohort', config: { cohort: 1 } }, 'course', 'criteria[0].config.cohort', 'unknown field'],
    [
      { type: 'legacy_team', config: { team_id: 'a', teamset_id: 'b' } },
      'course',
      'criteria[0].config',
      'exactly one of team_id, teamset_id',
    ],
    [
      { type: 'legacy_enrollment_track', config: { mode: 'gold' } },
      'course',
      'criteria[0].config.mode',
      'expected one of',
    ],
    [
      { type: 'legacy_team', config: { team_id: 'red-1a2b', whole_teamset: true } },
      'course',
      'criteria[0].config.whole_teamset',
      'needs teamset_id',
    ],
    [
      { type: 'legacy_team', config: { teamset_id: 'projects', whole_teamset: 'yes' } },
      'course',
      'criteria[0].config.whole_teamset',
      'true or false',
    ],
    [{ type: 'legacy_cohort', config: {} }, 'instance', 'criteria[0].type', 'not available for instance scope'],
    [
      { type: 'last_login', operator: '<', value: 3, config: { x: 1 } },
      'course',
      'criteria[0].config',
      'takes no config',
    ],
    [
      { type: 'days_since_last_activity', operator: '>', value: 7 },
      'org',
      'criteria[0].type',
      'not available for org scope',
    ],
    [
      { type: 'days_since_last_activity', operator: 'in', value: [7] },
      'course',
      'criteria[0].operator',
      'days_since_last_activity allows = != > >= < <=',
    ],
    [
      { type: 'days_since_last_activity', operator: '>', value: 1.5 },
      'course',
      'criteria[0].value',
      'whole number of days',
    ],
    [
      { type: 'days_since_last_activity', operator: '<', value: '7' },
      'course',
      'criteria[0].value',
      'whole number of days',
    ],
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

describe('validateCriterion against an installed catalogue', () => {
  const domain: CriterionTypeSpec = {
    id: 'email_domain',
    version: 1,
    description: 'Domain',
    scopes: ['instance'],
    operators: ['=', 'in'],
    backend: 'lms_db',
    valueType: 'custom',
    valueSchema: { type: 'string', pattern: '^[a-z]+\\.[a-z]{2,}$', description: 'a domain such as "example.org"' },
    defaultRefreshSeconds: 3600,
    staleOn: [],
  };
  const catalogue = { email_domain: domain };

  it("checks a plugin's values, and each item of a list, against its JSON Schema", () => {
    expect(
      validateCriterion({ type: 'email_domain', value: 'example.org' }, 'instance', 'criteria[0]', catalogue),
    ).toEqual([]);
    expect(
      validateCriterion(
        { type: 'email_domain', operator: 'in', value: ['example.org', 'nope'] },
        'instance',
        'criteria[0]',
        catalogue,
      ),
    ).toEqual([{ field: 'criteria[0].value[1]', message: 'expected a domain such as "example.org"' }]);
    expect(validateCriterion({ type: 'email_domain', value: 42 }, 'instance', 'criteria[0]', catalogue)).toHaveLength(
      1,
    );
  });

  it("knows only the catalogue's types, and accepts nothing for a custom type without a usable schema", () => {
    expect(validateCriterion({ type: 'country', value: 'FR' }, 'instance', 'criteria[0]', catalogue)[0]).toMatchObject({
      field: 'criteria[0].type',
    });
    const broken = { email_domain: { ...domain, version: 2, valueSchema: { type: 'no-such-type' } } };
    expect(
      validateCriterion({ type: 'email_domain', value: 'example.org' }, 'instance', 'criteria[0]', broken),
    ).toHaveLength(1);
    const unknownValueType = { x: { ...domain, id: 'x', valueType: 'colour' as never } };
    expect(
      validateCriterion({ type: 'x', value: 'red' }, 'instance', 'criteria[0]', unknownValueType)[0].message,
    ).toContain('cannot check');
  });

  it('round-trips a spec through an announcement, and never takes a legacy type from one', () => {
    const back = fromAnnouncedType(toAnnouncedType(domain));
    expect(back).toEqual(domain);
    const installed = installedCatalogue([
      toAnnouncedType(domain),
      toAnnouncedType({ ...CRITERION_TYPES.legacy_cohort, description: 'hijacked' }),
    ]);
    expect(Object.keys(installed).sort()).toEqual(
      [
        'email_domain',
        ...Object.values(CRITERION_TYPES)
          .filter((s) => s.legacy)
          .map((s) => s.id),
      ].sort(),
    );
    expect(installed.legacy_cohort.description).toBe(CRITERION_TYPES.legacy_cohort.description);
    expect(Object.keys(installedCatalogue(null))).toEqual(expect.arrayContaining(Object.keys(CRITERION_TYPES)));
  });
});
