// Trims a `pnpm deploy --prod` output to what `node` loads at run time. Run in the build stage:
//   node infra/docker/prune-deploy.mjs /out
//
// 1. Optional peers: pnpm links an optional peer dependency wherever the workspace happens to have
//    it. @prisma/client declares `prisma` (the CLI, with Prisma Studio, React, PGlite, effect, ...)
//    and `typescript` as optional peers, and packages/db has both as dev dependencies, so the
//    production deploy got ~290 MB of tooling the Rust-free client never loads. Packages reachable
//    from the service through dependencies, optionalDependencies and non-optional peers are kept;
//    every other entry of node_modules/.pnpm goes, with the links that pointed at it.
// 2. Prisma query compilers: @prisma/client ships a Wasm query compiler per database and build
//    (fast/small, CJS and ESM: ~65 MB); the generated client imports one of them by name, so the
//    ones no deployed file names go.
// 3. Files Node never loads: TypeScript sources and declarations (Node refuses to strip types under
//    node_modules), source maps, build info, Markdown, the test/example/benchmark folders that
//    some packages publish (unless their manifest points into one), the workspace packages'
//    src/, build scripts and turbo logs. Licence files stay.
import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';

const root = realpathSync(process.argv[2] ?? '/out');
const store = join(root, 'node_modules', '.pnpm');
let removedBytes = 0;

function sizeOf(path) {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const name of readdirSync(path)) total += sizeOf(join(path, name));
  return total;
}
function remove(path) {
  removedBytes += sizeOf(path);
  rmSync(path, { recursive: true, force: true });
}
function readManifest(dir) {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Node's lookup: <dir>/node_modules/<name> from the package's real path upwards. */
function resolvePackage(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

// ----------------------------------------------------------------------- 1. reachable packages
const reachable = new Set([root]);
const queue = [root];
while (queue.length > 0) {
  const dir = queue.shift();
  const manifest = readManifest(dir);
  const optionalPeers = manifest.peerDependenciesMeta ?? {};
  const names = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.optionalDependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((n) => optionalPeers[n]?.optional !== true),
  ];
  for (const name of names) {
    const target = resolvePackage(dir, name);
    // A missing optional dependency (another platform's binary) or an optional peer nobody installed.
    if (target === undefined || reachable.has(target)) continue;
    reachable.add(target);
    queue.push(target);
  }
}
// node_modules/.pnpm/<id>/node_modules/<name>: an entry is kept when a reachable package lives in it.
const keptEntries = new Set(
  [...reachable]
    .filter((dir) => dir.startsWith(store + sep))
    .map((dir) => relative(store, dir).split(sep)[0]),
);
const droppedEntries = [];
for (const entry of readdirSync(store)) {
  if (entry === 'node_modules' || entry === 'lock.yaml' || keptEntries.has(entry)) continue;
  if (!lstatSync(join(store, entry)).isDirectory()) continue;
  droppedEntries.push(entry);
  remove(join(store, entry));
}

/** Links whose target is gone (top level, .bin, .pnpm/node_modules hoisting, each entry's siblings). */
function removeDanglingLinks(dir, depth) {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) {
      if (!existsSync(path)) rmSync(path);
    } else if (st.isDirectory() && depth > 0 && (name.startsWith('@') || name === '.bin')) {
      removeDanglingLinks(path, depth - 1);
    }
  }
}
removeDanglingLinks(join(root, 'node_modules'), 1);
removeDanglingLinks(join(store, 'node_modules'), 1);
for (const entry of keptEntries) removeDanglingLinks(join(store, entry, 'node_modules'), 1);

// ------------------------------------------------------------------- 2. Prisma query compilers
const prismaClient = [...reachable].find((dir) => dir.endsWith(`${sep}@prisma${sep}client`));
if (prismaClient !== undefined) {
  const used = new Set();
  const scan = (dir) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory() && name !== 'node_modules') scan(path);
      else if (st.isFile() && /\.(m|c)?js$/.test(name)) {
        const text = readFileSync(path, 'utf8');
        for (const m of text.matchAll(/@prisma\/client\/runtime\/(query_compiler_[\w.-]+?\.m?js)\b/g))
          used.add(m[1]);
      }
    }
  };
  for (const dir of reachable) if (!dir.includes(`${sep}@prisma${sep}`)) scan(dir);
  if (used.size === 0) {
    // The generated client names its compiler; finding none means this script no longer
    // understands the layout, and deleting them all would break every query at run time.
    console.error('prune-deploy: no @prisma/client/runtime/query_compiler_* import found; keeping all');
  } else {
    const runtime = join(prismaClient, 'runtime');
    for (const name of readdirSync(runtime)) {
      if (/^(query_compiler_|wasm-compiler-edge)/.test(name) && !used.has(name)) remove(join(runtime, name));
    }
    console.log(`prune-deploy: kept Prisma query compiler ${[...used].sort().join(', ')}`);
  }
}

// ------------------------------------------------------------------------ 3. files Node never loads
const workspacePackages = [...reachable].filter(
  (dir) => dir === root || relative(store, dir).split(sep)[0]?.includes('@file+'),
);
for (const dir of workspacePackages) {
  for (const name of ['src', '.turbo', 'scripts', 'Dockerfile']) {
    if (existsSync(join(dir, name))) remove(join(dir, name));
  }
}
const DEAD_DIRS = ['test', 'tests', '__tests__', 'example', 'examples', 'benchmark', 'benchmarks', 'bench'];
for (const dir of reachable) {
  if (dir === root) continue;
  const manifest = readFileSync(join(dir, 'package.json'), 'utf8');
  for (const name of DEAD_DIRS) {
    if (existsSync(join(dir, name)) && !manifest.includes(`${name}/`)) remove(join(dir, name));
  }
}
const DEAD_FILE = /(\.(ts|mts|cts|map|tsbuildinfo|md|markdown)|^tsconfig(\.\w+)*\.json)$/i;
function pruneFiles(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    if (st.isSymbolicLink()) continue;
    if (st.isDirectory()) {
      pruneFiles(path);
      if (readdirSync(path).length === 0) rmdirSync(path);
    } else if (DEAD_FILE.test(name) && !/^(licen[cs]e|notice|copying)/i.test(name)) {
      remove(path);
    }
  }
}
pruneFiles(root);
// Describes the tree before pruning; nothing runs pnpm in the image.
for (const name of ['pnpm-lock.yaml', join('node_modules', '.modules.yaml')]) {
  if (existsSync(join(root, name))) remove(join(root, name));
}

console.log(
  `prune-deploy: ${basename(root)}: removed ${droppedEntries.length} unreachable packages ` +
    `and ${(removedBytes / 1024 / 1024).toFixed(1)} MiB in all; ${keptEntries.size} packages kept`,
);
if (droppedEntries.length > 0) {
  // <name>@<version>, without pnpm's peer suffixes.
  const names = droppedEntries.map((e) => e.replace(/^(@?[^@]+@[^_]+).*$/, '$1').replace('+', '/'));
  console.log(`prune-deploy: dropped ${names.join(' ')}`);
}
