/**
 * Where a service's thread spent its busy time, by package: reads the .cpuprofile files that
 * `BENCH_CPU_PROF_DIR=<dir> ./tracker bench` makes (node --cpu-prof) and prints, per file, the share of
 * the non-idle samples owned by each npm package or workspace package (apps/ingest, packages/db, ...).
 * A sample in Node's own code or a native function counts for the nearest caller that is in a package,
 * so socket writes made for kafkajs count as kafkajs. Usage: `node bench/dist/profile-summary.js <file>...`.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Microseconds sampled in all, and outside `(idle)`. */
  totalUs: number;
  busyUs: number;
  /** Owners of the busy time, largest first; shares of busyUs. */
  owners: { owner: string; us: number; share: number }[];
}

/** V8's pseudo-frames, reported under their own names. */
const PSEUDO = new Set(['(garbage collector)', '(program)', '(idle)']);
const NODE_INTERNALS = 'node internals (HTTP, streams, timers)';

/** The package a script URL belongs to: an npm package (pnpm layout or flat) or apps/x, packages/x. */
export function packageOf(url: string): string | null {
  const npm = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (npm) return npm[1]!;
  const workspace = /\/(apps|packages|bench)\/([^/]+)\//.exec(url);
  if (workspace) return workspace[1] === 'bench' ? 'bench' : `${workspace[1]}/${workspace[2]}`;
  return null;
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ownerCache = new Map<number, string>();
  const ownerOf = (id: number): string => {
    const cached = ownerCache.get(id);
    if (cached) return cached;
    let owner = NODE_INTERNALS;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (PSEUDO.has(frame.functionName)) {
        owner = frame.functionName;
        break;
      }
      const pkg = frame.url ? packageOf(frame.url) : null;
      if (pkg) {
        owner = pkg;
        break;
      }
    }
    ownerCache.set(id, owner);
    return owner;
  };
  const us = new Map<string, number>();
  let totalUs = 0;
  // timeDeltas[i] is the time from sample i-1 to sample i: sample i lasts until sample i+1 (as DevTools counts).
  for (let i = 0; i < profile.samples.length; i += 1) {
    const delta = profile.timeDeltas[i + 1] ?? 0;
    totalUs += delta;
    const owner = ownerOf(profile.samples[i]!);
    us.set(owner, (us.get(owner) ?? 0) + delta);
  }
  const busyUs = totalUs - (us.get('(idle)') ?? 0);
  const owners = [...us.entries()]
    .filter(([owner]) => owner !== '(idle)')
    .map(([owner, t]) => ({ owner, us: t, share: busyUs > 0 ? t / busyUs : 0 }))
    .sort((a, b) => b.us - a.us);
  return { totalUs, busyUs, owners };
}

async function main(files: string[]): Promise<void> {
  if (files.length === 0) {
    console.error('usage: node bench/dist/profile-summary.js <file.cpuprofile>...');
    process.exit(2);
  }
  for (const file of files) {
    const s = summarize(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
    console.log(
      `${basename(file)}: busy ${(s.busyUs / 1e6).toFixed(1)} s of ${(s.totalUs / 1e6).toFixed(1)} s sampled`,
    );
    for (const o of s.owners.filter((o) => o.share >= 0.005))
      console.log(`  ${(100 * o.share).toFixed(1).padStart(5)}%  ${o.owner}`);
  }
}

if (process.argv[1]?.endsWith('profile-summary.js')) {
  main(process.argv.slice(2)).catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
