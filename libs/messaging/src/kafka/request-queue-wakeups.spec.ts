// kafka-client.ts is what every client goes through: importing it (and nothing else here) patches
// kafkajs's request queue.
import './kafka-client';

const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');

/** request-queue-wakeups.ts's sweep. */
const REQUEST_TIMEOUT_SWEEP_MS = 1000;
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function queue(options: { maxInFlightRequests?: number; requestTimeout?: number } = {}) {
  return new RequestQueue({
    maxInFlightRequests: options.maxInFlightRequests ?? null,
    requestTimeout: options.requestTimeout ?? 10_000,
    enforceRequestTimeout: true,
    clientId: 'spec',
    broker: 'broker:9092',
    logger,
  });
}

let correlationId = 0;
/** A request as kafkajs's connection pushes it; `sent` records the ids the queue sends. */
function request(sent: number[]) {
  const id = ++correlationId;
  let entry!: { correlationId: number; resolve: (r: unknown) => void; reject: (e: unknown) => void };
  const done = new Promise((resolve, reject) => (entry = { correlationId: id, resolve, reject }));
  done.catch(() => undefined);
  return { id, done, pushed: { entry, expectResponse: true, sendRequest: () => sent.push(id) } };
}

describe("kafkajs's request queue, patched (request-queue-wakeups.ts)", () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sets no timer once the last request is answered (kafkajs 2.2.4 woke every millisecond from then on)', () => {
    const q = queue();
    q.scheduleRequestTimeoutCheck();
    const sent: number[] = [];
    const r = request(sent);
    q.push(r.pushed);
    expect(sent).toEqual([r.id]);
    q.fulfillRequest({ correlationId: r.id, payload: Buffer.alloc(0), size: 0 });
    // Only the timeout sweep remains: no check of an empty queue.
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(5_000);
    expect(q.throttleCheckTimeoutId).toBeNull();
    q.destroy();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('sends a request queued behind the in-flight limit when the one before it is answered', () => {
    const q = queue({ maxInFlightRequests: 1 });
    const sent: number[] = [];
    const [first, second] = [request(sent), request(sent)];
    q.push(first.pushed);
    q.push(second.pushed);
    expect(sent).toEqual([first.id]);
    q.fulfillRequest({ correlationId: first.id, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([first.id, second.id]);
    q.destroy();
  });

  it('sends a request queued while throttled once the throttle ends', () => {
    const q = queue();
    const sent: number[] = [];
    q.maybeThrottle(500);
    const r = request(sent);
    q.push(r.pushed);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(499);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(20);
    expect(sent).toEqual([r.id]);
    q.destroy();
  });

  it('times out an unanswered request within a sweep of its timeout', () => {
    const q = queue({ requestTimeout: 10_000 });
    q.scheduleRequestTimeoutCheck();
    const sent: number[] = [];
    const r = request(sent);
    let timedOut: unknown;
    r.done.catch((error) => (timedOut = error));
    q.push(r.pushed);
    jest.advanceTimersByTime(10_000);
    expect(q.inflight.has(r.id)).toBe(true);
    // Swept once a second, not every 100 ms (kafkajs's): half a second past its timeout, still there.
    jest.advanceTimersByTime(REQUEST_TIMEOUT_SWEEP_MS / 2);
    expect(q.inflight.has(r.id)).toBe(true);
    jest.advanceTimersByTime(REQUEST_TIMEOUT_SWEEP_MS / 2);
    expect(q.inflight.has(r.id)).toBe(false);
    q.destroy();
    return Promise.resolve().then(() => expect(String(timedOut)).toMatch(/timed out/i));
  });
});
