/**
 * The items of `base` whose id is in every one of `others`; all streams ascending by id. Reads each
 * stream once, holding one item of each at a time: memory does not grow with the streams.
 */
export async function* intersectSorted<T extends { id: number }>(
  base: AsyncIterable<T>,
  others: Array<AsyncIterable<number>>,
): AsyncGenerator<T> {
  const cursors = others.map((s) => s[Symbol.asyncIterator]());
  try {
    const heads: Array<number | undefined> = await Promise.all(cursors.map(async (c) => (await c.next()).value));
    for await (const item of base) {
      let inAll = true;
      for (let i = 0; i < cursors.length; i++) {
        while (heads[i] !== undefined && heads[i]! < item.id) heads[i] = (await cursors[i].next()).value;
        if (heads[i] === undefined) return; // a stream ran out: nothing further can be in all of them
        if (heads[i] !== item.id) inAll = false;
      }
      if (inAll) yield item;
    }
  } finally {
    await closeAll(cursors);
  }
}

/** The items of `base` whose id is in none of `others`; all streams ascending by id, read as intersectSorted reads them. */
export async function* subtractSorted<T extends { id: number }>(
  base: AsyncIterable<T>,
  others: Array<AsyncIterable<number>>,
): AsyncGenerator<T> {
  const cursors = others.map((s) => s[Symbol.asyncIterator]());
  try {
    const heads: Array<number | undefined> = await Promise.all(cursors.map(async (c) => (await c.next()).value));
    for await (const item of base) {
      let inAny = false;
      for (let i = 0; i < cursors.length; i++) {
        while (heads[i] !== undefined && heads[i]! < item.id) heads[i] = (await cursors[i].next()).value;
        if (heads[i] === item.id) inAny = true;
      }
      if (!inAny) yield item;
    }
  } finally {
    await closeAll(cursors);
  }
}

/** Streams left before their end are closed, so a backend's query and connection are let go (a ClickHouse result mid-body). */
async function closeAll(cursors: Array<AsyncIterator<number>>): Promise<void> {
  await Promise.all(
    cursors.map(async (c) => {
      try {
        await c.return?.();
      } catch {
        // the stream's own error, if any, was already thrown where it was read
      }
    }),
  );
}
