import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { ConfluentSchemaRegistry, SchemaRegistryHttpError } from '@groups-sync/contracts';
import {
  DependencyUnavailableError,
  HeldByOperatorError,
  isDependencyUnavailable,
  isHeldByOperator,
  OutageBudgetExceededError,
  PoisonMessageError,
} from './consumer.errors';

describe('isDependencyUnavailable', () => {
  it('recognises the marker, the marker class and lost database connections', () => {
    expect(isDependencyUnavailable(new DependencyUnavailableError('LMS down'))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('LMS 503'), { dependencyUnavailable: true }))).toBe(true);
    expect(isDependencyUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(
      isDependencyUnavailable(
        Object.assign(new Error('query failed'), { driverError: { code: 'PROTOCOL_CONNECTION_LOST' } }),
      ),
    ).toBe(true);
  });

  it('leaves every other failure to the retry budget', () => {
    expect(isDependencyUnavailable(new Error('bug'))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('LMS 500'), { dependencyUnavailable: false }))).toBe(false);
    expect(isDependencyUnavailable(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' }))).toBe(false);
    expect(isDependencyUnavailable(new PoisonMessageError('INVALID_DATA', 'no'))).toBe(false);
    expect(isDependencyUnavailable(undefined)).toBe(false);
  });
});

/** A failure as the driver or fetch reports it: `code`/`errno` on the error, on TypeORM's driverError, or on fetch's `cause`. */
const withCode = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);
const fetchFailed = (code: string) =>
  Object.assign(new TypeError('fetch failed'), { cause: withCode(`getaddrinfo ${code} registry`, { code }) });
const timeout = () => Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });

describe('isDependencyUnavailable: outages are waited out, defects spend the retry budget', () => {
  const outages: Array<[string, unknown]> = [
    [
      'the schema registry answering 503',
      new SchemaRegistryHttpError(503, undefined, 'schema registry GET /schemas/ids/3: 503'),
    ],
    [
      'the schema registry answering 500 (its store failed)',
      new SchemaRegistryHttpError(500, 50001, 'schema registry GET /schemas/ids/3: 500'),
    ],
    ['a host that refuses connections (fetch)', fetchFailed('ECONNREFUSED')],
    ['a name that does not resolve', fetchFailed('ENOTFOUND')],
    ['a DNS server that does not answer', fetchFailed('EAI_AGAIN')],
    ['a DNS failure reported by the driver', withCode('getaddrinfo EAI_AGAIN db', { code: 'EAI_AGAIN' })],
    ['a fetch that timed out', timeout()],
    [
      'MySQL read-only (TypeORM QueryFailedError)',
      withCode('The MySQL server is running with the --read-only option', {
        code: 'ER_OPTION_PREVENTS_STATEMENT',
        errno: 1290,
      }),
    ],
    ['MySQL read-only (driverError only)', withCode('query failed', { driverError: { errno: 1290 } })],
    ['MySQL read-only mode (5.7)', withCode('Running in read-only mode', { errno: 1836 })],
    [
      'a lock wait timeout',
      withCode('Lock wait timeout exceeded; try restarting transaction', { code: 'ER_LOCK_WAIT_TIMEOUT', errno: 1205 }),
    ],
    [
      'a lock wait timeout (driverError only)',
      withCode('query failed', { driverError: { code: 'ER_LOCK_WAIT_TIMEOUT' } }),
    ],
  ];
  it.each(outages)('counts %s as an outage', (_name, error) => {
    expect(isDependencyUnavailable(error)).toBe(true);
  });

  const defects: Array<[string, unknown]> = [
    ['a schema the registry does not have (404)', new SchemaRegistryHttpError(404, 40403, 'schema 3 not found')],
    ['a registry refusing the request (422)', new SchemaRegistryHttpError(422, 42201, 'invalid schema')],
    ['a TypeError in the handler', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a SyntaxError in the handler', new SyntaxError('Unexpected token < in JSON')],
    ['a duplicate key', withCode('dup', { code: 'ER_DUP_ENTRY', errno: 1062 })],
    ['an SQL error', withCode('You have an error in your SQL syntax', { code: 'ER_PARSE_ERROR', errno: 1064 })],
    ['a plain error', new Error('bug')],
    ['a string', 'oops'],
  ];
  it.each(defects)('counts %s against the retry budget', (_name, error) => {
    expect(isDependencyUnavailable(error)).toBe(false);
  });
});

describe('isDependencyUnavailable with the real schema registry client', () => {
  let server: Server;
  let status = 503;
  beforeAll(async () => {
    server = createServer((_req, res) =>
      res
        .writeHead(status, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error_code: status * 100 + 1, message: 'x' })),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(() => new Promise((r) => server.close(r)));
  const registry = () => new ConfluentSchemaRegistry(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);

  it('waits out a registry that answers 503 or cannot be reached', async () => {
    status = 503;
    expect(
      isDependencyUnavailable(
        await registry()
          .schemaById(1)
          .catch((e: unknown) => e),
      ),
    ).toBe(true);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(
      isDependencyUnavailable(
        await new ConfluentSchemaRegistry(`http://127.0.0.1:${port}`).schemaById(1).catch((e: unknown) => e),
      ),
    ).toBe(true);
  });

  it('does not wait out a registry that answers 404', async () => {
    status = 404;
    expect(
      isDependencyUnavailable(
        await registry()
          .schemaById(1)
          .catch((e: unknown) => e),
      ),
    ).toBe(false);
  });
});

describe('isHeldByOperator', () => {
  it("tells an operator's hold, waited for without an outage budget, from an outage", () => {
    expect(isHeldByOperator(new HeldByOperatorError('writes paused'))).toBe(true);
    expect(isDependencyUnavailable(new HeldByOperatorError('writes paused'))).toBe(true);
    expect(isHeldByOperator(new DependencyUnavailableError('LMS down'))).toBe(false);
    expect(isHeldByOperator(undefined)).toBe(false);
  });
});

describe('OutageBudgetExceededError', () => {
  it('says how long the dependency was waited for, and its last error', () => {
    expect(new OutageBudgetExceededError(3600, new Error('LMS answered 504')).message).toBe(
      'dependency unavailable for 3600 s: LMS answered 504',
    );
  });
});
