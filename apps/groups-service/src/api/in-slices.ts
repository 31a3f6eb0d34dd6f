import { StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';

/**
 * `fn` over `items`, yielding to the event loop between slices: a request that handles thousands of
 * items at once (50,000 lookups, 10,000 entries checked) would hold it for ~100 ms or more.
 */
export async function inSlices<T>(items: T[], fn: (item: T, index: number) => void, slice = 5000): Promise<void> {
  for (let i = 0; i < items.length; i += slice) {
    if (i) await yieldToLoop();
    for (let k = i; k < Math.min(i + slice, items.length); k++) fn(items[k], k);
  }
}

/** `items.map(fn)`, a slice at a time (see inSlices). */
export async function mapInSlices<T, R>(items: T[], fn: (item: T, index: number) => R, slice = 5000): Promise<R[]> {
  const out: R[] = new Array(items.length);
  await inSlices(items, (item, i) => (out[i] = fn(item, i)), slice);
  return out;
}

/**
 * A JSON answer `{...head, [key]: items}` serialised a slice of items at a time: 50,000 rows in one
 * JSON.stringify (and Express's copy of it) hold the event loop for 20–60 ms. Same bytes as
 * `JSON.stringify`, sent as a stream.
 */
export function jsonInSlices(head: object, key: string, items: unknown[], slice = 2000): StreamableFile {
  async function* chunks(): AsyncGenerator<string> {
    const open = JSON.stringify(head);
    yield `${open === '{}' ? '{' : `${open.slice(0, -1)},`}${JSON.stringify(key)}:[`;
    for (let i = 0; i < items.length; i += slice) {
      if (i) await yieldToLoop();
      const part = JSON.stringify(items.slice(i, i + slice));
      yield `${i ? ',' : ''}${part.slice(1, -1)}`;
    }
    yield ']}';
  }
  return new StreamableFile(Readable.from(chunks()), { type: 'application/json; charset=utf-8' });
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
