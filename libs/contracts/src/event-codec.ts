import * as avro from 'avsc';
import { EventCodecError, EventCodecErrorCode } from './event-codec.error';
import { EventDataMap } from './event-data';
import { EVENT_TYPES, EventType, isEventType } from './event-types';
import { buildHeaders, EventMetadata, Header, MissingHeaderError, parseHeaders, SCHEMALESS } from './headers';
import { SchemaRegistryClient, SchemaRegistryHttpError } from './schema-registry';
import { eventAvroType, eventSchema, keyAvroType, keySchema, keySubject, keyValue, valueSubject } from './schemas';
import { fullTopicName } from './topics';

export interface EncodedMessage {
  topic: string;
  key: Buffer;
  value: Buffer;
  headers: Record<string, string>;
}

export interface DecodedEvent<T extends EventType = EventType> {
  type: T;
  data: EventDataMap[T];
  metadata: EventMetadata;
  /** The key as the producer wrote it (the Avro-decoded key field), or null when absent or unreadable. */
  key: string | null;
}

const MAGIC_BYTE = 0;
const HEADER_LENGTH = 5;

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */
export function frame(schemaId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

export function unframe(bytes: Buffer): { schemaId: number; payload: Buffer } {
  if (!Buffer.isBuffer(bytes) || bytes.length < HEADER_LENGTH || bytes.readUInt8(0) !== MAGIC_BYTE) {
    throw new EventCodecError(
      EventCodecErrorCode.BadFraming,
      'value is not in Confluent wire format (magic byte 0 + schema id)',
    );
  }
  return { schemaId: bytes.readUInt32BE(1), payload: bytes.subarray(HEADER_LENGTH) };
}

function readAvro<T extends EventType>(
  eventType: T,
  readerType: avro.Type,
  payload: Buffer,
  resolver: avro.Resolver | undefined,
  writer: string,
): EventDataMap[T] {
  try {
    const { value: decoded, offset } = readerType.decode(payload, 0, resolver);
    if (decoded === undefined || offset !== payload.length)
      throw new Error(`truncated or trailing bytes (read ${offset} of ${payload.length})`);
    return JSON.parse(JSON.stringify(decoded, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));
  } catch (error) {
    throw new EventCodecError(
      EventCodecErrorCode.UndecodableValue,
      `cannot decode ${eventType} with ${writer}: ${(error as Error).message}`,
    );
  }
}

/**
 * Turns events into Kafka messages and back, exactly as openedx/event-bus-kafka does:
 * Avro value under the topic-record subject, Avro key under `<topic>-key`, CloudEvents headers.
 * Decoding reads with the writer schema from the registry and resolves into our reader schema,
 * so a producer on a compatible newer schema is still understood.
 */
export class EventCodec {
  private readonly resolvers = new Map<string, avro.Resolver>();
  /** Key types by schema id: parsing a schema per message costs more than decoding it. */
  private readonly keyTypes = new Map<number, avro.Type>();

  constructor(
    private readonly registry: SchemaRegistryClient,
    private readonly topicPrefix?: string | null,
  ) {}

  topicFor(eventType: EventType): string {
    return fullTopicName(EVENT_TYPES[eventType].topic, this.topicPrefix);
  }

  /** Registers the schemas of these event types ahead of their first use (a registry write is slow the first time). */
  async prepare(eventTypes: EventType[]): Promise<void> {
    await Promise.all(eventTypes.map((eventType) => this.registerSchemas(eventType)));
  }

  /** The [value, key] schema ids of an event type under its topic's subjects. */
  private registerSchemas(eventType: EventType): Promise<[number, number]> {
    const topic = this.topicFor(eventType);
    return Promise.all([
      this.registry.register(valueSubject(topic, eventType), eventSchema(eventType) as avro.Schema),
      this.registry.register(keySubject(topic, eventType), keySchema(eventType) as avro.Schema),
    ]);
  }

  async encode<T extends EventType>(
    eventType: T,
    data: EventDataMap[T],
    metadata: EventMetadata,
  ): Promise<EncodedMessage> {
    const topic = this.topicFor(eventType);
    const valueType = eventAvroType(eventType);
    const invalid: string[] = [];
    if (!valueType.isValid(data, { errorHook: (path) => invalid.push(path.join('.')) })) {
      throw new EventCodecError(
        EventCodecErrorCode.InvalidData,
        `${eventType} data does not match its schema at: ${invalid.join(', ')}`,
      );
    }
    const [valueId, keyId] = await this.registerSchemas(eventType);
    return {
      topic,
      key: frame(keyId, keyAvroType(eventType).toBuffer(keyValue(eventType, data))),
      value: frame(valueId, valueType.toBuffer(data)),
      headers: buildHeaders({ ...metadata, type: eventType }),
    };
  }

  /** The event data as event-bus-redis writes it: plain Avro of the bundled schema, no framing. */
  encodeSchemaless<T extends EventType>(eventType: T, data: EventDataMap[T]): Buffer {
    const valueType = eventAvroType(eventType);
    const invalid: string[] = [];
    if (!valueType.isValid(data, { errorHook: (path) => invalid.push(path.join('.')) })) {
      throw new EventCodecError(
        EventCodecErrorCode.InvalidData,
        `${eventType} data does not match its schema at: ${invalid.join(', ')}`,
      );
    }
    return valueType.toBuffer(data);
  }

  /**
   * An event read from a Redis stream: the writer schema is the event type's own, as event-bus-redis
   * assumes on both sides (it rebuilds the schema from the signal; no registry is involved).
   */
  decodeSchemaless(metadata: EventMetadata, payload: Buffer, key: string | null = null): DecodedEvent {
    if (!isEventType(metadata.type))
      throw new EventCodecError(EventCodecErrorCode.UnknownEventType, `unknown event type "${metadata.type}"`);
    return {
      type: metadata.type,
      data: readAvro(metadata.type, eventAvroType(metadata.type), payload, undefined, 'its bundled schema'),
      metadata,
      key,
    };
  }

  async decode(
    value: Buffer | null,
    headers: Record<string, string | undefined>,
    key?: Buffer | null,
  ): Promise<DecodedEvent> {
    let metadata: EventMetadata;
    try {
      metadata = parseHeaders(headers);
    } catch (error) {
      if (error instanceof MissingHeaderError)
        throw new EventCodecError(EventCodecErrorCode.MissingHeader, error.message);
      throw error;
    }
    if (!isEventType(metadata.type)) {
      throw new EventCodecError(EventCodecErrorCode.UnknownEventType, `unknown ce_type "${metadata.type}"`);
    }
    if (!value) throw new EventCodecError(EventCodecErrorCode.BadFraming, 'message has no value');
    if (headers[Header.ValueFraming] === SCHEMALESS)
      return this.decodeSchemaless(metadata, value, await this.decodeKey(key));
    const { schemaId, payload } = unframe(value);
    const resolver = await this.resolver(metadata.type, schemaId);
    return {
      type: metadata.type,
      data: readAvro(metadata.type, eventAvroType(metadata.type), payload, resolver, `schema ${schemaId}`),
      metadata,
      key: await this.decodeKey(key),
    };
  }

  private async decodeKey(key?: Buffer | null): Promise<string | null> {
    if (!key) return null;
    try {
      const { schemaId, payload } = unframe(key);
      let keyType = this.keyTypes.get(schemaId);
      if (!keyType) {
        keyType = avro.Type.forSchema(await this.registry.schemaById(schemaId)); // `{name, type}` parses as its primitive
        this.keyTypes.set(schemaId, keyType);
      }
      return String(keyType.fromBuffer(payload));
    } catch {
      return null; // the key only routes; the value is the source of truth
    }
  }

  private async resolver(eventType: EventType, schemaId: number): Promise<avro.Resolver> {
    const cacheKey = `${eventType}#${schemaId}`;
    let resolver = this.resolvers.get(cacheKey);
    if (!resolver) {
      let writerSchema: avro.Schema;
      try {
        writerSchema = await this.registry.schemaById(schemaId);
      } catch (error) {
        // A registry that is down is transient; an id it does not know is not.
        if (error instanceof SchemaRegistryHttpError && error.status === 404) {
          throw new EventCodecError(EventCodecErrorCode.UnknownSchema, `schema id ${schemaId} is not in the registry`);
        }
        throw error;
      }
      try {
        resolver = eventAvroType(eventType).createResolver(avro.Type.forSchema(writerSchema));
      } catch (error) {
        throw new EventCodecError(
          EventCodecErrorCode.UnknownSchema,
          `schema ${schemaId} cannot be read as ${eventType}: ${(error as Error).message}`,
        );
      }
      this.resolvers.set(cacheKey, resolver);
    }
    return resolver;
  }
}
