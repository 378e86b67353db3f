import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSeedArgs } from './seed-args.js';
import { runSeed } from './seed-run.js';
import { checkIngest, chunks, SeedError, sendBatches } from './seed-send.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: { events?: unknown[] } & Record<string, unknown>;
}

type Handler = (req: Received, res: ServerResponse) => void;

let server: Server | undefined;

/** A stand-in for ingest on a random port; records every request. */
async function fakeIngest(
  handler: Handler,
): Promise<{ url: string; received: Received[]; maxInFlight: () => number }> {
  const received: Received[] = [];
  let inFlight = 0;
  let max = 0;
  server = createServer(async (req, res) => {
    inFlight++;
    max = Math.max(max, inFlight);
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const r: Received = { path: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : {} };
    received.push(r);
    // Hold each request a little so concurrent ones overlap.
    setTimeout(() => {
      inFlight--;
      handler(r, res);
    }, 5);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, received, maxInFlight: () => max };
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

/** Answers like ingest: ready, every item accepted. */
const happy: Handler = (req, res) => {
  if (req.path === '/readyz') return json(res, 200, { status: 'ok' });
  if (req.path === '/v1/identify') return json(res, 202, { id: 'x' });
  const events = req.body.events ?? [];
  return json(res, 202, { accepted: events.map((_, index) => ({ index, id: 'x' })), rejected: [] });
};

afterEach(async () => {
  if (server) {
    server.close();
    server.closeAllConnections();
    await once(server, 'close');
    server = undefined;
  }
});

const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

describe('checkIngest', () => {
  it('fails with a clear message when nothing listens', async () => {
    // A port that was free a moment ago.
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, 'close');
    const error = await checkIngest(`http://127.0.0.1:${port}`, 2000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SeedError);
    expect((error as Error).message).toContain(
      `ingest is not reachable at http://127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expect((error as Error).message).toContain('./tracker up');
  });

  it('fails when ingest is up but not ready', async () => {
    const { url } = await fakeIngest((_req, res) =>
      json(res, 503, { status: 'fail', checks: { kafka: false } }),
    );
    await expect(checkIngest(url)).rejects.toThrow(/not ready \(GET \/readyz answered 503: .*kafka/);
  });
});

describe('sendBatches', () => {
  it('posts every batch with the write key, at most `concurrency` at once', async () => {
    const ingest = await fakeIngest(happy);
    const events = Array.from({ length: 2300 }, (_, i) => ({ n: i }));
    const result = await sendBatches(chunks(events, 500), {
      ingestUrl: ingest.url,
      writeKey: 'wk',
      concurrency: 3,
    });
    expect(result).toMatchObject({ accepted: 2300, rejected: 0, retries: 0 });
    // Concurrent requests arrive in any order.
    expect(ingest.received.map((r) => r.body.events!.length).sort()).toEqual([300, 500, 500, 500, 500]);
    expect(ingest.received.every((r) => r.path === '/v1/batch' && r.headers['x-write-key'] === 'wk')).toBe(
      true,
    );
    expect(ingest.maxInFlight()).toBeLessThanOrEqual(3);
    expect(ingest.maxInFlight()).toBeGreaterThan(1);
  });

  it('retries 503 and 429 answers, then counts the batch once', async () => {
    let calls = 0;
    const ingest = await fakeIngest((req, res) => {
      calls++;
      if (calls === 1) return json(res, 503, { code: 'BROKER_UNAVAILABLE' });
      if (calls === 2) return json(res, 429, { code: 'RATE_LIMITED' }, { 'retry-after': '0' });
      return happy(req, res);
    });
    const result = await sendBatches([[{ a: 1 }, { a: 2 }]], {
      ingestUrl: ingest.url,
      concurrency: 1,
      retryBaseMs: 1,
    });
    expect(result).toMatchObject({ accepted: 2, retries: 2 });
    expect(ingest.received).toHaveLength(3);
  });

  it('counts items ingest refused (207) and keeps a few reasons', async () => {
    const ingest = await fakeIngest((_req, res) =>
      json(res, 207, {
        accepted: [{ index: 0, id: 'x' }],
        rejected: [{ index: 1, errors: [{ path: 'body.events.1.userId', message: 'is required' }] }],
      }),
    );
    const result = await sendBatches([[{}, {}]], { ingestUrl: ingest.url, concurrency: 1 });
    expect(result).toMatchObject({ accepted: 1, rejected: 1, samples: ['body.events.1.userId is required'] });
  });

  it('stops at the first answer retrying cannot fix, saying why', async () => {
    const ingest = await fakeIngest((_req, res) =>
      json(res, 401, { code: 'UNAUTHORIZED', message: 'write key required' }),
    );
    const error = await sendBatches(chunks([1, 2, 3, 4], 1), { ingestUrl: ingest.url, concurrency: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SeedError);
    expect((error as Error).message).toMatch(
      /refused POST \/v1\/batch with 401 \(pass --write-key.*write key required/,
    );
    expect(ingest.received).toHaveLength(1);
  });

  it('gives up after maxAttempts on an ingest that keeps failing', async () => {
    const ingest = await fakeIngest((_req, res) => json(res, 500, {}));
    await expect(
      sendBatches([[1]], { ingestUrl: ingest.url, concurrency: 1, maxAttempts: 3, retryBaseMs: 1 }),
    ).rejects.toThrow(/failed 3 times, last: HTTP 500/);
    expect(ingest.received).toHaveLength(3);
  });
});

describe('runSeed', () => {
  it('checks readiness, identifies users first, then sends exactly --count events in batches', async () => {
    const ingest = await fakeIngest(happy);
    const options = parseSeedArgs(
      [
        '--',
        '--count',
        '1200',
        '--users',
        '40',
        '--seed',
        '7',
        '--ingest',
        ingest.url,
        '--batch-size',
        '500',
      ],
      { INGEST_URL: 'http://unused', INGEST_WRITE_KEYS: ['k1', 'k2'] },
      Date.parse('2026-11-25T12:00:00Z'),
    );
    const summary = await runSeed(options, () => {}, quiet);
    expect(summary).toMatchObject({
      sent: 1200,
      accepted: 1200,
      rejected: 0,
      seed: 7,
      end: '2026-11-25T12:00:00.000Z',
    });
    const paths = ingest.received.map((r) => r.path);
    expect(paths[0]).toBe('/readyz');
    const firstBatch = paths.indexOf('/v1/batch');
    expect(paths.lastIndexOf('/v1/identify')).toBeLessThan(firstBatch);
    expect(paths.filter((p) => p === '/v1/identify')).toHaveLength(summary.identifies);
    expect(summary.identifies).toBeGreaterThan(0);
    const batches = ingest.received.filter((r) => r.path === '/v1/batch');
    expect(batches.map((b) => b.body.events!.length).sort()).toEqual([200, 500, 500]);
    expect(ingest.received[1]!.headers['x-write-key']).toBe('k1');
  });
});
