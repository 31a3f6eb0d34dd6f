import fc from 'fast-check';
import { intersectSorted } from './sorted-streams';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}

describe('intersectSorted', () => {
  it('keeps exactly the base items whose id is in every other stream, in order', async () => {
    const ids = fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { maxLength: 40 }).map((a) => a.sort((x, y) => x - y));
    await fc.assert(fc.asyncProperty(ids, fc.array(ids, { maxLength: 3 }), async (base, others) => {
      const got = await collect(intersectSorted(from(base.map((id) => ({ id }))), others.map((o) => from(o))));
      expect(got.map((x) => x.id)).toEqual(base.filter((id) => others.every((o) => o.includes(id))));
    }), { numRuns: 300 });
  });
});
