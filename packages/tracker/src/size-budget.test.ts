import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSize, SIZE_BUDGET_BYTES } from './size-budget.js';

const run = promisify(execFile);
const buildScript = fileURLToPath(new URL('../scripts/build.ts', import.meta.url));
const outdir = mkdtempSync(join(tmpdir(), 'tracker-build-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('size budget', () => {
  it('is 5 KB gzipped', () => {
    expect(SIZE_BUDGET_BYTES).toBe(5120);
  });

  it('passes code that compresses under the budget and reports both sizes', () => {
    const report = checkSize('small.js', 'window.tracker={};'.repeat(2000));
    expect(report.ok).toBe(true);
    expect(report.bytes).toBe(36_000);
    expect(report.gzipBytes).toBeLessThan(1000);
    expect(report.message).toMatch(/^small\.js: 35\.16 KB, 0\.\d\d KB gzipped \(budget 5\.00 KB\)$/);
  });

  it('fails code whose gzipped size is over the budget, by how much', () => {
    // Random bytes do not compress: 6 KB of them stay over 5 KB gzipped.
    const report = checkSize('big.js', randomBytes(6 * 1024));
    expect(report.ok).toBe(false);
    expect(report.gzipBytes).toBeGreaterThan(SIZE_BUDGET_BYTES);
    expect(report.message).toContain(`OVER BUDGET by ${report.gzipBytes - SIZE_BUDGET_BYTES} bytes`);
  });

  it('makes the build exit non-zero when the bundle is over the budget', async () => {
    const failed = await run(process.execPath, [buildScript, '--outdir', outdir, '--budget', '1024']).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stdout).toMatch(
      /tracker\.js: [\d.]+ KB, [\d.]+ KB gzipped \(budget 1\.00 KB\) — OVER BUDGET/,
    );
    expect(failed?.stderr).toContain('over its gzip budget of 1024 bytes');
  });

  it('builds the real snippet within the real budget', async () => {
    const { stdout } = await run(process.execPath, [buildScript, '--outdir', outdir]);
    const gzipKb = Number(/tracker\.js: [\d.]+ KB, ([\d.]+) KB gzipped/.exec(stdout)?.[1]);
    expect(gzipKb).toBeGreaterThan(0);
    expect(gzipKb).toBeLessThanOrEqual(5);
  });
});
