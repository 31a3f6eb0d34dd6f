import { ArgumentsHost } from '@nestjs/common';
import { DomainException } from './domain-exception';
import { DomainExceptionFilter } from './domain-exception.filter';

function answer(exception: unknown): { status: number; body: { code: string } } {
  const out = { status: 0, body: { code: '' } };
  const res = { status: (s: number) => ((out.status = s), res), json: (b: { code: string }) => void (out.body = b) };
  const host = { switchToHttp: () => ({ getResponse: () => res }) } as unknown as ArgumentsHost;
  new DomainExceptionFilter().catch(exception, host);
  return out;
}

describe('DomainExceptionFilter', () => {
  it('answers 503 for a dependency that is down or saturated (a pool wait timed out), not 500', () => {
    const poolTimeout = Object.assign(new Error('no database connection came free within 20000 ms'), {
      code: 'DB_POOL_TIMEOUT',
      dependencyUnavailable: true,
    });
    expect(answer(poolTimeout)).toEqual({
      status: 503,
      body: expect.objectContaining({ code: 'SERVICE_UNAVAILABLE' }),
    });
  });

  it('answers 503 for a database outage a consumer would wait out (read-only during a failover, connection lost)', () => {
    for (const code of ['ER_READ_ONLY_MODE', 'PROTOCOL_CONNECTION_LOST']) {
      expect(answer(Object.assign(new Error(code), { code })).status).toBe(503);
    }
    expect(answer(Object.assign(new Error('QueryFailedError'), { driverError: { errno: 1290 } })).status).toBe(503);
  });

  it("still answers 500 for a defect, and the domain's status for a domain error", () => {
    expect(answer(new TypeError('x is undefined')).status).toBe(500);
    expect(answer(new DomainException('GROUP_NOT_FOUND', 'not_found', 'no such group'))).toEqual({
      status: 404,
      body: expect.objectContaining({ code: 'GROUP_NOT_FOUND' }),
    });
  });
});
