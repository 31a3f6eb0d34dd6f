/**
 * Fewer wake-ups in kafkajs's request queue (one per broker connection), which an idle service spent
 * most of its CPU on: about 900 a second, 4-7 % of a core for each process.
 *
 * - The idle loop, a defect of kafkajs 2.2.4 (its last release): with no request pending and no
 *   throttle, `scheduleCheckPendingRequests` sets a timer with a negative delay, whose callback sets
 *   the next one, so each used connection woke once a millisecond (tulios/kafkajs#1556, #1604, #1704;
 *   the fixes #1667 and #1768 were never released). With nothing pending there is nothing to check:
 *   `push` schedules a check when it queues a request, and a fulfilled or timed-out request checks
 *   the queue itself. A queue with requests pending keeps kafkajs's rule (at the throttle's end, else
 *   in 10 ms).
 * - The request-timeout sweep ran every 100 ms; once a second is enough for timeouts of 10 s and more
 *   (kafka-client.ts's requestTimeout; a consumer's fetch adds its wait to it).
 */
// kafkajs exports no types for its internals; its one class is patched where kafkajs defines it.
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js');

/** kafkajs's CHECK_PENDING_REQUESTS_INTERVAL (not exported). */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
const REQUEST_TIMEOUT_SWEEP_MS = 1000;

interface SocketRequestState {
  sentAt: number;
  requestTimeout: number;
  timeoutRequest(): void;
}

interface RequestQueueState {
  pending: unknown[];
  inflight: Map<number, SocketRequestState>;
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  requestTimeoutIntervalId?: NodeJS.Timeout;
  requestTimeout: number;
  enforceRequestTimeout: boolean;
  isConnected(): boolean;
  checkPendingRequests(): void;
  destroy(): void;
}

function scheduleCheckPendingRequests(this: RequestQueueState): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
  );
}

/** kafkajs's own sweep, once a second instead of every 100 ms. */
function scheduleRequestTimeoutCheck(this: RequestQueueState): void {
  if (!this.enforceRequestTimeout) return;
  this.destroy();
  this.requestTimeoutIntervalId = setInterval(
    () => {
      this.inflight.forEach((request) => {
        if (Date.now() - request.sentAt > request.requestTimeout) request.timeoutRequest();
      });
      if (!this.isConnected()) this.destroy();
    },
    Math.min(this.requestTimeout, REQUEST_TIMEOUT_SWEEP_MS),
  );
}

RequestQueue.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
RequestQueue.prototype.scheduleRequestTimeoutCheck = scheduleRequestTimeoutCheck;

export {};
