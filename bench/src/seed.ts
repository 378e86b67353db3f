#!/usr/bin/env node
// ./tracker seed [--count N] [--users U] [--days D] [--ingest URL] [--write-key K] [--seed S]
// Realistic synthetic traffic through the ingest HTTP API; see bench/README.md.
import { ConfigError } from '@tracker/config';
import { parseSeedArgs, USAGE } from './seed-args.js';
import { loadSeedEnv } from './seed-config.js';
import { runSeed } from './seed-run.js';
import { SeedError } from './seed-send.js';

try {
  const options = parseSeedArgs(process.argv.slice(2), loadSeedEnv());
  if (options.help) {
    console.log(USAGE);
  } else {
    const s = await runSeed(options);
    console.log(
      `seeded ${s.accepted} of ${s.sent} interactions (${s.rejected} refused) and ${s.identifies} identify calls ` +
        `in ${s.seconds} s (${s.eventsPerSecond} events/s, ${s.retries} retries); seed ${s.seed}, end ${s.end}`,
    );
    for (const sample of s.rejectionSamples) console.log(`  refused: ${sample}`);
    if (s.rejected > 0) process.exitCode = 1;
  }
} catch (error) {
  if (error instanceof SeedError || error instanceof ConfigError) {
    console.error(`seed: error: ${error.message}`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
