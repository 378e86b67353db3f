/**
 * HTTP load through autocannon: fixed duration or request count, optional fixed overall rate; every
 * 2xx response's latency is kept so percentiles are computed exactly (bench-report.ts), not read
 * from autocannon's fixed percentile set (which has no p95).
 */
import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import { type LatencySummary, requestsInBudget, summarize } from './bench-report.js';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: string;
  headers?: Record<string, string>;
}

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:3001 */
  url: string;
  connections: number;
  /** Run for this many seconds... */
  durationS?: number;
  /** ...or until this many responses. */
  amount?: number;
  /** Requests per second over all connections (a steady rate instead of as fast as possible). */
  overallRate?: number;
  /** Cycled through by every connection. */
  requests: LoadRequest[];
  timeoutS?: number;
}

export interface LoadResult {
  /** Wall time of the run in ms. */
  ms: number;
  /** 2xx responses. */
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Latency of every 2xx response, ms. */
  latencies: number[];
}

/** Runs one autocannon load and returns what it measured. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const started = performance.now();
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    pipelining: 1,
    timeout: o.timeoutS ?? 10,
    ...(o.amount !== undefined ? { amount: o.amount } : { duration: o.durationS ?? 10 }),
    ...(o.overallRate !== undefined ? { overallRate: o.overallRate } : {}),
    requests: o.requests.map((r) => ({
      method: r.method,
      path: r.path,
      ...(r.body !== undefined ? { body: r.body } : {}),
      headers: { ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
    })),
  }) as unknown as EventEmitter & PromiseLike<autocannon.Result>;
  // NOTE: without a callback autocannon returns its tracker (an EventEmitter) made thenable.
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const ms = performance.now() - started;
  return {
    ms,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latencies,
  };
}

/** A short description of what went wrong in a load, or undefined when every request got a 2xx. */
export function loadProblems(r: LoadResult): string | undefined {
  if (r.non2xx === 0 && r.errors === 0 && r.timeouts === 0) return undefined;
  return `non-2xx ${r.non2xx} (${JSON.stringify(r.statusCodes)}), errors ${r.errors}, timeouts ${r.timeouts}`;
}

export interface BudgetedOptions {
  url: string;
  request: LoadRequest;
  /** Requests before the measured ones (their latencies also tell how many fit the budget). */
  warmup: number;
  /** Seconds of measured requests, within [least, most] requests. */
  budgetS: number;
  most: number;
  least: number;
  timeoutS: number;
}

/**
 * Sequential requests on one connection (the latency one dashboard sees): `warmup` of them, then as
 * many as fit the time budget at the warm-up's pace. Returns the measured run and its percentiles.
 */
export async function timeRequests(
  o: BudgetedOptions,
): Promise<{ run: LoadResult; latency: LatencySummary }> {
  const base = { url: o.url, connections: 1, requests: [o.request], timeoutS: o.timeoutS };
  const warm = o.warmup > 0 ? await runLoad({ ...base, amount: o.warmup }) : undefined;
  // NOTE: from the responses' latencies, not the run's wall time: that includes autocannon's
  // start-up (~0.5 s), which made every stats filter get ~30 requests, so that p95 was the
  // second-slowest of them.
  const each = warm ? summarize(warm.latencies).mean : Number.NaN;
  const run = await runLoad({ ...base, amount: requestsInBudget(each, o.budgetS, o.most, o.least) });
  return { run, latency: summarize(run.latencies) };
}
