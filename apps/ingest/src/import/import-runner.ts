import { HttpError } from '@tracker/http';
import type { InteractionRecord } from '@tracker/schemas';
import { prepareInteraction, type RequestContext } from '../normalize.js';
import type { EventSink } from '../plugins/events.plugin.js';
import type { ImportSummary } from '../schemas.js';
import type { ParamFilter } from '../url-privacy.js';
import { CsvHeaderError, fromExport, type ImportItem } from './readers.js';

export interface ImportOptions {
  sink: Pick<EventSink, 'publish' | 'metrics'>;
  /** The request's user agent, for items without their own. */
  userAgent: string | undefined;
  /** Events per produce call. */
  chunkEvents: number;
  /** How many rejections the summary lists (all are counted). */
  maxRejections: number;
  route: string;
  /** Query parameters kept in pages and referrers (INGEST_URL_QUERY_ALLOW). */
  keepParam?: ParamFilter;
  /** Takes `items` from the import's budget or throws (429): a chunkEvents' worth before reading them. */
  admit?: (items: number) => void;
}

/** Produce calls that may be in flight at once: parsing the next chunk overlaps producing the last. */
const WINDOW = 2;

/**
 * Reads items one by one, validates them, and produces the valid ones in chunks, awaiting Kafka's
 * acknowledgement before more than WINDOW chunks are outstanding. The input is pulled, so a slow
 * broker slows the reading of the upload (TCP backpressure) and memory stays constant.
 * On a failure (broker outage, size limit) it waits for the outstanding chunks and throws an HttpError
 * that says how many events were accepted before it.
 */
export async function runImport(
  items: AsyncIterable<ImportItem>,
  opts: ImportOptions,
): Promise<Omit<ImportSummary, 'format'>> {
  const summary: Omit<ImportSummary, 'format'> = {
    items: 0,
    accepted: 0,
    rejectedCount: 0,
    rejected: [],
    rejectedTruncated: false,
  };
  const inFlight: Promise<void>[] = [];
  let failure: unknown;
  let chunk: InteractionRecord[] = [];
  const context = (): RequestContext => ({
    receivedAt: Date.now(),
    userAgent: opts.userAgent,
    ...(opts.keepParam ? { keepParam: opts.keepParam } : {}),
  });
  let ctx = context();
  let reserved = 0;
  let lastLine = 0;
  // NOTE: chunks are acknowledged in order (one producer, one request in flight), so everything up to
  // the last line of the last acknowledged chunk is in Kafka: the point a client resumes from.
  let ackedThroughLine = 0;

  const reject = (line: number, errors: ImportSummary['rejected'][number]['errors'], reason: string) => {
    summary.rejectedCount += 1;
    opts.sink.metrics.rejected.inc({ route: opts.route, reason });
    if (summary.rejected.length < opts.maxRejections) summary.rejected.push({ line, errors });
    else summary.rejectedTruncated = true;
  };
  const flush = async () => {
    if (chunk.length === 0) return;
    const records = chunk;
    const throughLine = lastLine;
    chunk = [];
    inFlight.push(
      // Not refused by INGEST_PRODUCER_QUEUE_MAX_BYTES: WINDOW chunks bound an import's share, and
      // refusing a chunk mid-file would end the whole upload.
      opts.sink.publish(records, opts.route, { unbounded: true }).then(
        () => {
          summary.accepted += records.length;
          ackedThroughLine = Math.max(ackedThroughLine, throughLine);
        },
        (error: unknown) => {
          failure ??= error;
        },
      ),
    );
    while (inFlight.length >= WINDOW) await inFlight.shift();
    ctx = context();
  };

  try {
    for await (const item of items) {
      if (failure) break;
      if (reserved === 0) {
        // A chunk's worth of budget ahead, so nothing past the budget is produced.
        opts.admit?.(opts.chunkEvents);
        reserved = opts.chunkEvents;
      }
      reserved -= 1;
      summary.items += 1;
      lastLine = item.line;
      if ('errors' in item) {
        reject(item.line, item.errors, item.reason);
        if (item.fatal) break;
        continue;
      }
      const prepared = prepareInteraction(fromExport(item.value), ctx, item.bytes);
      if (!prepared.ok) reject(item.line, prepared.errors, prepared.reason);
      else {
        chunk.push(prepared.record);
        if (chunk.length >= opts.chunkEvents) await flush();
      }
    }
    if (!failure) await flush();
  } catch (error) {
    failure ??= error;
  }
  await Promise.all(inFlight);
  if (failure) throw withProgress(failure, summary.accepted, ackedThroughLine);
  return summary;
}

/** The error the client gets, saying what was accepted before the import stopped. */
function withProgress(error: unknown, accepted: number, throughLine: number): unknown {
  if (error instanceof CsvHeaderError) {
    return new HttpError(
      400,
      'INVALID_CSV_HEADER',
      'the CSV header row does not fit; nothing was imported',
      error.details,
    );
  }
  const progress =
    accepted === 0
      ? 'no event was accepted'
      : `${accepted} events up to line ${throughLine} were accepted; resend from line ${throughLine + 1} (events with an eventId are stored once)`;
  if (error instanceof HttpError) {
    return new HttpError(
      error.statusCode,
      error.code,
      `${error.message}; ${progress}`,
      error.details,
      error.headers,
    );
  }
  const e = error as { code?: string; statusCode?: number; message?: string };
  if (e?.code === 'FST_REQ_FILE_TOO_LARGE') {
    return new HttpError(413, 'PAYLOAD_TOO_LARGE', `the file is larger than the import limit; ${progress}`);
  }
  if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return new HttpError(e.statusCode, e.code ?? 'BAD_REQUEST', `${e.message}; ${progress}`);
  }
  return error;
}
