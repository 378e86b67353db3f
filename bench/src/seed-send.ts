import { setTimeout as sleep } from 'node:timers/promises';

/** A failure the seed cannot work around: printed as one clear line, exit code 1. */
export class SeedError extends Error {
  override name = 'SeedError';
}

export interface SendOptions {
  ingestUrl: string;
  writeKey?: string | undefined;
  /** Requests in flight at once. */
  concurrency: number;
  /** Attempts per request on 429/5xx/network errors before giving up. */
  maxAttempts?: number;
  /** First retry delay (ms), doubled per attempt; Retry-After wins when the server sends it. */
  retryBaseMs?: number;
  /** Per-request time limit (ms). */
  timeoutMs?: number;
}

export interface SendResult {
  accepted: number;
  rejected: number;
  /** A few rejection reasons, for the summary. */
  samples: string[];
  retries: number;
}

const describe = (error: unknown): string => {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(error);
};

/**
 * Fails with a clear message unless ingest answers /readyz with 200 (reachable, with Kafka and
 * the registry behind it).
 */
export async function checkIngest(ingestUrl: string, timeoutMs = 5000): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL('/readyz', ingestUrl), { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new SeedError(
      `ingest is not reachable at ${ingestUrl} (${describe(error)}). Start it with ./tracker up, or pass --ingest URL.`,
    );
  }
  if (res.status !== 200) {
    const body = await res.text().catch(() => '');
    throw new SeedError(
      `ingest at ${ingestUrl} is not ready (GET /readyz answered ${res.status}${body ? `: ${body.slice(0, 300)}` : ''}). Is Kafka running (./tracker status)?`,
    );
  }
}

interface Answer {
  status: number;
  body: string;
}

/** POSTs JSON, retrying 429/5xx/network errors with backoff; throws SeedError on anything else. */
async function post(path: string, payload: unknown, o: SendOptions, onRetry: () => void): Promise<Answer> {
  const maxAttempts = o.maxAttempts ?? 8;
  const base = o.retryBaseMs ?? 250;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.writeKey) headers['x-write-key'] = o.writeKey;
  const body = JSON.stringify(payload);
  for (let attempt = 1; ; attempt++) {
    let wait: number;
    let why: string;
    try {
      const res = await fetch(new URL(path, o.ingestUrl), {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(o.timeoutMs ?? 30_000),
      });
      const text = await res.text();
      if (res.status < 300 || res.status === 207) return { status: res.status, body: text };
      if (res.status !== 429 && res.status < 500) {
        const hint = res.status === 401 ? ' (pass --write-key, or set INGEST_WRITE_KEYS)' : '';
        throw new SeedError(`ingest refused POST ${path} with ${res.status}${hint}: ${text.slice(0, 500)}`);
      }
      const retryAfter = Number(res.headers.get('retry-after'));
      wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : base * 2 ** (attempt - 1);
      why = `HTTP ${res.status}`;
    } catch (error) {
      if (error instanceof SeedError) throw error;
      wait = base * 2 ** (attempt - 1);
      why = describe(error);
    }
    if (attempt >= maxAttempts) {
      throw new SeedError(
        `POST ${path} failed ${maxAttempts} times, last: ${why}. Is ingest healthy (./tracker status)?`,
      );
    }
    onRetry();
    await sleep(Math.min(wait, 30_000) * (0.5 + Math.random() / 2));
  }
}

/** Runs `work` over `items` with at most `concurrency` at once; the first failure stops the rest. */
async function pool<T>(
  items: Iterable<T>,
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const it = items[Symbol.iterator]();
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined) {
      const next = it.next();
      if (next.done) return;
      try {
        await work(next.value);
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  if (failed !== undefined) throw failed;
}

/** Sends batches to POST /v1/batch, `concurrency` at a time; counts what ingest accepted and refused. */
export async function sendBatches(
  batches: Iterable<unknown[]>,
  o: SendOptions,
  onBatch: (size: number) => void = () => {},
): Promise<SendResult> {
  const result: SendResult = { accepted: 0, rejected: 0, samples: [], retries: 0 };
  await pool(batches, o.concurrency, async (events) => {
    const answer = await post('/v1/batch', { events }, o, () => result.retries++);
    const parsed = JSON.parse(answer.body || '{}') as {
      accepted?: unknown[];
      rejected?: { index: number; errors: { path: string; message: string }[] }[];
    };
    result.accepted += parsed.accepted?.length ?? events.length;
    for (const r of parsed.rejected ?? []) {
      result.rejected++;
      if (result.samples.length < 5)
        result.samples.push(r.errors.map((e) => `${e.path} ${e.message}`).join('; '));
    }
    onBatch(events.length);
  });
  return result;
}

/** Sends identify calls to POST /v1/identify, `concurrency` at a time. */
export async function sendIdentifies(
  calls: Iterable<unknown>,
  o: SendOptions,
  onCall: () => void = () => {},
): Promise<number> {
  let sent = 0;
  await pool(calls, o.concurrency, async (call) => {
    await post('/v1/identify', call, o, () => {});
    sent++;
    onCall();
  });
  return sent;
}

/** Groups an iterable into arrays of `size`. */
export function* chunks<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}
