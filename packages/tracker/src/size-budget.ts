import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

/** The classic-script build must stay under this many gzipped bytes. */
export const SIZE_BUDGET_BYTES = 5 * 1024;

export interface SizeReport {
  bytes: number;
  gzipBytes: number;
  budget: number;
  ok: boolean;
  /** One line for the build log, e.g. `dist/tracker.js: 7.1 KB, 2.9 KB gzipped (budget 5.0 KB)`. */
  message: string;
}

const kb = (n: number) => `${(n / 1024).toFixed(2)} KB`;

/**
 * Measures `code` the way a server would send it (gzip, default level) against `budget` bytes.
 * Node-only: the build script and the tests use it, the snippet does not.
 */
export function checkSize(name: string, code: string | Uint8Array, budget = SIZE_BUDGET_BYTES): SizeReport {
  const buf = typeof code === 'string' ? Buffer.from(code) : code;
  const gzipBytes = gzipSync(buf).length;
  const ok = gzipBytes <= budget;
  const message = `${name}: ${kb(buf.length)}, ${kb(gzipBytes)} gzipped (budget ${kb(budget)})${ok ? '' : ` — OVER BUDGET by ${gzipBytes - budget} bytes`}`;
  return { bytes: buf.length, gzipBytes, budget, ok, message };
}

/** checkSize on a file. */
export function checkFileSize(path: string, budget = SIZE_BUDGET_BYTES): SizeReport {
  return checkSize(path, readFileSync(path), budget);
}
