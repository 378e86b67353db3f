import { type Dirent, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TESTING_DIR = fileURLToPath(new URL('./', import.meta.url));
const SOURCE = /\.(ts|tsx|mts|js|mjs)$/;
// Test files and test scaffolding may use the testing entry; everything else ships.
const TEST_ONLY = /\.(test|int\.test|e2e\.test|containers\.test|harness)\.(ts|tsx|mts|js|mjs)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'generated']);

function sourceFiles(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return SKIP_DIRS.has(e.name) ? [] : sourceFiles(path);
    return SOURCE.test(e.name) && !TEST_ONLY.test(e.name) ? [path] : [];
  });
}

/** Production sources: apps/<app>/src, apps/<app>/web/src and packages/<pkg>/src, minus the testing entry. */
function productionSources(): string[] {
  const under = (group: string, subdirs: string[]) =>
    readdirSync(join(ROOT, group), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => subdirs.flatMap((s) => sourceFiles(join(ROOT, group, e.name, s))));
  return [...under('apps', ['src', 'web/src']), ...under('packages', ['src'])].filter(
    (f) => !f.startsWith(TESTING_DIR),
  );
}

/** Import specifiers of a module's static imports, re-exports and dynamic imports. */
function importsOf(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) found.push(m[1]!);
  return found;
}

const reachesTesting = (file: string, spec: string) =>
  spec === '@tracker/db/testing' ||
  spec.startsWith('@tracker/db/testing/') ||
  (spec.startsWith('.') && join(file, '..', spec).startsWith(TESTING_DIR));

describe('@tracker/db/testing', () => {
  it('finds imports in every form', () => {
    expect(
      importsOf(`import { a } from '@tracker/db/testing';
        export * from "./x.js";
        const m = await import('@tracker/db/testing');
        import '../side.js';`),
    ).toEqual(['@tracker/db/testing', './x.js', '@tracker/db/testing', '../side.js']);
  });

  it('is imported by no production source (only tests, harnesses, bench and scripts)', () => {
    const files = productionSources();
    // The scan sees the services and packages (a wrong root would find nothing and pass).
    expect(files.map((f) => relative(ROOT, f).split(sep).join('/'))).toContain('apps/query/src/app.ts');
    const offenders = files.flatMap((file) =>
      importsOf(readFileSync(file, 'utf8'))
        .filter((spec) => reachesTesting(file, spec))
        .map((spec) => `${relative(ROOT, file)} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });
});
