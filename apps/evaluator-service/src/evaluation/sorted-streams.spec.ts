import fc from 'fast-check';
import { intersectSorted, subtractSorted } from './sorted-streams';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

/** A stream that records whether it was closed before its end. */
function tracked(ids: number[]): { stream: AsyncGenerator<number>; closed: () => boolean } {
  let finished = false;
  let closed = false;
  const stream = (async function* () {
    try {
      for (const id of ids) yield id;
      finished = true;
    } finally {
      closed = !finished;
    }
  })();
  return { stream, closed: () => closed };
}

const sortedIds = fc
  .uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 40 })
  .map((a) => a.sort((x, y) => x - y));

describe('intersectSorted', () => {
  it('keeps exactly the base items whose id is in every other stream, in order', async () => {
    await fc.assert(
      fc.asyncProperty(sortedIds, fc.array(sortedIds, { maxLength: 3 }), async (base, others) => {
        const got = await collect(
          intersectSorted(
            from(base.map((id) => ({ id }))),
            others.map((o) => from(o)),
          ),
        );
        expect(got.map((x) => x.id)).toEqual(base.filter((id) => others.every((o) => o.includes(id))));
      }),
      { numRuns: 300 },
    );
  });

  it('closes the other streams it leaves before their end', async () => {
    const other = tracked([1, 2, 3, 4, 5]);
    expect(await collect(intersectSorted(from([{ id: 2 }]), [other.stream]))).toEqual([{ id: 2 }]);
    expect(other.closed()).toBe(true);
  });
});

describe('subtractSorted', () => {
  it('keeps exactly the base items whose id is in none of the other streams, in order', async () => {
    await fc.assert(
      fc.asyncProperty(sortedIds, fc.array(sortedIds, { maxLength: 3 }), async (base, others) => {
        const got = await collect(
          subtractSorted(
            from(base.map((id) => ({ id }))),
            others.map((o) => from(o)),
          ),
        );
        expect(got.map((x) => x.id)).toEqual(base.filter((id) => !others.some((o) => o.includes(id))));
      }),
      { numRuns: 300 },
    );
  });

  it('closes the other streams when its reader stops early', async () => {
    const other = tracked([3, 4, 5]);
    for await (const item of subtractSorted(from([{ id: 1 }, { id: 2 }, { id: 6 }]), [other.stream]))
      if (item.id === 1) break;
    expect(other.closed()).toBe(true);
  });
});
