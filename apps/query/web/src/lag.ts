export interface Lag {
  lagging: boolean;
  /** Messages on the topic not yet stored (consumer lag summed over partitions), when known. */
  consumerLag: number | null;
  /** Age of the newest stored event in milliseconds, when known. */
  ageMs: number | null;
}

/** A backlog only counts as lagging once the newest stored event is older than this. */
export const LAG_NOTICE_MS = 10_000;

const num = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** The payload of a `lag` server-sent event, or null when it is not one. */
export function parseLag(data: unknown): Lag | null {
  if (typeof data !== 'object' || data === null) return null;
  const d = data as Record<string, unknown>;
  const consumerLag = num(d.consumerLag);
  const ageMs = num(d.newestEventAgeMs);
  // A backlog alone is normal between two batches; it is a delay once what is stored is getting old.
  const lagging =
    typeof d.lagging === 'boolean'
      ? d.lagging
      : (consumerLag ?? 0) > 0 && (ageMs === null || ageMs > LAG_NOTICE_MS);
  return { lagging, consumerLag, ageMs };
}
