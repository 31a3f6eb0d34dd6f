/** One row of the criteria builder, as typed, and its value as the API takes it. */
export interface CriterionRow {
  type: string;
  operator: string;
  value: string;
}

export interface CriterionTypeView {
  id: string;
  description?: string;
  scopes: string[];
  operators: string[];
  value_type: string;
  value_schema?: Record<string, unknown> | null;
  legacy_kind: string | null;
}

const NUMERIC = ['days', 'percent'];
const NO_VALUE = ['exists', 'not_exists'];

/** The typed text as the criterion's value: numbers, booleans, lists for `in`, JSON for a plugin's own values. */
export function criterionValue(type: CriterionTypeView | undefined, operator: string, text: string): unknown {
  if (!type || NO_VALUE.includes(operator)) return undefined;
  const one = (t: string): unknown => {
    if (NUMERIC.includes(type.value_type)) return t.trim() === '' ? t : Number(t);
    if (type.value_type === 'boolean') return t === 'true';
    if (type.value_type === 'custom') {
      try {
        return JSON.parse(t);
      } catch {
        return t;
      }
    }
    return t.trim();
  };
  if (operator === 'in' || operator === 'not_in')
    return text
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean)
      .map(one);
  return one(text);
}

export const needsValue = (operator: string) => !NO_VALUE.includes(operator);
