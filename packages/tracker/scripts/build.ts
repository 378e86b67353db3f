// Bundles the snippet: dist/tracker.js (classic script, window.tracker) and dist/tracker.mjs (ESM),
// both minified; then fails when the classic build is over its gzipped size budget.
//   node scripts/build.ts           build + check
//   node scripts/build.ts --check   check the existing build only
//   node scripts/build.ts --watch   rebuild on change (no budget check)
//   --outdir DIR (default dist), --budget BYTES (default SIZE_BUDGET_BYTES): for the test of the check
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { checkFileSize, SIZE_BUDGET_BYTES } from '../src/size-budget.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    check: { type: 'boolean', default: false },
    watch: { type: 'boolean', default: false },
    outdir: { type: 'string', default: join(root, 'dist') },
    budget: { type: 'string', default: String(SIZE_BUDGET_BYTES) },
  },
});
const outdir = resolve(args.outdir);
const budget = Number(args.budget);
const at = (p: string) => join(root, p);

const common: esbuild.BuildOptions = {
  bundle: true,
  minify: true,
  // Browsers of 2020 on (Chrome 80, Firefox 78, Safari 14): ?. and ?? stay as written, smaller than down-levelled.
  target: 'es2020',
  legalComments: 'none',
  logLevel: 'warning',
  sourcemap: false,
};
const builds: esbuild.BuildOptions[] = [
  { ...common, entryPoints: [at('src/snippet.ts')], outfile: join(outdir, 'tracker.js'), format: 'iife' },
  { ...common, entryPoints: [at('src/index.ts')], outfile: join(outdir, 'tracker.mjs'), format: 'esm' },
];

function check(): boolean {
  const name = (file: string) => {
    const rel = relative(root, join(outdir, file));
    return rel.startsWith('..') ? join(outdir, file) : rel;
  };
  const main = checkFileSize(join(outdir, 'tracker.js'), budget);
  const esm = checkFileSize(join(outdir, 'tracker.mjs'), budget);
  console.log(main.message.replace(join(outdir, 'tracker.js'), name('tracker.js')));
  console.log(
    esm.message.replace(join(outdir, 'tracker.mjs'), name('tracker.mjs')).replace(/ \(budget.*$/, ''),
  );
  if (!main.ok) console.error(`error: ${name('tracker.js')} is over its gzip budget of ${budget} bytes`);
  return main.ok;
}

if (args.watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  console.log('watching src/ …');
} else {
  if (!args.check) await Promise.all(builds.map((options) => esbuild.build(options)));
  if (!check()) process.exit(1);
}
