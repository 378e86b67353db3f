import { type ErrorDetail, HttpError, type TrackerApp } from '@tracker/http';
import type { InteractionRecord } from '@tracker/schemas';
import type { FastifyRequest } from 'fastify';
import type { IngestConfig } from './config.js';
import { EventRate } from './event-rate.js';
import type { Prepared, RequestContext } from './normalize.js';
import type { BatchResult } from './schemas.js';
import type { ParamFilter } from './url-privacy.js';

/** Adds `prefix` to item-relative error paths (`userId` → `body.events.3.userId`). */
export function prefixed(prefix: string, errors: ErrorDetail[]): ErrorDetail[] {
  return errors.map((e) => ({ path: e.path ? `${prefix}.${e.path}` : prefix, message: e.message }));
}

/** Where a request's items are, for error paths: the list (`body.events`) and each item (`body.events.3`). */
export interface ItemPaths {
  list: string;
  item: (index: number) => string;
}

export const listPaths = (list: string): ItemPaths => ({ list, item: (i) => `${list}.${i}` });

/**
 * The one way a request's events become records on the topic, whatever protocol they came in:
 * the batch-size limit, the event budget (INGEST_EVENT_RATE_MAX, one budget for every route), each
 * item prepared on its own (refused ones reported with their path, counted by reason), and one
 * publish that resolves once Kafka acknowledged every accepted item.
 */
export class Intake {
  readonly eventRate: EventRate;

  constructor(
    private readonly app: TrackerApp,
    private readonly config: IngestConfig,
    readonly keepParam: ParamFilter,
  ) {
    this.eventRate = new EventRate({
      max: config.INGEST_EVENT_RATE_MAX,
      windowMs: config.INGEST_RATE_LIMIT_WINDOW_MS,
      bucket: 'key+address',
      setting: 'INGEST_EVENT_RATE_MAX',
    });
  }

  /** What the request itself tells about every event in it. */
  context(request: FastifyRequest): RequestContext {
    const ua = request.headers['user-agent'];
    return {
      receivedAt: Date.now(),
      userAgent: typeof ua === 'string' && ua.length > 0 ? ua : undefined,
      keepParam: this.keepParam,
    };
  }

  /**
   * Validates every item, produces the valid ones; throws 413 when too many were sent, 429 past the
   * event budget, 400 when none is valid (every refusal listed), 503 when Kafka did not acknowledge
   * or the producer queue is full.
   */
  async batch<T>(
    request: FastifyRequest,
    route: string,
    items: readonly T[],
    paths: ItemPaths,
    prepare: (item: T, index: number, ctx: RequestContext) => Prepared,
  ): Promise<BatchResult> {
    const metrics = this.app.events.metrics;
    if (items.length > this.config.INGEST_BATCH_MAX_EVENTS) {
      throw new HttpError(
        413,
        'TOO_MANY_EVENTS',
        `a batch may have at most ${this.config.INGEST_BATCH_MAX_EVENTS} events`,
        [{ path: paths.list, message: `has ${items.length} items` }],
      );
    }
    metrics.requestEvents.observe({ route }, items.length);
    this.eventRate.take(request, items.length);
    const ctx = this.context(request);
    const result: BatchResult = { accepted: [], rejected: [] };
    const records: InteractionRecord[] = [];
    items.forEach((item, index) => {
      const prepared = prepare(item, index, ctx);
      if (prepared.ok) {
        records.push(prepared.record);
        result.accepted.push({ index, id: prepared.record.eventId });
      } else {
        metrics.rejected.inc({ route, reason: prepared.reason });
        result.rejected.push({ index, errors: prefixed(paths.item(index), prepared.errors) });
      }
    });
    if (records.length === 0) {
      throw new HttpError(
        400,
        'VALIDATION_FAILED',
        `none of the ${items.length} events is valid`,
        result.rejected.flatMap((r) => r.errors),
      );
    }
    await this.eventRate.refundingUnavailable(request, items.length, () =>
      this.app.events.publish(records, route),
    );
    return result;
  }
}
