/** The bounds of one handler call. */
export interface ChunkLimits {
  maxMessages: number;
  maxBytes: number;
}

type Sized = { offset: string; key?: Buffer | null; value: Buffer | null };

/**
 * The run of `messages` from `from` that one handler call takes: up to the limits (at least one
 * message), and a single message while the partition goes message by message (up to `singleUntil`).
 */
export function nextChunk<M extends Sized>(
  messages: M[],
  from: number,
  limits: ChunkLimits,
  singleUntil?: bigint,
): M[] {
  const chunk: M[] = [];
  let bytes = 0;
  for (let i = from; i < messages.length && chunk.length < limits.maxMessages; i++) {
    const size = (messages[i].value?.length ?? 0) + (messages[i].key?.length ?? 0);
    if (
      chunk.length &&
      (bytes + size > limits.maxBytes || (singleUntil !== undefined && BigInt(chunk[0].offset) <= singleUntil))
    )
      break;
    chunk.push(messages[i]);
    bytes += size;
  }
  return chunk;
}
