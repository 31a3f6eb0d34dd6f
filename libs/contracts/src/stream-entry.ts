import { EventMetadata } from './headers';

/**
 * An LMS event as openedx/event-bus-redis writes it to a Redis stream (`RedisMessage.to_binary_dict`
 * in edx_event_bus_redis/internal/message.py, MessageHeader in utils.py): one XADD per event, the
 * CloudEvents attributes as plain fields (no `ce_` prefix, no spec version, no content type) and
 * `event_data`, schemaless Avro of the event's openedx-events schema (no magic byte, no registry).
 * The stream carries no key: event-bus-redis ignores `event_key_field`.
 */
export const StreamField = {
  Type: 'type',
  Id: 'id',
  Source: 'source',
  Time: 'time',
  MinorVersion: 'minorversion',
  SourceHost: 'sourcehost',
  SourceLib: 'sourcelib',
  EventData: 'event_data',
} as const;

/** The fields of one entry, in the producer's order; values as event-bus-redis encodes them (UTF-8 text, `event_data` bytes). */
export function streamEntryFields(metadata: EventMetadata, eventData: Buffer): Array<[string, string | Buffer]> {
  return [
    [StreamField.Type, metadata.type],
    [StreamField.Id, metadata.id],
    [StreamField.Source, metadata.source],
    [StreamField.Time, metadata.time],
    [StreamField.MinorVersion, String(metadata.minorVersion)],
    [StreamField.SourceHost, metadata.sourcehost],
    [StreamField.SourceLib, metadata.sourcelib],
    [StreamField.EventData, eventData],
  ];
}

/** Why a stream entry cannot be read as an event. */
export class StreamEntryError extends Error {
  constructor(
    readonly reason: 'MISSING_FIELD',
    message: string,
  ) {
    super(message);
    this.name = 'StreamEntryError';
  }
}

/**
 * The metadata and data of an entry read back. `type` and `id` are required: event-bus-redis's own
 * reader would invent an id for an entry without one, and a made-up id defeats the inbox's dedupe.
 */
export function parseStreamEntry(fields: Map<string, Buffer>): { metadata: EventMetadata; eventData: Buffer } {
  const text = (name: string) => fields.get(name)?.toString('utf8') ?? '';
  for (const name of [StreamField.Type, StreamField.Id]) {
    if (!text(name)) throw new StreamEntryError('MISSING_FIELD', `stream entry has no "${name}" field`);
  }
  const eventData = fields.get(StreamField.EventData);
  if (!eventData) throw new StreamEntryError('MISSING_FIELD', `stream entry has no "${StreamField.EventData}" field`);
  return {
    metadata: {
      id: text(StreamField.Id),
      type: text(StreamField.Type),
      source: text(StreamField.Source),
      specVersion: '1.0',
      time: text(StreamField.Time),
      minorVersion: Number(text(StreamField.MinorVersion)) || 0,
      sourcehost: text(StreamField.SourceHost),
      sourcelib: text(StreamField.SourceLib),
    },
    eventData,
  };
}
