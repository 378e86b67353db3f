import type { Admin } from 'kafkajs';
import { waitFor } from './wait.js';

export interface PartitionOffsets {
  partition: number;
  /** The high watermark: offset of the next message to be written. */
  end: number;
  /** The group's committed offset (the next message it will read), null when it committed none. */
  committed: number | null;
}

/** Per partition of `topic`, sorted: end offset and `groupId`'s committed offset. */
export async function groupOffsets(
  admin: Admin,
  topic: string,
  groupId: string,
): Promise<PartitionOffsets[]> {
  const [ends, committed] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
  return ends
    .map((e) => {
      const c = byPartition.get(e.partition);
      return { partition: e.partition, end: Number(e.high), committed: c !== undefined && c >= 0 ? c : null };
    })
    .sort((a, b) => a.partition - b.partition);
}

/** Messages written to `topic` so far: the sum of its partitions' high watermarks. */
export async function topicEndOffset(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Waits until `groupId` has committed every offset of `topic`; returns the offsets. */
export async function waitGroupCaughtUp(
  admin: Admin,
  topic: string,
  groupId: string,
  timeoutMs = 60_000,
): Promise<PartitionOffsets[]> {
  return waitFor(
    async () => {
      const offsets = await groupOffsets(admin, topic, groupId);
      return offsets.every((p) => p.end === 0 || p.committed === p.end) ? offsets : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `group ${groupId} to commit every offset of ${topic}` },
  );
}
