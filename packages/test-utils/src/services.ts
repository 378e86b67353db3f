import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

/** The repository root (this file is packages/test-utils/{src,dist}/services.*). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'ingest' | 'processor' | 'query';

/** `apps/<service>/dist/server.js`: what `pnpm turbo run build` produces and the images run. */
export function serverScript(service: ServiceName): string {
  return join(REPO_ROOT, 'apps', service, 'dist', 'server.js');
}

/** The preload that reroutes a child's TCP connections (net-redirect.ts, built: node runs it as is). */
export const NET_REDIRECT_PRELOAD = join(REPO_ROOT, 'packages', 'test-utils', 'dist', 'net-redirect.js');

/** A free TCP port on 127.0.0.1 (the OS picks it; it is free again when this returns). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}

export interface ServiceProcess {
  service: ServiceName;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** True while the process runs. */
  readonly running: boolean;
  /** Waits until GET /readyz answers 200 (throws with the output when the process exits first). */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

export interface SpawnServiceOptions {
  /** Environment on top of PATH (nothing else of the test's environment leaks in). */
  env?: Record<string, string>;
  /** TCP connections to a "host:port" key go to the value's "host:port" instead (net-redirect.ts). */
  redirect?: Record<string, string>;
  /** Port to listen on; default a free one. */
  port?: number;
}

/**
 * Runs a built service (`node apps/<service>/dist/server.js`) as a child process on 127.0.0.1,
 * capturing its output: the whole-stack form the reliability tests use (signals, crashes and restarts
 * act on a real process).
 */
export async function spawnService(
  service: ServiceName,
  { env = {}, redirect, port }: SpawnServiceOptions = {},
): Promise<ServiceProcess> {
  const script = serverScript(service);
  if (!existsSync(script)) throw new Error(`${script} is missing: build first (pnpm turbo run build)`);
  const listenPort = port ?? (await freePort());
  const args = redirect ? ['--import', NET_REDIRECT_PRELOAD, script] : [script];
  const child = spawn(process.execPath, args, {
    env: {
      PATH: process.env['PATH'] ?? '',
      LOG_LEVEL: 'info',
      ...env,
      HOST: '127.0.0.1',
      PORT: String(listenPort),
      ...(redirect ? { TRACKER_TEST_NET_REDIRECT: JSON.stringify(redirect) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${listenPort}`;
  const isRunning = () => child.exitCode === null && child.signalCode === null;
  return {
    service,
    url,
    port: listenPort,
    child,
    output: () => output,
    exited,
    get running() {
      return isRunning();
    },
    async ready(timeoutMs = 60_000) {
      const failed = (what: string) =>
        new Error(`${what}\n--- ${service} output ---\n${output.slice(-4000)}`);
      let settled = false;
      const ready = waitFor(
        async () => {
          const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).catch(
            () => undefined,
          );
          await response?.body?.cancel();
          return response?.status === 200 || settled;
        },
        { timeoutMs, intervalMs: 200, what: `${service} to be ready` },
      );
      const died = exited.then((code) => {
        if (!settled) throw failed(`${service} exited (code ${code}) before it was ready`);
      });
      try {
        await Promise.race([ready, died]);
      } catch (error) {
        throw error instanceof Error && error.message.includes('--- ')
          ? error
          : failed((error as Error).message);
      } finally {
        settled = true;
      }
    },
    async stop(graceMs = 20_000) {
      if (!isRunning()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Parsed pino lines of a service's output (lines that are not JSON are skipped). */
export function logLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
