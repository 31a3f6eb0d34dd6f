import { criterionValue, CriterionTypeView } from './pages/criteria';

const type = (value_type: string): CriterionTypeView => ({
  id: 't',
  scopes: ['course'],
  operators: ['=', 'in', 'exists'],
  value_type,
  legacy_kind: null,
});

describe('the criteria builder: what is typed, as the API takes it', () => {
  it.each([
    ['days', '=', '30', 30],
    ['percent', '>=', '75.5', 75.5],
    ['boolean', '=', 'true', true],
    ['boolean', '=', 'false', false],
    ['country_code', '=', ' FR ', 'FR'],
    ['country_code', 'in', 'FR, DE,,ES', ['FR', 'DE', 'ES']],
    ['days', 'not_in', '1,2', [1, 2]],
    ['custom', '=', '{"a": 1}', { a: 1 }],
    ['custom', '=', 'not json', 'not json'],
    ['date', '<', '2026-01-31', '2026-01-31'],
    ['language_code', 'exists', 'ignored', undefined],
  ])('%s %s %j → %j', (valueType, operator, text, expected) => {
    expect(criterionValue(type(valueType), operator, text)).toEqual(expected);
  });

  it('leaves an empty number as typed, for the API to refuse with its message', () => {
    expect(criterionValue(type('days'), '=', '')).toBe('');
  });
});
