import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as avro from 'avsc';
import { EVENT_TYPES, EventType } from './event-types';

// Schema files are named as openedx-events names them: dots become '+', then `_schema.avsc`.
const SCHEMA_DIR = join(__dirname, 'schemas');

const schemaCache = new Map<string, object>();
const typeCache = new Map<string, avro.Type>();

export function eventSchema(eventType: EventType): object {
  let schema = schemaCache.get(eventType);
  if (!schema) {
    schema = JSON.parse(
      readFileSync(join(SCHEMA_DIR, `${eventType.replace(/\./g, '+')}_schema.avsc`), 'utf8'),
    ) as object;
    schemaCache.set(eventType, schema);
  }
  return schema;
}

export function eventAvroType(eventType: EventType): avro.Type {
  let type = typeCache.get(eventType);
  if (!type) {
    type = avro.Type.forSchema(eventSchema(eventType) as avro.Schema);
    typeCache.set(eventType, type);
  }
  return type;
}

const keySchemaCache = new Map<EventType, { name: string; type: string }>();
const keyTypeCache = new Map<EventType, avro.Type>();

/**
 * The key schema is the key field's own schema entry, as event-bus-kafka's `extract_key_schema`
 * returns it, e.g. `{"name": "course_key", "type": "string"}`. Cached: the relay encodes every event.
 */
export function keySchema(eventType: EventType): { name: string; type: string } {
  let cached = keySchemaCache.get(eventType);
  if (!cached) {
    let node: any = eventSchema(eventType);
    let field: any;
    for (const name of EVENT_TYPES[eventType].keyField.split('.')) {
      field = (node.fields ?? node.type?.fields)?.find((f: { name: string }) => f.name === name);
      if (!field) throw new Error(`key field ${EVENT_TYPES[eventType].keyField} not in schema of ${eventType}`);
      node = field.type;
    }
    if (typeof field.type !== 'string') throw new Error(`key field of ${eventType} is not a primitive`);
    cached = { name: field.name, type: field.type };
    keySchemaCache.set(eventType, cached);
  }
  return cached;
}

export function keyAvroType(eventType: EventType): avro.Type {
  let type = keyTypeCache.get(eventType);
  if (!type) {
    type = avro.Type.forSchema(keySchema(eventType).type as avro.Schema);
    keyTypeCache.set(eventType, type);
  }
  return type;
}

export function keyValue(eventType: EventType, data: unknown): string {
  return fieldValue(eventType, data, EVENT_TYPES[eventType].keyField);
}

/** The id of the thing an event is about (the outbox's aggregate_id): its aggregate field, else its key. */
export function aggregateValue(eventType: EventType, data: unknown): string {
  return fieldValue(eventType, data, EVENT_TYPES[eventType].aggregateField ?? EVENT_TYPES[eventType].keyField);
}

function fieldValue(eventType: EventType, data: unknown, path: string): string {
  let node: any = data;
  for (const name of path.split('.')) node = node?.[name];
  // '' is a key (the instance scope's); a missing field is not.
  if (node === undefined || node === null) {
    throw new Error(`event ${eventType} has no value at ${path}`);
  }
  return String(node);
}

/** Subject names as event-bus-kafka registers them (topic-record strategy for values). */
export function valueSubject(fullTopic: string, eventType: string): string {
  return `${fullTopic}-${eventType}.CloudEvent`;
}
/**
 * Confluent's topic-record strategy names a primitive key schema by its type, so a string key
 * lands under `<topic>-string` (what confluent-kafka-python computes for event-bus-kafka's keys).
 */
export function keySubject(fullTopic: string, eventType: EventType): string {
  return `${fullTopic}-${keySchema(eventType).type}`;
}
