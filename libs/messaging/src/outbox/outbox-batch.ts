import { createHash } from 'node:crypto';

/**
 * Many events of one type in one outbox row: a bulk change (an evaluation run adding 100,000
 * learners) writes a row per thousand events instead of one per event, and the relay publishes
 * each event as its own Kafka message. The row's payload holds the first event whole and, for the
 * fields that differ between events (a member's id and name), one column of values per field.
 */
export interface PackedEvents {
  first: unknown;
  /** Paths (object keys from the root) of the fields whose values differ between the events. */
  varying: string[][];
  /** One row per event: its values at the `varying` paths, in their order. */
  values: unknown[][];
}

/** The leaves of an event, in key order: paths into nested plain objects (arrays and null are leaves). */
function leaves(value: unknown, path: string[] = [], out: Array<[string[], unknown]> = []): Array<[string[], unknown]> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) leaves(child, [...path, key], out);
  } else {
    out.push([path, value]);
  }
  return out;
}

const same = (a: unknown, b: unknown) => a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** Packs events of one shape (the same fields, in the same order); null when their shapes differ. */
export function packEvents(events: unknown[]): PackedEvents | null {
  if (!events.length || events[0] === null || typeof events[0] !== 'object' || Array.isArray(events[0])) return null;
  const firstLeaves = leaves(events[0]);
  const shape = JSON.stringify(firstLeaves.map(([path]) => path));
  const all: unknown[][] = [];
  for (const event of events) {
    const own = leaves(event);
    if (own.length !== firstLeaves.length || JSON.stringify(own.map(([path]) => path)) !== shape) return null;
    all.push(own.map(([, v]) => v));
  }
  const varying = firstLeaves.map((_, i) => i).filter((i) => all.some((values) => !same(values[i], all[0][i])));
  return { first: events[0], varying: varying.map((i) => firstLeaves[i][0]), values: all.map((values) => varying.map((i) => values[i])) };
}

/** The events a packed row holds, in order. */
export function unpackEvents(packed: PackedEvents): unknown[] {
  const template = JSON.stringify(packed.first);
  return packed.values.map((values) => {
    const event = JSON.parse(template);
    packed.varying.forEach((path, i) => {
      let node = event;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path[path.length - 1]] = values[i];
    });
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
