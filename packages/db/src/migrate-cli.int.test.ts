import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/migrate-cli.js', import.meta.url));

/** Runs `pnpm db:migrate`'s script with DATABASE_URL set; everything it printed. */
function migrateCli(databaseUrl: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [CLI], {
    env: { PATH: process.env['PATH'] ?? '', DATABASE_URL: databaseUrl },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('db:migrate never prints a password', () => {
  it.each([
    ['a URL without a database name', 'postgresql://postgres:pw-s3cret-4711@127.0.0.1:5432/'],
    ['a server that does not answer', 'postgresql://postgres:pw-s3cret-4711@127.0.0.1:1/tracker'],
    ['a malformed port', 'postgresql://postgres:pw-s3cret-4711@127.0.0.1:notaport/tracker'],
  ])('fails for %s without the password in its output', (_what, url) => {
    const { status, output } = migrateCli(url);
    expect(status).not.toBe(0);
    expect(output).toContain('db:migrate failed');
    expect(output).not.toContain('pw-s3cret-4711');
  });
});
