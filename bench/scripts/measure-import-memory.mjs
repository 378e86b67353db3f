#!/usr/bin/env node
// Peak RSS of a built ingest (a child process) while hostile imports stream through POST /v1/import:
// (1) csv_refused: a gzip body of a CSV header and N rows that are all refused (one cell for three
//     columns), ~2 bytes a row decompressed, ~1 KB per MB compressed: a small upload, a huge file;
// (2) json_whitespace: a gzip body of W MB of whitespace before a JSON array of 3 valid events.
// The RSS is sampled from /proc/<pid>/status (VmRSS) every 20 ms; a body is abandoned once the RSS
// passes the abort limit (so a regression does not take the shared machine's memory).
//   node bench/scripts/measure-import-memory.mjs [rows=20000000] [whitespaceMB=200] [abortMB=1500]
// Env: INGEST_SERVER_JS  another build's server.js to measure (e.g. a copy of an older dist/, to
//      compare); default apps/ingest/dist/server.js. KAFKA_BROKERS, SCHEMA_REGISTRY_URL as ingest's.
// Prints one JSON line per body. Needs the stack (./tracker infra) and `pnpm turbo run build`.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { freePort, spawnService, waitFor } from '@tracker/test-utils';
import { Kafka, logLevel } from 'kafkajs';

const [rows, whitespaceMb, abortMb] = [20_000_000, 200, 1500].map((d, i) => Number(process.argv[2 + i] ?? d));
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registry = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const KEY = 'bench-import-key';

const tag = `bench-import-mem-${randomUUID().slice(0, 8)}`;
const topics = { interactions: `${tag}-interactions`, apiHits: `${tag}-api-hits` };
const kafka = new Kafka({ brokers, clientId: 'tracker-bench', logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({
  topics: Object.values(topics).map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  waitForLeaders: true,
});

const env = {
  LOG_LEVEL: 'warn',
  KAFKA_BROKERS: brokers.join(','),
  SCHEMA_REGISTRY_URL: registry,
  INGEST_TOPIC: topics.interactions,
  INGEST_SUBJECT: 'tracker-bench-interactions-value',
  INGEST_API_HITS_TOPIC: topics.apiHits,
  INGEST_WRITE_KEYS: KEY, // builds before import keys (issue 22) took a write key
  INGEST_IMPORT_KEYS: KEY,
  INGEST_IMPORT_MAX_BYTES: String(1024 * 1024 * 1024),
};
/** A fresh ingest per body, so that each peak starts from the same idle process. */
const startIngest = async () => {
  const ingest = process.env.INGEST_SERVER_JS
    ? await spawnBuild(process.env.INGEST_SERVER_JS, env)
    : await spawnService('ingest', { env });
  try {
    await ingest.ready();
  } catch (error) {
    await ingest.stop(5000);
    throw error;
  }
  return ingest;
};

/** spawnService's shape for a server.js elsewhere (only what this script uses). */
async function spawnBuild(script, env) {
  const port = await freePort();
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 2, 2], // its log to our stderr: stdout is for the results
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url,
    child,
    ready: () =>
      waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: 'ingest to be ready',
      }),
    stop: async (graceMs) => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

const rssMb = (pid) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return line ? Number(line[1]) / 1024 : Number.NaN;
};

/** A gzip body as concatenated members (valid gzip): `head`, then `block` `times` times, then `tail`. */
async function* gzipMembers(head, block, times, tail) {
  yield gzipSync(head, { level: 9 });
  const member = gzipSync(block, { level: 9 });
  for (let i = 0; i < times; i += 1) yield member;
  yield gzipSync(tail, { level: 9 });
}

/** POSTs the body to a fresh ingest while sampling its RSS; prints the peak. */
async function measure(name, contentType, body, parameters) {
  const ingest = await startIngest();
  const rss = () => rssMb(ingest.child.pid);
  try {
    await post(ingest, rss, name, contentType, body, parameters);
  } finally {
    await ingest.stop(5000);
  }
}

async function post(ingest, rss, name, contentType, body, parameters) {
  const idle = rss();
  let peak = idle;
  let aborted = false;
  const controller = new AbortController();
  const sampler = setInterval(() => {
    peak = Math.max(peak, rss());
    if (peak > abortMb && !aborted) {
      aborted = true;
      controller.abort();
    }
  }, 20);
  const t0 = performance.now();
  let status = null;
  let answer = null;
  try {
    const response = await fetch(`${ingest.url}/v1/import`, {
      method: 'POST',
      headers: { 'content-type': contentType, 'content-encoding': 'gzip', 'x-write-key': KEY },
      body: ReadableStream.from(body),
      duplex: 'half',
      signal: controller.signal,
    });
    status = response.status;
    answer = await response.json();
  } catch (error) {
    if (!aborted) throw error;
  }
  clearInterval(sampler);
  peak = Math.max(peak, rss());
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      name: `import_memory_${name}`,
      value: Math.round(peak),
      unit: 'MB',
      better: 'lower',
      parameters: {
        ...parameters,
        idleRssMb: Math.round(idle),
        seconds: Number(seconds.toFixed(1)),
        status,
        aborted: aborted ? `RSS passed ${abortMb} MB` : false,
        message: answer?.message,
        details: answer?.details?.length,
        items: answer?.items,
        accepted: answer?.accepted,
      },
      loadavg: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(2))),
      at: new Date().toISOString(),
    }),
  );
}

try {
  // 1 MiB of refused rows per gzip member: `x\n` has one cell where the header names three.
  const perBlock = 512 * 1024;
  const times = Math.ceil(rows / perBlock);
  await measure(
    'csv_refused',
    'text/csv',
    gzipMembers(
      Buffer.from('userId,action,page\n'),
      Buffer.from('x\n'.repeat(perBlock)),
      times,
      Buffer.alloc(0),
    ),
    { rows: times * perBlock },
  );
  const ws = Buffer.alloc(1024 * 1024, ' \n\t\r ');
  const events = [1, 2, 3].map((i) => ({ userId: `${tag}-${i}`, action: 'page_view', page: `/p/${i}` }));
  await measure(
    'json_whitespace',
    'application/json',
    gzipMembers(Buffer.alloc(0), ws, whitespaceMb, Buffer.from(JSON.stringify(events))),
    { whitespaceMb },
  );
} finally {
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {});
  await admin.disconnect();
}
