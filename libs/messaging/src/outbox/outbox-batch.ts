import { createHash } from 'node:crypto';

/**
 * Many events of one type in one outbox row: a bulk change (an evaluation run adding 100,000
 * learners) writes a row per thousand events instead of one per event, and the relay publishes
 * each event as its own Kafka message. The row's payload holds the first event whole and, for each
 * event, the fields that differ between events (a member's id and name), nested under their own
 * keys: JSON tools that look for a key (retirement's scrub of `username`) find them there too.
 */
export interface PackedEvents {
  first: unknown;
  /** One per event, in order: its values of the fields that vary, at their paths in the event. */
  items: unknown[];
}

/**
 * The paths to an event's leaves, in key order: into nested plain objects (arrays, null and empty
 * objects are leaves, so that an empty object's presence is part of the shape).
 */
function leafPaths(value: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (isNode(value)) {
    for (const [key, child] of Object.entries(value)) leafPaths(child, [...path, key], out);
  } else {
    out.push(path);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const isNode = (value: unknown): value is Record<string, unknown> => nodeKeys(value) !== null;

/** A plain, non-empty object's keys; null for a leaf. */
function nodeKeys(value: unknown): string[] | null {
  if (!isPlainObject(value)) return null;
  const keys = Object.keys(value);
  return keys.length ? keys : null;
}

/**
 * Whether two events have the same leaves at the same paths, in the same key order. Walks both
 * without building paths: a refresh packs 100,000 events, and allocations cost more than compares.
 */
function sameShape(a: unknown, b: unknown): boolean {
  const keys = nodeKeys(a);
  const others = nodeKeys(b);
  if (!keys || !others) return !keys && !others;
  if (keys.length !== others.length) return false;
  for (let i = 0; i < keys.length; i++) {
    if (
      keys[i] !== others[i] ||
      !sameShape((a as Record<string, unknown>)[keys[i]], (b as Record<string, unknown>)[keys[i]])
    )
      return false;
  }
  return true;
}

function valueAt(event: unknown, path: string[]): unknown {
  let node = event;
  for (const key of path) node = (node as Record<string, unknown>)[key];
  return node;
}

const same = (a: unknown, b: unknown) =>
  a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** Packs events of one shape (the same fields, in the same order); null when their shapes differ. */
export function packEvents(events: unknown[]): PackedEvents | null {
  if (!events.length || !isPlainObject(events[0])) return null;
  const first = events[0];
  for (const event of events) if (!sameShape(first, event)) return null;
  const paths = leafPaths(first);
  const firstValues = paths.map((path) => valueAt(first, path));
  const varying = paths
    .map((_, i) => i)
    .filter((i) => events.some((event) => !same(valueAt(event, paths[i]), firstValues[i])));
  const items = events.map((event) => {
    const item: Record<string, unknown> = {};
    for (const i of varying) {
      const path = paths[i];
      let node = item;
      for (let k = 0; k < path.length - 1; k++) node = (node[path[k]] ??= {}) as Record<string, unknown>;
      node[path[path.length - 1]] = valueAt(event, path);
    }
    return item;
  });
  return { first, items };
}

/** Writes `item`'s leaves over `target`, path by path. */
function overlay(target: Record<string, unknown>, item: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(item)) {
    if (isPlainObject(value) && isPlainObject(target[key])) overlay(target[key] as Record<string, unknown>, value);
    else target[key] = value;
  }
}

/** The events a packed row holds, in order. */
export function unpackEvents(packed: PackedEvents): unknown[] {
  const template = JSON.stringify(packed.first);
  return packed.items.map((item) => {
    const event = JSON.parse(template);
    overlay(event, item as Record<string, unknown>);
    return event;
  });
}

/**
 * The id of the event at `index` in a packed row: derived from the row's event id, so a row sent
 * again (after a crash between the send and its "sent" mark) gives each event the id it had, and
 * consumers' inboxes drop the repeats.
 */
export function packedEventId(rowEventId: string, index: number): string {
  const hex = createHash('sha256').update(`${rowEventId}/${index}`).digest('hex');
  // Shaped as a version 8 (custom) UUID: ce_id is a string to consumers, a UUID to readers' eyes.
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
