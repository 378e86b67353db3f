import { randomUUID } from 'node:crypto';
import type { InteractionRow } from './rows.js';

/**
 * Tests only: an InteractionRow with plain defaults (a GUEST's click on '/' at `occurredAt`, received
 * at the same instant, no session, properties or user agent, partition 0 offset 0); `overrides` win.
 */
export function interactionRow(
  userId: string,
  occurredAt: number,
  overrides: Partial<InteractionRow> = {},
): InteractionRow {
  return {
    eventId: randomUUID(),
    userId,
    role: 'GUEST',
    action: 'click',
    page: '/',
    occurredAt,
    receivedAt: occurredAt,
    sessionId: null,
    properties: {},
    userAgent: null,
    isBot: false,
    partition: 0,
    offset: '0',
    ...overrides,
  };
}
