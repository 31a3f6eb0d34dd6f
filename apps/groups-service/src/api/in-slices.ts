/**
 * `fn` over `items`, yielding to the event loop between slices: a request that handles thousands of
 * items at once (50,000 lookups, 10,000 entries checked) would hold it for ~100 ms or more.
 */
export async function inSlices<T>(items: T[], fn: (item: T, index: number) => void, slice = 5000): Promise<void> {
  for (let i = 0; i < items.length; i += slice) {
    if (i) await new Promise((resolve) => setImmediate(resolve));
    for (let k = i; k < Math.min(i + slice, items.length); k++) fn(items[k], k);
  }
}
