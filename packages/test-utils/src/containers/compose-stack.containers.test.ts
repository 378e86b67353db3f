/**
 * docker-compose.yml as a self-hoster meets it: images built, `up -d`, every healthcheck healthy,
 * events in through ingest's published port (single, batch, import) and out through query's and the
 * dashboard in Chromium; three processors, one killed during a 20 000-event load: every accepted event
 * stored once and `reconcile` clean; a restart keeps the data (volumes); `down -v` at the end.
 * Run by `./tracker test --containers` (images from infra/docker/standins.sh when the public ones
 * cannot be pulled: KAFKA_IMAGE, REGISTRY_IMAGE, POSTGRES_IMAGE, NODE_IMAGE).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../chromium.js';
import { makeEvents, sendBatches } from '../reliability/pipeline.js';
import { freePort } from '../services.js';
import { waitFor } from '../wait.js';
import { ComposeProject, containerState, docker } from './compose-cli.js';

const WRITE_KEY = `wk_${randomBytes(12).toString('hex')}`;
const IMPORT_KEY = `ik_${randomBytes(12).toString('hex')}`;
const PASSWORD = randomBytes(12).toString('hex');
/** Long-running services with a healthcheck, and the one-shot jobs that must exit 0. */
const SERVICES = ['kafka', 'postgres', 'registry', 'ingest', 'processor', 'query'];
const JOBS = ['migrate', 'topics'];

let compose: ComposeProject;
let ports: Record<'query' | 'ingest' | 'kafka' | 'registry' | 'postgres', number>;
let db: pg.Pool;
const timings: Record<string, number> = {};

const ingestUrl = () => `http://127.0.0.1:${ports.ingest}`;
const queryUrl = () => `http://127.0.0.1:${ports.query}`;
const timed = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
  const t0 = Date.now();
  try {
    return await work();
  } finally {
    timings[what] = Math.round((Date.now() - t0) / 100) / 10;
    console.info(`containers: ${what} in ${timings[what]} s`);
  }
};

/** Waits until every service container is healthy and every job exited 0; names the laggards. */
async function healthy(timeoutMs = 300_000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const states: string[] = [];
      let ok = true;
      for (const service of SERVICES) {
        const ids = await compose.containers(service);
        if (ids.length === 0) ok = false;
        for (const id of ids) {
          const s = containerState(id);
          states.push(`${service}:${s.health ?? s.status}`);
          if (s.health !== 'healthy') ok = false;
        }
      }
      for (const job of JOBS) {
        for (const id of await compose.containers(job)) {
          const s = containerState(id);
          states.push(`${job}:${s.status}/${s.exitCode}`);
          if (s.status === 'exited' && s.exitCode !== 0) throw new Error(`${job} exited ${s.exitCode}`);
        }
      }
      last = states.join(' ');
      return ok;
    },
    { timeoutMs, intervalMs: 2000, what: 'every service healthy' },
  ).catch(async (error: Error) => {
    const logs = await compose.run(['logs', '--tail', '40']).catch((e: Error) => e.message);
    throw new Error(`${error.message}; last states: ${last}\n${logs.slice(-8000)}`);
  });
}

/**
 * The CA a build behind this machine's TLS inspection must trust: the certificates added to the
 * system's store (/usr/local/share/ca-certificates), else the file NODE_EXTRA_CA_CERTS names when it
 * is small (an environment string is limited to 128 KiB: a whole system bundle does not fit).
 */
function buildCaCertificate(): string | undefined {
  const dir = '/usr/local/share/ca-certificates';
  const added = existsSync(dir)
    ? readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => f.endsWith('.crt'))
        .map((f) => readFileSync(join(dir, f), 'utf8'))
        .join('\n')
    : '';
  if (added) return added;
  const file = process.env['NODE_EXTRA_CA_CERTS'];
  if (file && existsSync(file) && statSync(file).size < 100_000) return readFileSync(file, 'utf8');
  return undefined;
}

async function post(path: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${ingestUrl()}${path}`, { method: 'POST', headers, body });
}

async function storedCount(prefix: string): Promise<{ rows: number; distinct: number }> {
  const { rows } = await db.query<{ rows: number; distinct: number }>(
    `SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct
       FROM interactions WHERE user_id LIKE $1`,
    [`${prefix}%`],
  );
  return rows[0]!;
}

beforeAll(async () => {
  ports = {
    query: await freePort(),
    ingest: await freePort(),
    kafka: await freePort(),
    registry: await freePort(),
    postgres: await freePort(),
  };
  const ca = buildCaCertificate();
  compose = new ComposeProject(`trackerct${randomBytes(3).toString('hex')}`, {
    POSTGRES_PASSWORD: PASSWORD,
    INGEST_WRITE_KEYS: WRITE_KEY,
    INGEST_IMPORT_KEYS: IMPORT_KEY,
    TRACKER_QUERY_PORT: String(ports.query),
    TRACKER_INGEST_PORT: String(ports.ingest),
    TRACKER_KAFKA_PORT: String(ports.kafka),
    TRACKER_REGISTRY_PORT: String(ports.registry),
    TRACKER_POSTGRES_PORT: String(ports.postgres),
    KAFKA_TOPIC_PARTITIONS: '12',
    // Behind this machine's TLS inspection the image builds trust its CA (docs/deployment.md).
    ...(ca ? { BUILD_CA_CERT: ca } : {}),
  });
  console.info(
    `containers: ${compose.command.join(' ')}, project ${compose.name}, ports ${JSON.stringify(ports)}`,
  );
  await timed('images built', () => compose.run(['build'], { timeoutMs: 1_800_000 }));
  await timed('up to healthy', async () => {
    await compose.run(['up', '-d']);
    await healthy();
  });
  db = new pg.Pool({
    connectionString: `postgresql://postgres:${PASSWORD}@127.0.0.1:${ports.postgres}/tracker`,
    max: 2,
  });
}, 2_400_000);

afterAll(async () => {
  await db?.end().catch(() => {});
  if (compose) {
    const down = compose.runSync(['down', '-v', '--remove-orphans', '--timeout', '20']);
    if (down.status !== 0) console.error(`compose down failed: ${down.stderr}`);
    // Nothing of this project is left: containers, volumes, network.
    const left = docker(['ps', '-aq', '--filter', `label=com.docker.compose.project=${compose.name}`]);
    if (left) docker(['rm', '-f', ...left.split('\n')]);
  }
  console.info(`containers: timings ${JSON.stringify(timings)}`);
}, 300_000);

describe('docker compose stack', () => {
  it('runs every image as a non-root user and publishes its ports on 127.0.0.1 only', async () => {
    for (const service of ['ingest', 'processor', 'query']) {
      const [id] = await compose.containers(service);
      expect(docker(['exec', id!, 'id', '-u']), service).toBe('1000');
    }
    for (const service of ['ingest', 'query', 'kafka', 'registry', 'postgres']) {
      const [id] = await compose.containers(service);
      const bindings = docker(['inspect', '--format', '{{json .NetworkSettings.Ports}}', id!]);
      const hosts = [...bindings.matchAll(/"HostIp":"([^"]*)"/g)].map((m) => m[1]);
      expect(hosts.length, service).toBeGreaterThan(0);
      expect(new Set(hosts), service).toEqual(new Set(['127.0.0.1']));
    }
  });

  it('takes events on ingest (single, batch, import) and shows them on query and the dashboard', async () => {
    const auth = { 'content-type': 'application/json', 'x-write-key': WRITE_KEY };
    const single = await post(
      '/v1/events',
      JSON.stringify({ userId: 'ct-one', action: 'click', page: '/c' }),
      auth,
    );
    expect(single.status).toBe(202);
    const batch = await post(
      '/v1/batch',
      JSON.stringify({ events: makeEvents(5, 'ct-batch').map((e) => ({ ...e, action: 'ct_batch_signup' })) }),
      auth,
    );
    expect(batch.status).toBe(202);
    const ndjson = makeEvents(20, 'ct-import')
      .map((e) => JSON.stringify(e))
      .join('\n');
    const imported = await post('/v1/import', ndjson, {
      'content-type': 'application/x-ndjson',
      'x-write-key': IMPORT_KEY,
    });
    expect(imported.status).toBe(202);
    expect(await imported.json()).toMatchObject({ accepted: 20 });

    const count = async (userId: string) => {
      const res = await fetch(
        `${queryUrl()}/api/interactions?userId=${encodeURIComponent(userId)}&limit=100`,
      );
      return ((await res.json()) as { items: unknown[] }).items.length;
    };
    await waitFor(async () => (await count('ct-one')) === 1, { timeoutMs: 60_000, what: 'the single event' });
    const stats = await waitFor(
      async () => {
        const s = (await (await fetch(`${queryUrl()}/api/stats`)).json()) as {
          totalActions: number;
          byAction: { action: string; count: number }[];
        };
        return s.totalActions >= 26 && s;
      },
      { timeoutMs: 60_000, what: 'all 26 events in /api/stats' },
    );
    expect(stats.byAction.find((a) => a.action === 'ct_batch_signup')?.count).toBe(5);

    // The dashboard, in Chromium, from query's published port.
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(`${queryUrl()}/`);
      // A Playwright selector, not a predicate: the dashboard's CSP forbids evaluating strings.
      await page.waitForSelector('#rows >> text=ct-one', { timeout: 30_000 });
    } finally {
      await browser.close();
    }
  });

  it('stores each of 20 000 events once across 3 processors when one is killed during the load', async () => {
    await timed('scale to 3 processors', async () => {
      await compose.run(['up', '-d', '--scale', 'processor=3', '--no-recreate']);
      await healthy();
    });
    const processors = await compose.containers('processor');
    expect(processors).toHaveLength(3);
    const events = makeEvents(20_000, 'ct-load');
    // Sent in 20 rounds of 1 000 over ~20 s, so that the kill falls inside the load, not after it.
    const accepted: string[] = [];
    let killedAtRound = -1;
    await timed('20 000 events sent', async () => {
      for (let round = 0; round < 20; round++) {
        const sent = await sendBatches(ingestUrl(), events.slice(round * 1000, (round + 1) * 1000), {
          batchSize: 250,
          concurrency: 2,
          headers: { 'x-write-key': WRITE_KEY },
        });
        accepted.push(...sent.accepted);
        if (killedAtRound === -1 && (await storedCount('ct-load')).rows > 0) {
          docker(['kill', processors[1]!]);
          killedAtRound = round;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    });
    console.info(
      `containers: processor ${processors[1]!.slice(0, 12)} killed after round ${killedAtRound} of 20`,
    );
    expect(killedAtRound).toBeGreaterThanOrEqual(0);
    expect(killedAtRound).toBeLessThan(15);
    expect(accepted).toHaveLength(20_000);
    await timed('all stored', () =>
      waitFor(async () => (await storedCount('ct-load')).rows >= 20_000, {
        timeoutMs: 300_000,
        intervalMs: 1000,
        what: 'every accepted event stored',
      }),
    );
    expect(await storedCount('ct-load')).toEqual({ rows: 20_000, distinct: 20_000 });
    const ids = new Set(
      (
        await db.query<{ id: string }>(
          `SELECT event_id::text AS id FROM interactions WHERE user_id LIKE 'ct-load%'`,
        )
      ).rows.map((r) => r.id),
    );
    expect(events.every((e) => ids.has(e.eventId))).toBe(true);
    // Aggregates equal a recount from the raw rows: the reconcile command, in the processor image.
    const report = await compose.run([
      'run',
      '--rm',
      '--no-deps',
      'migrate',
      'node',
      'dist/reconcile-cli.js',
      '--json',
    ]);
    const result = JSON.parse(report.trim().split('\n').pop()!) as { ok: boolean; totalDifferences: number };
    expect(result).toMatchObject({ ok: true, totalDifferences: 0 });
  });

  it('keeps the data across a restart of the whole stack (volumes)', async () => {
    const before = await storedCount('ct-');
    await db.end();
    await timed('restart', async () => {
      await compose.run(['stop', '--timeout', '40']);
      await compose.run(['up', '-d']);
      await healthy();
    });
    db = new pg.Pool({
      connectionString: `postgresql://postgres:${PASSWORD}@127.0.0.1:${ports.postgres}/tracker`,
      max: 2,
    });
    expect(await storedCount('ct-')).toEqual(before);
    // And it still takes events: Kafka's topics and the registry's schema ids survived too.
    const id = randomUUID();
    const res = await post(
      '/v1/events',
      JSON.stringify({ eventId: id, userId: 'ct-after', action: 'click', page: '/r' }),
      { 'content-type': 'application/json', 'x-write-key': WRITE_KEY },
    );
    expect(res.status).toBe(202);
    await waitFor(async () => (await storedCount('ct-after')).rows === 1, {
      timeoutMs: 120_000,
      what: 'an event after the restart',
    });
  });
});
