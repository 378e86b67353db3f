import { TOPICS } from '@tracker/schemas';
import type { Admin, ITopicConfig } from 'kafkajs';

export interface TopicOptions {
  /** Partitions of `interactions`; the processor scales out to at most this many instances. Default 12. */
  partitions?: number;
  /** Retention of `interactions` in ms; -1 keeps forever. Default 7 days. */
  retentionMs?: number;
  /** Replication factor for all topics. Default 1 (single broker). */
  replicationFactor?: number;
}

/** The topics the system needs, with their settings. */
export function topicSpecs(options: TopicOptions = {}): ITopicConfig[] {
  const replicationFactor = options.replicationFactor ?? 1;
  return [
    {
      topic: TOPICS.interactions,
      numPartitions: options.partitions ?? 12,
      replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(options.retentionMs ?? 7 * 24 * 3600 * 1000) }],
    },
    {
      topic: TOPICS.deadLetter,
      numPartitions: 1,
      replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(30 * 24 * 3600 * 1000) }],
    },
    {
      topic: TOPICS.apiHits,
      numPartitions: 1,
      replicationFactor,
      configEntries: [{ name: 'retention.ms', value: String(24 * 3600 * 1000) }],
    },
  ];
}

/**
 * Creates `topics` and waits until every partition has a leader. A KRaft broker may answer
 * UNKNOWN_TOPIC_OR_PARTITION for a moment right after creating a topic, which kafkajs' own
 * waitForLeaders gives up on; that answer is waited out here by reading the metadata until
 * `timeoutMs`. Topics that exist already are left as they are.
 */
export async function createTopicsAndWait(
  admin: Pick<Admin, 'createTopics' | 'fetchTopicMetadata'>,
  topics: ITopicConfig[],
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<void> {
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (error) {
    if ((error as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw error;
  }
  const names = topics.map((t) => t.topic);
  const deadline = Date.now() + timeoutMs;
  let last = 'no metadata yet';
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics: names });
      const waiting = metadata.topics
        .filter((t) => t.partitions.length === 0 || t.partitions.some((p) => p.leader < 0))
        .map((t) => t.name);
      if (waiting.length === 0 && metadata.topics.length === names.length) return;
      last = `no leader yet for ${waiting.join(', ') || 'some topics'}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(`topics ${names.join(', ')} not ready after ${timeoutMs} ms: ${last}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Creates the topics that are missing (existing ones are left as they are) and waits until their
 * leaders are known. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, options: TopicOptions = {}): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topicSpecs(options).filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  await createTopicsAndWait(admin, missing);
  return missing.map((t) => t.topic);
}
