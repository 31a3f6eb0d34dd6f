import { CriterionPlugin } from '@groups-sync/criteria-sdk';

/**
 * An example of a third-party criterion type, as a package would publish it: `email_domain`
 * selects learners by the domain of their account's email. Installed by naming the package in the
 * evaluator's CRITERIA_PLUGINS.
 */
export const emailDomain: CriterionPlugin = {
  spec: {
    id: 'email_domain',
    version: 1,
    description: "The domain of the learner's email address",
    scopes: ['course', 'org', 'instance'],
    operators: ['=', '!=', 'in', 'not_in'],
    backend: 'lms_db',
    // A value type of its own: groups-service checks values against this schema (the evaluator announces it).
    valueType: 'custom',
    valueSchema: {
      type: 'string',
      pattern: '^[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$',
      maxLength: 253,
      description: 'a domain such as "example.org"',
    },
    defaultRefreshSeconds: 24 * 3600,
    staleOn: [],
  },
  validate: (c) => {
    const values = Array.isArray(c.value) ? c.value : [c.value];
    return values.every((v) => typeof v === 'string' && /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(v))
      ? []
      : ['value: a domain such as "example.org"'];
  },
  toSql: (c) => {
    const domain = "LOWER(SUBSTRING_INDEX(u.email, '@', -1))";
    const lower = (v: unknown) => (Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : String(v).toLowerCase());
    if (c.operator === 'in') return { joins: [], where: `${domain} IN (?)`, params: [lower(c.value)] };
    if (c.operator === 'not_in') return { joins: [], where: `${domain} NOT IN (?)`, params: [lower(c.value)] };
    return { joins: [], where: `${domain} ${c.operator === '!=' ? '<>' : '='} ?`, params: [lower(c.value)] };
  },
};

export const criterionPlugins: CriterionPlugin[] = [emailDomain];
