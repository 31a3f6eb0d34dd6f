import { isDatabaseUnavailable, isDuplicateKeyError } from './database-errors';

const failure = (fields: Record<string, unknown>) => Object.assign(new Error('query failed'), fields);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['read-only (--read-only)', { code: 'ER_OPTION_PREVENTS_STATEMENT', errno: 1290 }],
    ['read-only, errno only', { errno: 1290 }],
    ['read-only mode', { errno: 1836 }],
    ['a lock wait timeout', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }],
    ['a lock wait timeout on driverError', { driverError: { errno: 1205 } }],
    ['a lost connection', { code: 'PROTOCOL_CONNECTION_LOST' }],
    ['a refused connection on driverError', { driverError: { code: 'ECONNREFUSED' } }],
    ['a host that does not resolve', { code: 'ENOTFOUND' }],
    ['a DNS server that does not answer', { code: 'EAI_AGAIN' }],
    ['too many connections', { code: 'ER_CON_COUNT_ERROR', errno: 1040 }],
  ])('is true for %s', (_name, fields) => {
    expect(isDatabaseUnavailable(failure(fields))).toBe(true);
  });

  it.each([
    ['a duplicate key', { code: 'ER_DUP_ENTRY', errno: 1062 }],
    ['a deadlock (the transaction runs again)', { code: 'ER_LOCK_DEADLOCK', errno: 1213 }],
    ['an SQL error', { code: 'ER_PARSE_ERROR', errno: 1064 }],
    ['a missing table', { code: 'ER_NO_SUCH_TABLE', errno: 1146 }],
    ['no code at all', {}],
  ])('is false for %s', (_name, fields) => {
    expect(isDatabaseUnavailable(failure(fields))).toBe(false);
  });

  it('is false for what is not an error', () => {
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
  });
});

describe('isDuplicateKeyError', () => {
  it('is true for ER_DUP_ENTRY only', () => {
    expect(isDuplicateKeyError(failure({ errno: 1062 }))).toBe(true);
    expect(isDuplicateKeyError(failure({ errno: 1290 }))).toBe(false);
  });
});
