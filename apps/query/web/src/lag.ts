/** Pipeline delay as the notice explains it. */
export interface Lag {
  lagging: boolean;
  /** Messages on the topic not yet stored (consumer lag summed over partitions), when known. */
  consumerLag: number | null;
  /** Age of the newest stored event in milliseconds, when known. */
  ageMs: number | null;
  /** How long ago a processor last stored a batch, when known. */
  sinceBatchMs: number | null;
  /** How far the read replica the numbers come from is behind the primary; null without a replica. */
  replicaDelayMs: number | null;
  /** Since when raw rows (the table, exports) are kept, as an ISO instant; null: all are kept. */
  rawRowsFrom: string | null;
}

/** A backlog this large is a delay whatever else is going on. */
export const LAG_BACKLOG = 1000;
/** A backlog with no batch stored for this long means the processors are stuck or gone. */
export const LAG_STALL_MS = 10_000;
/** A backlog while the newest stored event is older than this means the numbers are behind. */
export const LAG_STALE_MS = 30_000;
/** A read replica this far behind its primary is a delay on its own (the numbers are that old). */
export const LAG_REPLICA_MS = 10_000;

const num = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;
const time = (value: unknown): number | null => {
  const t = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(t) ? null : t;
};

/**
 * The payload of a `lag` server-sent event, or null when it is not one. Some backlog is normal
 * between two batches; the notice shows when the backlog is large, when it is not moving (no batch
 * stored lately), or when the newest stored data is getting old while events wait; and when the read
 * replica the numbers come from is well behind its primary.
 */
export function parseLag(data: unknown): Lag | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const consumerLag = num(d.consumerLag);
  const ageMs = num(d.newestEventAgeMs);
  const replicaDelayMs = num(d.replicaDelayMs);
  // Compare server times with the server's clock (`at`), not the viewer's.
  const now = time(d.at) ?? Date.now();
  const lastBatch = time(d.lastBatchAt);
  const sinceBatchMs = lastBatch === null ? null : Math.max(0, now - lastBatch);
  const waiting = (consumerLag ?? 0) > 0;
  const lagging =
    typeof d.lagging === 'boolean'
      ? d.lagging
      : (replicaDelayMs ?? 0) >= LAG_REPLICA_MS ||
        (waiting &&
          ((consumerLag ?? 0) >= LAG_BACKLOG ||
            sinceBatchMs === null ||
            sinceBatchMs > LAG_STALL_MS ||
            (ageMs !== null && ageMs > LAG_STALE_MS)));
  const rawRowsFrom = time(d.rawRowsFrom) === null ? null : new Date(time(d.rawRowsFrom)!).toISOString();
  return { lagging, consumerLag, ageMs, sinceBatchMs, replicaDelayMs, rawRowsFrom };
}
