import type { SeedOptions } from './seed-args.js';
import { TrafficModel } from './seed-model.js';
import { createProgress } from './seed-progress.js';
import { checkIngest, chunks, type SendOptions, sendBatches, sendIdentifies } from './seed-send.js';

export interface SeedSummary {
  seed: number;
  end: string;
  users: number;
  identifies: number;
  sent: number;
  accepted: number;
  rejected: number;
  retries: number;
  seconds: number;
  eventsPerSecond: number;
  rejectionSamples: string[];
}

/**
 * Checks that ingest is ready, sends the identify calls (users exist before they act), then the
 * interactions in batches, with progress on `log`'s stream.
 */
export async function runSeed(
  o: SeedOptions,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
  stream: NodeJS.WriteStream = process.stderr,
): Promise<SeedSummary> {
  const send: SendOptions = { ingestUrl: o.ingestUrl, writeKey: o.writeKey, concurrency: o.concurrency };
  await checkIngest(o.ingestUrl);
  const model = new TrafficModel({
    count: o.count,
    users: o.users,
    days: o.days,
    end: o.end,
    seed: o.seed,
    identifyShare: o.identifyShare,
  });
  const end = new Date(o.end).toISOString();
  log(
    `seeding ${o.count} interactions from ${o.users} users over ${o.days} days into ${o.ingestUrl}` +
      ` (seed ${o.seed}, end ${end}; repeat with --seed ${o.seed} --end ${end})`,
  );
  const started = Date.now();
  const identifyCalls = model.identifyCalls();
  const identifyProgress = createProgress(identifyCalls.length, 'identify', stream);
  const identifies = await sendIdentifies(identifyCalls, send, () => identifyProgress.increment(1)).finally(
    () => identifyProgress.stop(),
  );
  const progress = createProgress(o.count, 'events  ', stream);
  const result = await sendBatches(chunks(model.events(), o.batchSize), send, (n) =>
    progress.increment(n),
  ).finally(() => progress.stop());
  const seconds = (Date.now() - started) / 1000;
  return {
    seed: o.seed,
    end,
    users: o.users,
    identifies,
    sent: o.count,
    accepted: result.accepted,
    rejected: result.rejected,
    retries: result.retries,
    seconds: Math.round(seconds * 10) / 10,
    eventsPerSecond: Math.round(o.count / Math.max(seconds, 0.001)),
    rejectionSamples: result.samples,
  };
}
