#!/usr/bin/env node
// Runs every test tier with vitest (unit, integration, e2e) and ends with one plain line:
// `N passed, N failed` (plus `, N skipped` when any were skipped). Exit code 1 when anything failed.
// Extra arguments go to vitest (e.g. a file filter or `--project unit`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const vitest = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const out = '.local/test-results.json';
mkdirSync('.local', { recursive: true });
rmSync(out, { force: true });

const args = process.argv.slice(2);
const run = spawnSync(
  process.execPath,
  [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...args],
  { stdio: 'inherit', env: process.env },
);

let passed = 0;
let failed = 0;
let skipped = 0;
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests;
  skipped = report.numPendingTests + report.numTodoTests;
  // A file that failed to load has no tests to count; count it as a failure so it cannot hide.
  for (const file of report.testResults ?? []) {
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) failed += 1;
  }
} catch (error) {
  console.error(`could not read the test report ${out}: ${error.message}`);
  failed += 1;
}
if (run.status !== 0 && failed === 0) failed = 1; // vitest itself failed (config, global setup, crash)
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
