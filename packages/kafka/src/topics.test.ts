import type { Admin, ITopicMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createTopicsAndWait, ensureTopics, topicSpecs } from './topics.js';

/** An admin whose broker answers like a KRaft broker right after creating a topic. */
function kraftAdmin({ unknownFor, leaderlessPolls }: { unknownFor: boolean; leaderlessPolls: number }) {
  const calls = { create: 0, metadata: 0 };
  const admin = {
    async listTopics() {
      return [];
    },
    async createTopics() {
      calls.create += 1;
      if (unknownFor) {
        throw Object.assign(new Error('This server does not host this topic-partition'), {
          type: 'UNKNOWN_TOPIC_OR_PARTITION',
        });
      }
      return true;
    },
    async fetchTopicMetadata({ topics }: { topics: string[] }) {
      calls.metadata += 1;
      const leader = calls.metadata > leaderlessPolls ? 1 : -1;
      return {
        topics: topics.map(
          (name): ITopicMetadata => ({
            name,
            partitions: [
              { partitionId: 0, leader, replicas: [1], isr: [1], offlineReplicas: [], partitionErrorCode: 0 },
            ],
          }),
        ),
      };
    },
  };
  return { admin: admin as unknown as Admin, calls };
}

describe('creating topics on a KRaft broker', () => {
  it("waits out the broker's brief UNKNOWN_TOPIC_OR_PARTITION instead of failing start-up", async () => {
    const { admin, calls } = kraftAdmin({ unknownFor: true, leaderlessPolls: 2 });
    const created = await ensureTopics(admin);
    expect(created).toEqual(topicSpecs().map((t) => t.topic));
    expect(calls.metadata).toBe(3);
  });

  it('fails with the topics and the reason once the wait runs out', async () => {
    const { admin } = kraftAdmin({ unknownFor: false, leaderlessPolls: Number.POSITIVE_INFINITY });
    await expect(
      createTopicsAndWait(admin, [{ topic: 't1' }], { timeoutMs: 50, intervalMs: 10 }),
    ).rejects.toThrow(/topics t1 not ready after 50 ms: no leader yet for t1/);
  });

  it('passes on any other error at once', async () => {
    const { admin } = kraftAdmin({ unknownFor: false, leaderlessPolls: 0 });
    admin.createTopics = async () => {
      throw Object.assign(new Error('denied'), { type: 'TOPIC_AUTHORIZATION_FAILED' });
    };
    await expect(createTopicsAndWait(admin, [{ topic: 't1' }])).rejects.toThrow('denied');
  });
});
