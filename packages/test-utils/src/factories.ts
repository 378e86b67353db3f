import { randomUUID } from 'node:crypto';
import type { InteractionRecord } from '@tracker/schemas';

let sequence = 0;

/** A valid interaction record with sensible values; override any field. */
export function buildInteraction(overrides: Partial<InteractionRecord> = {}): InteractionRecord {
  sequence += 1;
  const now = Date.now();
  return {
    eventId: randomUUID(),
    type: 'TRACK',
    userId: `user-${sequence}`,
    role: 'USER',
    action: 'page_view',
    page: `/pages/${sequence % 7}`,
    occurredAt: now - 1000,
    receivedAt: now,
    sessionId: null,
    properties: {},
    userAgent: null,
    isBot: false,
    ...overrides,
  };
}

/**
 * A deterministic source of numbers in [0, 1) (a linear congruential generator) for generated test
 * data that is the same on every run.
 */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}
