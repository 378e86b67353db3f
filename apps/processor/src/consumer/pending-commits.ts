/** An offset to commit for one partition. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

const key = (topic: string, partition: number) => `${topic}:${partition}`;
const newer = (a: string, b: string) => BigInt(a) > BigInt(b);

/**
 * Commits that failed (typically during a rebalance: "generation id is not valid"). A partition's next
 * commit makes one good, but after the last batch of a stream there is none, and the group's lag
 * would stay at that batch for good; so they are tried again once the consumer has (re)joined, for
 * the partitions it still owns (the new owner of another starts from the committed offset, reads the
 * batch again and deduplicates it).
 */
export class PendingCommits {
  readonly #failed = new Map<string, PartitionOffset>();

  /** A commit of `p` failed: keep the newest such offset per partition. */
  failed(p: PartitionOffset): void {
    const seen = this.#failed.get(key(p.topic, p.partition));
    if (!seen || newer(p.offset, seen.offset)) this.#failed.set(key(p.topic, p.partition), p);
  }

  /** A commit of `p` succeeded: a failed one at or below it is made good. */
  committed(p: PartitionOffset): void {
    const seen = this.#failed.get(key(p.topic, p.partition));
    if (seen && !newer(seen.offset, p.offset)) this.#failed.delete(key(p.topic, p.partition));
  }

  /**
   * The failed commits to try again after joining with `assignment` (topic → partitions); those of
   * partitions no longer owned are forgotten.
   */
  takeFor(assignment: Record<string, number[]>): PartitionOffset[] {
    const owned = new Set(Object.entries(assignment).flatMap(([t, ps]) => ps.map((p) => key(t, p))));
    const retry = [...this.#failed.entries()].filter(([k]) => owned.has(k)).map(([, p]) => p);
    this.#failed.clear();
    return retry;
  }

  get size(): number {
    return this.#failed.size;
  }
}
