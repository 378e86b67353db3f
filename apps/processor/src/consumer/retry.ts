import { sqlStateOf } from '@tracker/db';
/** What to do with an error from the database, the registry or the DLQ producer. */
export type Failure =
  /** An outage (connection lost, database restarting, deadlock): back off and try again. */
  | 'retry'
  /** The database refused these rows' data: isolate the offending records and dead-letter them. */
  | 'reject';

// SQLSTATE classes caused by the data itself: 22 data exception (e.g. NUL in text), 23 integrity
// violation, 54 program limit exceeded (e.g. index row too large for a very long page).
const DATA_CLASSES = new Set(['22', '23', '54']);

/**
 * Classifies an error. Only errors that PostgreSQL raised because of the rows' content are
 * 'reject'; everything else (network errors, shutdowns, deadlocks, serialization failures, unknown
 * errors) is treated as an outage, so that nothing is dead-lettered because a dependency was down.
 */
export function classifyDbError(error: unknown): Failure {
  const code = sqlStateOf(error);
  if (code !== undefined && DATA_CLASSES.has(code.slice(0, 2))) return 'reject';
  return 'retry';
}

export interface BackoffOptions {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxDelayMs: number;
  /** Give up when the outage has lasted this long. */
  maxTotalMs: number;
}

/**
 * Delay before retry number `attempt` (0-based): exponential from initialMs, capped at maxDelayMs,
 * with "equal jitter" (between half and all of it) so that instances do not retry in lockstep.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const base = Math.min(opts.maxDelayMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base / 2 + (base / 2) * random());
}

/** The outage lasted longer than PROCESSOR_MAX_RETRY_MS: the process must exit for its supervisor. */
export class OutageTooLongError extends Error {
  override name = 'OutageTooLongError';
  constructor(
    readonly what: string,
    readonly elapsedMs: number,
    override readonly cause: unknown,
  ) {
    super(`${what} still failing after ${elapsedMs} ms: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** Shutdown was requested while waiting to retry: leave without committing. */
export class RetryAbortedError extends Error {
  override name = 'RetryAbortedError';
}

/**
 * When the current outage began. Shared by every batch of the process, so that the limit applies to
 * the outage, not to one batch (a rebalance during an outage does not restart the clock).
 */
export class OutageClock {
  since: number | null = null;
  constructor(private readonly now: () => number = Date.now) {}
  fail(): number {
    this.since ??= this.now();
    return this.now() - this.since;
  }
  ok(): void {
    this.since = null;
  }
}

export interface RetryContext {
  what: string;
  backoff: BackoffOptions;
  clock: OutageClock;
  /** Errors this returns 'reject' for are thrown to the caller at once. */
  classify?: (error: unknown) => Failure;
  /** Called while waiting (keeps the consumer group membership). */
  heartbeat?: () => Promise<void>;
  /** Aborts the wait (shutdown). */
  signal?: AbortSignal;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new RetryAbortedError('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new RetryAbortedError('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds. Outage errors are retried with exponential backoff (heartbeating
 * meanwhile); past backoff.maxTotalMs of continuous outage it throws OutageTooLongError. Errors
 * classified 'reject' are rethrown at once.
 */
export async function withRetry<T>(fn: () => Promise<T>, ctx: RetryContext): Promise<T> {
  const wait = ctx.sleep ?? sleep;
  for (let attempt = 0; ; attempt += 1) {
    if (ctx.signal?.aborted) throw new RetryAbortedError('aborted');
    try {
      const result = await fn();
      ctx.clock.ok();
      return result;
    } catch (error) {
      if ((ctx.classify ?? (() => 'retry' as const))(error) === 'reject') throw error;
      const elapsed = ctx.clock.fail();
      if (elapsed >= ctx.backoff.maxTotalMs) throw new OutageTooLongError(ctx.what, elapsed, error);
      const delay = Math.min(
        backoffDelay(attempt, ctx.backoff),
        Math.max(1, ctx.backoff.maxTotalMs - elapsed),
      );
      ctx.onRetry?.(error, attempt, delay);
      // Sleep in slices so the group membership survives long waits.
      let left = delay;
      while (left > 0) {
        const slice = Math.min(left, 1000);
        await wait(slice, ctx.signal);
        left -= slice;
        await ctx.heartbeat?.();
      }
    }
  }
}
