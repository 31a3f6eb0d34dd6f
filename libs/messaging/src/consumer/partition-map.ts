/** One partition of one topic; its key in the maps below is private to them. */
export interface PartitionRef {
  topic: string;
  partition: number;
}

const keyOf = ({ topic, partition }: PartitionRef) => `${topic}\u0000${partition}`;

/** Per-partition state: a Map keyed by topic and partition instead of `topic|partition` strings. */
export class PartitionMap<V> {
  private readonly entries = new Map<string, { at: PartitionRef; value: V }>();

  get size(): number {
    return this.entries.size;
  }

  get(at: PartitionRef): V | undefined {
    return this.entries.get(keyOf(at))?.value;
  }

  has(at: PartitionRef): boolean {
    return this.entries.has(keyOf(at));
  }

  set(at: PartitionRef, value: V): this {
    this.entries.set(keyOf(at), { at: { topic: at.topic, partition: at.partition }, value });
    return this;
  }

  delete(at: PartitionRef): boolean {
    return this.entries.delete(keyOf(at));
  }

  clear(): void {
    this.entries.clear();
  }

  values(): V[] {
    return [...this.entries.values()].map((e) => e.value);
  }

  /** Each partition with its value, in insertion order. */
  list(): Array<[PartitionRef, V]> {
    return [...this.entries.values()].map((e) => [e.at, e.value]);
  }
}

/** A set of partitions. */
export class PartitionSet {
  private readonly map = new PartitionMap<true>();

  has(at: PartitionRef): boolean {
    return this.map.has(at);
  }

  add(at: PartitionRef): void {
    this.map.set(at, true);
  }

  delete(at: PartitionRef): void {
    this.map.delete(at);
  }

  clear(): void {
    this.map.clear();
  }
}

/** Per-message state: keyed by partition and offset. */
export class MessageMap<V> {
  private readonly partitions = new PartitionMap<Map<string, V>>();

  get(at: PartitionRef, offset: string): V | undefined {
    return this.partitions.get(at)?.get(offset);
  }

  has(at: PartitionRef, offset: string): boolean {
    return this.partitions.get(at)?.has(offset) ?? false;
  }

  set(at: PartitionRef, offset: string, value: V): void {
    const offsets = this.partitions.get(at) ?? new Map<string, V>();
    offsets.set(offset, value);
    this.partitions.set(at, offsets);
  }

  delete(at: PartitionRef, offset: string): void {
    const offsets = this.partitions.get(at);
    if (!offsets) return;
    offsets.delete(offset);
    if (!offsets.size) this.partitions.delete(at);
  }

  clear(): void {
    this.partitions.clear();
  }
}
