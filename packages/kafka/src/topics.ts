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
 * Creates the topics that are missing (existing ones are left as they are) and waits until their
 * leaders are known. Returns the names it created.
 */
export async function ensureTopics(admin: Admin, options: TopicOptions = {}): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = topicSpecs(options).filter((t) => !existing.has(t.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({ topics: missing, waitForLeaders: true });
  return missing.map((t) => t.topic);
}
