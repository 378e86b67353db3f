/**
 * The OpenAPI documents both HTTP services publish at /docs/json, judged from outside: valid for a
 * validator (@apidevtools/swagger-parser), and good enough for a client generator (openapi-typescript)
 * whose typed client (openapi-fetch) compiles with tsc and then really calls the running service.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SwaggerParser from '@apidevtools/swagger-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pipeline } from './reliability/pipeline.js';
import type { ServiceProcess } from './services.js';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

let p: Pipeline;
let ingest: ServiceProcess;
let query: ServiceProcess;
let work: string;

beforeAll(async () => {
  p = await Pipeline.create('openapi', { partitions: 1 });
  [ingest, query] = await Promise.all([p.start('ingest'), p.start('query')]);
  work = await mkdtemp(join(tmpdir(), 'openapi-clients-'));
  // The generated client resolves openapi-fetch from this package's dependencies.
  await symlink(join(PACKAGE_DIR, 'node_modules'), join(work, 'node_modules'));
});

afterAll(async () => {
  await p?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

const documentOf = async (service: ServiceProcess) =>
  (await (await fetch(`${service.url}/docs/json`)).json()) as Record<string, unknown>;

/** Generates `<name>.ts` (paths and components types) from the service's document. */
async function generate(name: string, service: ServiceProcess): Promise<void> {
  const ast = await openapiTS(new URL(`${service.url}/docs/json`));
  await writeFile(join(work, `${name}.ts`), astToString(ast));
}

/** Compiles every .ts file in the work folder (strict), then runs `main.js`; its stdout as JSON. */
function compileAndRun(main: string): unknown {
  const tsc = spawnSync(
    process.execPath,
    [
      TSC,
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--outDir',
      join(work, 'out'),
      ...['ingest.ts', 'query.ts', `${main}.ts`].map((f) => join(work, f)),
    ],
    { encoding: 'utf8', cwd: work },
  );
  expect(tsc.status, `tsc:\n${tsc.stdout}${tsc.stderr}`).toBe(0);
  const run = spawnSync(process.execPath, [join(work, 'out', `${main}.js`)], { encoding: 'utf8', cwd: work });
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('OpenAPI documents', () => {
  it.each([
    ['ingest', () => ingest],
    ['query', () => query],
  ])('%s: the document is valid OpenAPI', async (_name, service) => {
    const doc = await documentOf(service());
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeTruthy();
  });

  it('a client generated from each document compiles and talks to the running services', async () => {
    await generate('ingest', ingest);
    await generate('query', query);
    await writeFile(join(work, 'package.json'), JSON.stringify({ type: 'module' }));
    await writeFile(
      join(work, 'main.ts'),
      `import createClient from 'openapi-fetch';
import type { paths as IngestPaths } from './ingest.js';
import type { paths as QueryPaths } from './query.js';

const ingest = createClient<IngestPaths>({ baseUrl: ${JSON.stringify(ingest.url)} });
const query = createClient<QueryPaths>({ baseUrl: ${JSON.stringify(query.url)} });

const sent = await ingest.POST('/v1/events', {
  body: { userId: 'openapi-client', action: 'click', page: '/generated', properties: { ok: true } },
});
const refused = await ingest.POST('/v1/batch', {
  body: { events: [{ userId: 'openapi-client', action: 'not valid!', page: '/x' }] },
});
const listed = await query.GET('/api/interactions', { params: { query: { limit: 1 } } });
const stats = await query.GET('/api/stats', { params: { query: { userId: 'nobody-at-all' } } });
console.log(
  JSON.stringify({
    id: sent.data?.id ?? null,
    refusedCode: refused.error?.code ?? null,
    refusedPath: refused.error?.details[0]?.path ?? null,
    items: Array.isArray(listed.data?.items),
    total: stats.data?.totalActions ?? null,
  }),
);
`,
    );
    const result = compileAndRun('main') as Record<string, unknown>;
    expect(result).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      refusedCode: 'VALIDATION_FAILED',
      refusedPath: 'body.events.0.action',
      items: true,
      total: 0,
    });
  }, 120_000);
});
