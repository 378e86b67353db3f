import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { REPO_ROOT } from '../services.js';

/**
 * docker-compose.yml driven as a user would: `docker compose` (v2) where the plugin exists, else
 * Debian's `docker-compose` (1.29). One project name per instance, so a test never touches the
 * user's own `docker compose up` stack.
 */
export class ComposeProject {
  readonly command: string[];

  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
  ) {
    const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
    this.command = v2.status === 0 ? ['docker', 'compose'] : ['docker-compose'];
  }

  #args(args: string[]): [string, string[]] {
    const [bin, ...rest] = this.command;
    return [bin!, [...rest, '--project-name', this.name, '--file', 'docker-compose.yml', ...args]];
  }

  #env(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env, COMPOSE_PROJECT_NAME: this.name };
  }

  /** Runs a compose command to its end; throws with its output when it fails. */
  async run(args: string[], { timeoutMs = 600_000 } = {}): Promise<string> {
    const [bin, full] = this.#args(args);
    return new Promise((resolve, reject) => {
      const child = spawn(bin, full, { cwd: REPO_ROOT, env: this.#env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d;
      });
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(output);
        else
          reject(
            new Error(`${this.command.join(' ')} ${args.join(' ')} exited ${code}:\n${output.slice(-6000)}`),
          );
      });
    });
  }

  /** The same, synchronously (for cleanup paths). */
  runSync(args: string[]): SpawnSyncReturns<string> {
    const [bin, full] = this.#args(args);
    return spawnSync(bin, full, { cwd: REPO_ROOT, env: this.#env(), encoding: 'utf8', timeout: 300_000 });
  }

  /** Container ids of a service (running or not). */
  async containers(service: string): Promise<string[]> {
    const out = await this.run(['ps', '-q', service]);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }
}

/** `docker` itself (inspect, kill), throwing with its output on failure. */
export function docker(args: string[]): string {
  const run = spawnSync('docker', args, { encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) throw new Error(`docker ${args.join(' ')}: ${run.stderr || run.stdout}`);
  return run.stdout.trim();
}

/** A container's state: health when it has a healthcheck, else its status (running, exited). */
export function containerState(id: string): { status: string; health: string | undefined; exitCode: number } {
  const [status, health, exitCode] = docker([
    'inspect',
    '--format',
    '{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.ExitCode}}',
    id,
  ]).split('|');
  return { status: status!, health: health || undefined, exitCode: Number(exitCode) };
}
