import { Logger } from '@nestjs/common';
import { AttemptStore, AttemptTracker } from './attempt-tracker';
import { ConsumerStalls } from './consumer-stalls';
import { nextChunk } from './message-chunks';
import { StallTracker } from './stall-tracker';

const at = { topic: 't', partition: 0 };
const quiet = { warn: () => undefined } as unknown as Logger;

describe('nextChunk', () => {
  const message = (offset: number, bytes: number) => ({
    offset: String(offset),
    key: null,
    value: Buffer.alloc(bytes),
  });
  const offsets = (chunk: Array<{ offset: string }>) => chunk.map((m) => Number(m.offset));

  it.each([
    ['the message limit', [10, 10, 10, 10], { maxMessages: 3, maxBytes: 1000 }, [0, 1, 2]],
    ['the byte limit', [40, 40, 40, 40], { maxMessages: 10, maxBytes: 100 }, [0, 1]],
    ['one message over the byte limit alone (at least one)', [500, 10], { maxMessages: 10, maxBytes: 100 }, [0]],
  ])('stops at %s', (_, sizes, limits, expected) => {
    expect(
      offsets(
        nextChunk(
          sizes.map((s, i) => message(i, s)),
          0,
          limits,
        ),
      ),
    ).toEqual(expected);
  });

  it('takes one message at a time up to the run being retried message by message', () => {
    const messages = [10, 10, 10, 10].map((s, i) => message(i, s));
    expect(offsets(nextChunk(messages, 0, { maxMessages: 10, maxBytes: 1000 }, 1n))).toEqual([0]);
    expect(offsets(nextChunk(messages, 2, { maxMessages: 10, maxBytes: 1000 }, 1n))).toEqual([2, 3]);
  });
});

describe('StallTracker.outageStart', () => {
  const tracker = (stored: Date) =>
    new StallTracker(
      'g',
      { failed: async () => stored, cleared: async () => undefined } as unknown as ConsumerStalls,
      quiet,
    );

  it('counts from the stall row a previous owner wrote when it is the earlier (a rebalance or a restart does not start the budget afresh)', async () => {
    const earlier = new Date('2026-12-07T08:00:00Z');
    expect(await tracker(earlier).outageStart(at, '5', new Date('2026-12-07T08:30:00Z'), 'down')).toEqual(earlier);
  });

  it('counts from its own first failure when that is the earlier', async () => {
    const own = new Date('2026-12-07T08:00:00Z');
    expect(await tracker(new Date('2026-12-07T08:30:00Z')).outageStart(at, '5', own, 'down')).toEqual(own);
  });
});

describe('AttemptTracker.clear', () => {
  it('keeps the row of a later message: only a partition past the counted message clears it', async () => {
    const cleared: string[] = [];
    const store: AttemptStore = {
      get: async () => undefined,
      begin: async (_g, _t, _p, first, last) => ({ offset: first, lastOffset: last, attempts: 1 }),
      set: async () => undefined,
      cleared: async (_g, _t, _p, offset) => void cleared.push(offset),
    };
    const tracker = new AttemptTracker('g', store, quiet);
    await tracker.begin(at, '7', '7', true);
    await tracker.clear(at, '6'); // a commit below the counted message
    expect(cleared).toEqual([]);
    await tracker.clear(at, '7');
    expect(cleared).toEqual(['7']);
  });
});
