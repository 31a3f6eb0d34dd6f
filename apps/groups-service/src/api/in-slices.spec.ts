import { inSlices, jsonInSlices, mapInSlices } from './in-slices';

async function text(file: ReturnType<typeof jsonInSlices>): Promise<string> {
  let out = '';
  for await (const chunk of file.getStream()) out += String(chunk);
  return out;
}

describe('jsonInSlices', () => {
  it.each([0, 1, 3, 2001])('writes the bytes JSON.stringify would, for %i items, slice after slice', async (n) => {
    const items = Array.from({ length: n }, (_, i) => ({ row: i + 2, username: `u"${i}`, result: 'added' }));
    expect(await text(jsonInSlices({}, 'results', items, 2))).toBe(JSON.stringify({ results: items }));
    expect(await text(jsonInSlices({ dry_run: true, summary: { rows: n } }, 'results', items, 1000))).toBe(
      JSON.stringify({ dry_run: true, summary: { rows: n }, results: items }),
    );
  });

  it('answers application/json', () => {
    expect(jsonInSlices({}, 'results', []).getHeaders().type).toMatch(/^application\/json/);
  });
});

describe('inSlices and mapInSlices', () => {
  it('visit every item once, in order, and let other work run between two slices', async () => {
    const seen: number[] = [];
    let otherWorkRanAfter = -1;
    setImmediate(() => (otherWorkRanAfter = seen.length));
    await inSlices(
      Array.from({ length: 10 }, (_, i) => i),
      (item) => seen.push(item),
      3,
    );
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(otherWorkRanAfter).toBe(3); // after the first slice, not after all ten
    expect(await mapInSlices([1, 2, 3], (x) => x * 2, 2)).toEqual([2, 4, 6]);
  });
});
