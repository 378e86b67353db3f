/**
 * A PostgreSQL primary and a streaming replica of a test's own, from the machine's server binaries
 * (/usr/lib/postgresql/<newest>/bin): initdb for the primary, pg_basebackup -R for the replica, both
 * on free ports under a temp dir. As root, every server command runs as the `postgres` user (initdb
 * refuses root), the way ./tracker starts its private cluster. Test code only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pg } from '@tracker/db';
import { freePort } from './services.js';
import { waitFor } from './wait.js';

export interface ReplicatedPostgres {
  /** A connection URL for `database` on the primary (writes) or on the replica (reads only). */
  primaryUrl(database: string): string;
  replicaUrl(database: string): string;
  /** Waits until the replica has replayed everything the primary had written when this was called. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops replaying WAL on the replica (it still receives it) / goes on replaying. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops both servers and deletes their directories. */
  close(): Promise<void>;
}

function serverBinaries(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'pg_basebackup')))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  if (newest === undefined) {
    throw new Error(`no PostgreSQL server binaries under ${root} (apt-get install postgresql)`);
  }
  return join(root, newest, 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary (as `postgres` when we are root); throws with its output when it fails. */
function run(bin: string, args: string[]): void {
  const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const result = spawnSync(command, argv, { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) {
    throw new Error(`${bin} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.stdout}`);
  }
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Starts a primary (wal_level=replica) and a hot-standby replica streaming from it. */
export async function startReplicatedPostgres(): Promise<ReplicatedPostgres> {
  const bin = serverBinaries();
  const dir = await mkdtemp(join(tmpdir(), 'tracker-replica-'));
  await chmod(dir, 0o777);
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const url = (port: number, database: string) => `postgresql://postgres@127.0.0.1:${port}/${database}`;
  const started: string[] = [];
  const start = (data: string, port: number) => {
    run(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, `${port}.log`),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    started.push(data);
  };
  const close = async () => {
    for (const data of started.splice(0).reverse()) {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  try {
    run(join(bin, 'initdb'), [
      '-D',
      primaryDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-instructions',
    ]);
    // initdb's pg_hba.conf already trusts replication connections from 127.0.0.1.
    await appendFile(
      join(primaryDir, 'postgresql.conf'),
      '\nwal_level = replica\nmax_wal_senders = 4\nfsync = off\nsynchronous_commit = off\n',
    );
    start(primaryDir, primaryPort);
    run(join(bin, 'pg_basebackup'), [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
    ]);
    start(replicaDir, replicaPort);
    await waitFor(
      async () =>
        (await query(url(replicaPort, 'postgres'), 'SELECT pg_is_in_recovery() AS r')).rows[0]?.r === true,
      { what: 'the replica to accept reads', timeoutMs: 30_000 },
    );
  } catch (error) {
    await close();
    throw error;
  }

  return {
    primaryUrl: (database) => url(primaryPort, database),
    replicaUrl: (database) => url(replicaPort, database),
    async caughtUp(timeoutMs = 30_000) {
      const { rows } = await query(url(primaryPort, 'postgres'), 'SELECT pg_current_wal_lsn()::text AS lsn');
      const target = rows[0]!.lsn as string;
      await waitFor(
        async () =>
          (
            await query(
              url(replicaPort, 'postgres'),
              `SELECT pg_last_wal_replay_lsn() >= '${target}'::pg_lsn AS done`,
            )
          ).rows[0]?.done === true,
        { what: `the replica to replay up to ${target}`, timeoutMs },
      );
    },
    async pauseReplay() {
      await query(url(replicaPort, 'postgres'), 'SELECT pg_wal_replay_pause()');
    },
    async resumeReplay() {
      await query(url(replicaPort, 'postgres'), 'SELECT pg_wal_replay_resume()');
    },
    close,
  };
}
