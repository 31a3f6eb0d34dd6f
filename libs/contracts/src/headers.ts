import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** CloudEvents metadata carried in Kafka headers, as openedx/event-bus-kafka writes them. */
export interface EventMetadata {
  id: string;
  type: string;
  source: string;
  specVersion: string;
  time: string;
  minorVersion: number;
  sourcehost: string;
  sourcelib: string;
  correlationId?: string;
  causationId?: string;
}

export const Header = {
  Id: 'ce_id',
  Type: 'ce_type',
  Source: 'ce_source',
  SpecVersion: 'ce_specversion',
  Time: 'ce_time',
  MinorVersion: 'ce_minorversion',
  SourceHost: 'sourcehost',
  SourceLib: 'sourcelib',
  ContentType: 'content-type',
  DataContentType: 'ce_datacontenttype',
  CorrelationId: 'correlation_id',
  CausationId: 'causation_id',
  /**
   * Ours: `schemaless` on a message whose value is plain Avro of the bundled schema (an LMS event read
   * from a Redis stream and dead-lettered to Kafka as it came); absent means Confluent framing.
   */
  ValueFraming: 'value_framing',
} as const;

export const SCHEMALESS = 'schemaless';

const AVRO = 'application/avro';
/** The openedx-events release whose schemas we ship; the LMS puts its version in `sourcelib`. */
export const OPENEDX_EVENTS_VERSION = '11.2.0';

/**
 * Python's `datetime.isoformat()` of an aware UTC time (what the LMS sends in ce_time),
 * e.g. `2026-11-22T05:20:01.123000+00:00`.
 */
const HOSTNAME = hostname();

export function toCeTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

export function newEventMetadata(type: string, service: string, overrides: Partial<EventMetadata> = {}): EventMetadata {
  // Defaults only where not given: the relay builds one per published row.
  return {
    id: overrides.id ?? randomUUID(),
    type,
    source: `openedx/${service}/web`,
    specVersion: '1.0',
    time: overrides.time ?? toCeTime(new Date()),
    minorVersion: 0,
    sourcehost: overrides.sourcehost ?? HOSTNAME,
    sourcelib: OPENEDX_EVENTS_VERSION,
    ...overrides,
  };
}

export function buildHeaders(metadata: EventMetadata): Record<string, string> {
  const headers: Record<string, string> = {
    [Header.Id]: metadata.id,
    [Header.Type]: metadata.type,
    [Header.Source]: metadata.source,
    [Header.SpecVersion]: metadata.specVersion,
    [Header.Time]: metadata.time,
    [Header.ContentType]: AVRO,
    [Header.DataContentType]: AVRO,
    [Header.MinorVersion]: String(metadata.minorVersion),
    [Header.SourceHost]: metadata.sourcehost,
    [Header.SourceLib]: metadata.sourcelib,
  };
  if (metadata.correlationId) headers[Header.CorrelationId] = metadata.correlationId;
  if (metadata.causationId) headers[Header.CausationId] = metadata.causationId;
  return headers;
}

export class MissingHeaderError extends Error {
  constructor(readonly header: string) {
    super(`required header "${header}" is missing`);
    this.name = 'MissingHeaderError';
  }
}

/** Parses headers; `ce_id` and `ce_type` are required (idempotency key and dispatch key). */
export function parseHeaders(headers: Record<string, string | undefined>): EventMetadata {
  const required = (name: string): string => {
    const value = headers[name];
    if (!value) throw new MissingHeaderError(name);
    return value;
  };
  return {
    id: required(Header.Id),
    type: required(Header.Type),
    source: headers[Header.Source] ?? '',
    specVersion: headers[Header.SpecVersion] ?? '1.0',
    time: headers[Header.Time] ?? '',
    minorVersion: Number(headers[Header.MinorVersion] ?? 0) || 0,
    sourcehost: headers[Header.SourceHost] ?? '',
    sourcelib: headers[Header.SourceLib] ?? '',
    correlationId: headers[Header.CorrelationId],
    causationId: headers[Header.CausationId],
  };
}
