import { parseArgs } from 'node:util';
import type { SeedEnv } from './seed-config.js';
import { SeedError } from './seed-send.js';

export const USAGE = `Usage: ./tracker seed [options]   (or: pnpm run seed -- [options])

Sends realistic synthetic traffic through the ingest HTTP API.

  --count N         interactions to send (default 10000); identify calls come on top
  --users U         distinct users (default: count / 20, between 20 and 5000)
  --days D          days of history ending now (default 28)
  --ingest URL      ingest base URL (default $INGEST_URL or http://127.0.0.1:3001)
  --write-key K     write key (default: the first of $INGEST_WRITE_KEYS, else none)
  --seed S          integer seed: the same seed and --end give the same events and eventIds
                    (default: random, printed so the run can be repeated)
  --end ISO         newest possible timestamp (default: now)
  --batch-size B    events per POST /v1/batch (default 500, at most 1000)
  --concurrency C   requests in flight (default 4)
  --identify-share  share of signed-up users that get an identify call (default 0.8)
  -h, --help        this text`;

export interface SeedOptions {
  count: number;
  users: number;
  days: number;
  ingestUrl: string;
  writeKey: string | undefined;
  seed: number;
  /** Whether the seed came from --seed (else it was drawn at random). */
  seedGiven: boolean;
  end: number;
  batchSize: number;
  concurrency: number;
  identifyShare: number;
  help: boolean;
}

function int(
  name: string,
  value: string | undefined,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push(`--${name} must be an integer from ${min} to ${max}, got "${value}"`);
    return undefined;
  }
  return n;
}

/**
 * Parses the seed's command line (a leading `--`, as `pnpm run seed -- ...` may pass, is skipped).
 * Throws SeedError listing every bad flag.
 */
export function parseSeedArgs(
  argv: string[],
  env: SeedEnv,
  now = Date.now(),
  random = Math.random,
): SeedOptions {
  const args = argv[0] === '--' ? argv.slice(1) : argv;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        count: { type: 'string' },
        users: { type: 'string' },
        days: { type: 'string' },
        ingest: { type: 'string' },
        'write-key': { type: 'string' },
        seed: { type: 'string' },
        end: { type: 'string' },
        'batch-size': { type: 'string' },
        concurrency: { type: 'string' },
        'identify-share': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new SeedError(`${(error as Error).message}\n\n${USAGE}`);
  }
  const s = (k: string) => values[k] as string | undefined;
  const problems: string[] = [];
  const count = int('count', s('count'), 1, 100_000_000, problems) ?? 10_000;
  const users =
    int('users', s('users'), 1, 10_000_000, problems) ?? Math.min(5000, Math.max(20, Math.round(count / 20)));
  const days = int('days', s('days'), 1, 3650, problems) ?? 28;
  const batchSize = int('batch-size', s('batch-size'), 1, 1000, problems) ?? 500;
  const concurrency = int('concurrency', s('concurrency'), 1, 64, problems) ?? 4;
  const seedArg = int('seed', s('seed'), -(2 ** 31), 2 ** 31 - 1, problems);
  const ingestUrl = s('ingest') ?? env.INGEST_URL;
  if (!URL.canParse(ingestUrl) || !/^https?:$/.test(new URL(ingestUrl).protocol)) {
    problems.push(`--ingest must be an http(s) URL, got "${ingestUrl}"`);
  }
  let end = now;
  if (s('end') !== undefined) {
    end = Date.parse(s('end')!);
    if (Number.isNaN(end)) problems.push(`--end must be an ISO-8601 date-time, got "${s('end')}"`);
  }
  let identifyShare = 0.8;
  if (s('identify-share') !== undefined) {
    identifyShare = Number(s('identify-share'));
    if (!(identifyShare >= 0 && identifyShare <= 1)) {
      problems.push(`--identify-share must be a number from 0 to 1, got "${s('identify-share')}"`);
    }
  }
  if (problems.length > 0) throw new SeedError(`${problems.join('\n')}\n\n${USAGE}`);
  return {
    count,
    users,
    days,
    ingestUrl: ingestUrl.replace(/\/+$/, ''),
    writeKey: s('write-key') ?? env.INGEST_WRITE_KEYS[0],
    seed: seedArg ?? Math.floor(random() * 2 ** 31),
    seedGiven: seedArg !== undefined,
    end,
    batchSize,
    concurrency,
    identifyShare,
    help: values.help === true,
  };
}
