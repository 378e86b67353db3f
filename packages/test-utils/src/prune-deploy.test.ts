// infra/docker/prune-deploy.mjs on a small `pnpm deploy` layout: what the images keep and drop.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../infra/docker/prune-deploy.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(path: string, text = '') {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
function link(path: string, target: string) {
  mkdirSync(dirname(path), { recursive: true });
  symlinkSync(relative(dirname(path), target), path);
}

/** /out with node_modules/.pnpm/<entry>/node_modules/<name>, linked the way pnpm links them. */
function deployTree(packages: Record<string, { manifest: object; files?: Record<string, string> }>) {
  const out = mkdtempSync(join(tmpdir(), 'prune-deploy-'));
  dirs.push(out);
  const dirOf = (name: string) =>
    join(out, 'node_modules/.pnpm', `${name.replace('/', '+')}@1.0.0`, 'node_modules', name);
  for (const [name, { manifest, files }] of Object.entries(packages)) {
    if (name === '.') continue;
    write(join(dirOf(name), 'package.json'), JSON.stringify({ name, version: '1.0.0', ...manifest }));
    for (const [file, text] of Object.entries(files ?? {})) write(join(dirOf(name), file), text);
    const deps = manifest as { dependencies?: object; peerDependencies?: object };
    for (const dep of [...Object.keys(deps.dependencies ?? {}), ...Object.keys(deps.peerDependencies ?? {})])
      link(join(dirOf(name), '..', ...(name.startsWith('@') ? ['..'] : []), dep), dirOf(dep));
  }
  const root = packages['.']!;
  write(join(out, 'package.json'), JSON.stringify(root.manifest));
  for (const [file, text] of Object.entries(root.files ?? {})) write(join(out, file), text);
  for (const dep of Object.keys((root.manifest as { dependencies?: object }).dependencies ?? {}))
    link(join(out, 'node_modules', dep), dirOf(dep));
  return { out, dirOf };
}

function prune(out: string) {
  const run = spawnSync(process.execPath, [SCRIPT, out], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout;
}

describe('prune-deploy.mjs', () => {
  it('drops optional peers nobody else needs, keeps dependencies and required peers', () => {
    const { out, dirOf } = deployTree({
      '.': { manifest: { name: 'app', dependencies: { client: '1.0.0' } } },
      client: {
        manifest: {
          dependencies: { runtime: '1.0.0' },
          peerDependencies: { cli: '*', adapter: '*' },
          peerDependenciesMeta: { cli: { optional: true } },
        },
      },
      runtime: { manifest: {} },
      adapter: { manifest: {} },
      cli: { manifest: { dependencies: { heavy: '1.0.0' } } },
      heavy: { manifest: {} },
    });
    link(join(out, 'node_modules/.pnpm/node_modules/heavy'), dirOf('heavy'));
    prune(out);
    for (const kept of ['client', 'runtime', 'adapter']) expect(existsSync(dirOf(kept)), kept).toBe(true);
    for (const gone of ['cli', 'heavy']) expect(existsSync(join(dirOf(gone), '../..')), gone).toBe(false);
    // No link is left pointing at a removed package.
    expect(existsSync(join(out, 'node_modules/.pnpm/node_modules/heavy'))).toBe(false);
    expect(spawnSync('find', [out, '-xtype', 'l'], { encoding: 'utf8' }).stdout).toBe('');
  });

  it('removes typings, source maps, sources and test folders, and keeps licences and loaded files', () => {
    const { out, dirOf } = deployTree({
      '.': {
        manifest: { name: 'app', dependencies: { lib: '1.0.0', mapped: '1.0.0' } },
        files: { 'dist/server.js': '', 'dist/server.js.map': '', 'src/server.ts': '', 'tsconfig.json': '{}' },
      },
      lib: {
        manifest: {},
        files: {
          'index.js': '',
          'index.d.ts': '',
          'LICENSE.md': 'MIT',
          'README.md': '',
          'test/a.js': '',
          'lib/data.json': '{}',
        },
      },
      // A package whose entry point lives under test/ keeps it.
      mapped: { manifest: { main: 'test/index.js' }, files: { 'test/index.js': '' } },
    });
    prune(out);
    expect(existsSync(join(out, 'dist/server.js'))).toBe(true);
    for (const gone of ['dist/server.js.map', 'src', 'tsconfig.json'])
      expect(existsSync(join(out, gone)), gone).toBe(false);
    const lib = dirOf('lib');
    for (const kept of ['index.js', 'LICENSE.md', 'lib/data.json', 'package.json'])
      expect(existsSync(join(lib, kept)), kept).toBe(true);
    for (const gone of ['index.d.ts', 'README.md', 'test'])
      expect(existsSync(join(lib, gone)), gone).toBe(false);
    expect(existsSync(join(dirOf('mapped'), 'test/index.js'))).toBe(true);
  });

  it('keeps only the Prisma query compiler that the generated client imports', () => {
    const compilers = ['fast_bg.postgresql', 'fast_bg.mysql', 'small_bg.postgresql'].flatMap((c) => [
      `runtime/query_compiler_${c}.mjs`,
      `runtime/query_compiler_${c}.js`,
      `runtime/query_compiler_${c}.wasm-base64.mjs`,
    ]);
    const { out, dirOf } = deployTree({
      '.': {
        manifest: { name: 'app', dependencies: { '@prisma/client': '1.0.0' } },
        files: {
          'dist/generated/client.js':
            'await import("@prisma/client/runtime/query_compiler_fast_bg.postgresql.mjs");\n' +
            'await import("@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs");',
        },
      },
      '@prisma/client': {
        manifest: {},
        files: Object.fromEntries(
          [...compilers, 'runtime/client.js', 'runtime/wasm-compiler-edge.js'].map((f) => [f, '']),
        ),
      },
    });
    expect(prune(out)).toContain('kept Prisma query compiler');
    const runtime = join(dirOf('@prisma/client'), 'runtime');
    expect(existsSync(join(runtime, 'client.js'))).toBe(true);
    expect(existsSync(join(runtime, 'wasm-compiler-edge.js'))).toBe(false);
    for (const file of compilers) {
      const used = /fast_bg\.postgresql(\.wasm-base64)?\.mjs$/.test(file);
      expect(existsSync(join(dirOf('@prisma/client'), file)), file).toBe(used);
    }
  });
});
