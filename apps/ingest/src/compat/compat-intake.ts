import type { ErrorDetail } from '@tracker/http';
import type { FastifyRequest } from 'fastify';
import type { Intake, ItemPaths } from '../intake.js';
import type { BatchResult } from '../schemas.js';
import { type Mapped, prepareCompat } from './compat-event.js';
import { MAX_DROPPED_LISTED } from './schemas.js';

export interface CompatOutcome extends BatchResult {
  dropped: (ErrorDetail & { index: number })[];
  droppedCount: number;
}

/**
 * Maps each message (`map`) and hands it to the one intake path (Intake.batch: limits, budget,
 * our validation, publish once Kafka acknowledged). A message that cannot be mapped is refused
 * like an invalid event, with its path; what accepted messages lost on the way is listed.
 */
export async function ingestCompat(
  intake: Intake,
  request: FastifyRequest,
  route: string,
  messages: readonly unknown[],
  paths: ItemPaths,
  map: (message: unknown) => Mapped,
): Promise<CompatOutcome> {
  const dropped: CompatOutcome['dropped'] = [];
  let droppedCount = 0;
  const result = await intake.batch(request, route, messages, paths, (message, index, ctx) => {
    const mapped = map(message);
    if (!mapped.ok) return { ok: false, reason: 'schema', errors: mapped.errors };
    const { prepared, dropped: lost } = prepareCompat(mapped.event, ctx);
    if (prepared.ok) {
      droppedCount += lost.length;
      for (const d of lost) if (dropped.length < MAX_DROPPED_LISTED) dropped.push({ index, ...d });
    }
    return prepared;
  });
  return { ...result, dropped, droppedCount };
}
