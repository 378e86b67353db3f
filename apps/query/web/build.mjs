// Builds the dashboard into ../public: bundles web/src with esbuild (Chart.js included, nothing from
// a CDN), content-hashed file names under public/assets, and public/index.html pointing at them.
// `node web/build.mjs --watch` rebuilds on every change.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const web = dirname(fileURLToPath(import.meta.url));
const out = join(web, '..', 'public');
const assets = join(out, 'assets');
const watch = process.argv.includes('--watch');

const common = {
  bundle: true,
  minify: !watch,
  sourcemap: 'linked',
  // light-dark() colours set the floor: browsers from 2024 on.
  target: ['es2022', 'chrome123', 'firefox120', 'safari17.5'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'linked',
};

/** entry name -> emitted file, from both builds' metafiles. */
const emitted = new Map();

function record(result) {
  for (const [file, meta] of Object.entries(result.metafile?.outputs ?? {})) {
    if (!meta.entryPoint) continue;
    const name = basename(meta.entryPoint).replace(/\.(ts|css)$/, '');
    emitted.set(name, relative(out, file).split('\\').join('/'));
  }
}

async function writeIndex() {
  const template = await readFile(join(web, 'index.html'), 'utf8');
  const html = template
    .replace('%CSS%', emitted.get('styles'))
    .replace('%APP_JS%', emitted.get('main'))
    .replace('%THEME_JS%', emitted.get('theme-init'));
  if (/%[A-Z_]+%/.test(html)) throw new Error('index.html has a placeholder the build did not fill');
  await writeFile(join(out, 'index.html'), html);
  await copyFile(join(web, 'favicon.svg'), join(out, 'favicon.svg'));
}

const indexPlugin = {
  name: 'index-html',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length > 0) return;
      record(result);
      if (emitted.has('main') && emitted.has('theme-init')) await writeIndex();
    });
  },
};

await rm(assets, { recursive: true, force: true });
await mkdir(assets, { recursive: true });

const app = {
  ...common,
  entryPoints: [join(web, 'src', 'main.ts'), join(web, 'src', 'styles.css')],
  format: 'esm',
  plugins: [indexPlugin],
};
const theme = {
  ...common,
  entryPoints: [join(web, 'src', 'theme-init.ts')],
  format: 'iife',
  plugins: [indexPlugin],
};

if (watch) {
  const contexts = await Promise.all([esbuild.context(theme), esbuild.context(app)]);
  await Promise.all(contexts.map((c) => c.watch()));
  console.log(`dashboard: watching ${relative(process.cwd(), web)}, writing ${relative(process.cwd(), out)}`);
} else {
  await esbuild.build(theme);
  await esbuild.build(app);
  const size = Object.entries((await esbuild.build({ ...app, write: false, plugins: [] })).metafile.outputs)
    .filter(([file]) => !file.endsWith('.map') && !file.endsWith('.txt'))
    .reduce((sum, [, meta]) => sum + meta.bytes, 0);
  console.log(
    `dashboard: built into ${relative(process.cwd(), out)} (${Math.round(size / 1024)} KiB of JS and CSS)`,
  );
}
