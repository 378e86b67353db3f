import type { PrismaSql } from './client.js';
import type { Queryable } from './snapshot.js';

export interface ApiHitDelta {
  /** Sender-chosen id; a delta with an id already recorded is ignored. */
  batchId: string;
  service: string;
  hits: number;
}

/** How long a delta's id is kept to refuse its redelivery; redeliveries come within minutes. */
export const API_HIT_BATCH_RETENTION_HOURS = 24;
/** Expired ids removed per call at most, so one call stays cheap however far behind pruning is. */
const PRUNE_PER_CALL = 1000;

/**
 * Adds hit deltas to the per-service totals exactly once (set-based: one statement for any number
 * of deltas), and removes up to PRUNE_PER_CALL ids older than API_HIT_BATCH_RETENTION_HOURS, so the
 * dedupe table stays small with no job of its own. Call inside the caller's transaction when the
 * deltas come from Kafka, so the offsets and the counts commit together.
 */
export async function recordApiHits(db: PrismaSql, deltas: ApiHitDelta[]): Promise<number> {
  if (deltas.length === 0) return 0;
  const rows = await db.$queryRaw<{ added: number }[]>`
    WITH pruned AS (
       DELETE FROM api_hit_batches WHERE batch_id IN (
         SELECT batch_id FROM api_hit_batches
          WHERE recorded_at < now() - make_interval(hours => ${API_HIT_BATCH_RETENTION_HOURS}) LIMIT ${PRUNE_PER_CALL})
     ), fresh AS (
       INSERT INTO api_hit_batches (batch_id, service, hits)
       SELECT * FROM unnest(${deltas.map((d) => d.batchId)}::uuid[], ${deltas.map((d) => d.service)}::text[],
                            ${deltas.map((d) => d.hits)}::bigint[])
       ON CONFLICT (batch_id) DO NOTHING
       RETURNING service, hits
     ), sums AS (
       SELECT service, sum(hits)::bigint AS hits FROM fresh GROUP BY service
     ), up AS (
       INSERT INTO api_hits (service, hits, updated_at)
       SELECT service, hits, now() FROM sums
       ON CONFLICT (service) DO UPDATE SET hits = api_hits.hits + EXCLUDED.hits, updated_at = now()
       RETURNING 1
     )
     SELECT coalesce((SELECT sum(hits) FROM sums), 0)::float8 AS added`;
  return Number(rows[0]?.added ?? 0);
}

/** Total hits over all services (read inside /api/stats' snapshot, so on its own connections). */
export async function totalApiHits(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ total: number }>(
    'SELECT coalesce(sum(hits), 0)::bigint AS total FROM api_hits',
  );
  return Number(rows[0]?.total ?? 0);
}
