import { buildHeaders, newEventMetadata, parseHeaders, toCeTime } from './headers';

describe('event headers', () => {
  it('round-trip every CloudEvents field, with our correlation headers', () => {
    const metadata = newEventMetadata('org.openedx.learning.cohort_membership.changed.v1', 'lms', {
      correlationId: 'corr-1',
      causationId: 'cause-1',
      minorVersion: 2,
    });
    expect(parseHeaders(buildHeaders(metadata))).toEqual(metadata);
  });

  it('write the names and fixed values event-bus-kafka writes', () => {
    const headers = buildHeaders(newEventMetadata('t.v1', 'lms'));
    expect(headers).toMatchObject({
      ce_type: 't.v1',
      ce_source: 'openedx/lms/web',
      ce_specversion: '1.0',
      ce_minorversion: '0',
      'content-type': 'application/avro',
      ce_datacontenttype: 'application/avro',
      sourcelib: '11.2.0',
    });
    expect(headers.ce_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('format ce_time like Python isoformat() of an aware UTC datetime', () => {
    expect(toCeTime(new Date('2026-11-22T05:20:01.123Z'))).toBe('2026-11-22T05:20:01.123000+00:00');
  });

  it('require ce_type and ce_id', () => {
    expect(() => parseHeaders({ ce_id: 'x' })).toThrow('ce_type');
    expect(() => parseHeaders({ ce_type: 'x' })).toThrow('ce_id');
  });
});
