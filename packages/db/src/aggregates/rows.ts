import type { InteractionRecord, Role } from '@tracker/schemas';

/** A TRACK record ready to store (times in epoch ms, Kafka coordinates for traceability). */
export interface InteractionRow {
  eventId: string;
  userId: string;
  role: Role;
  action: string;
  page: string;
  occurredAt: number;
  receivedAt: number;
  sessionId: string | null;
  properties: Record<string, string | number | boolean>;
  userAgent: string | null;
  isBot: boolean;
  partition: number;
  offset: string;
  /**
   * The sender gave no role (`role` is the GUEST default): stored with the user's role as the users
   * table has it before this statement, GUEST for a new user.
   */
  roleUnset?: boolean;
}

/** An IDENTIFY record ready to store. */
export interface IdentifyRow {
  eventId: string;
  userId: string;
  role: Role;
  traits: Record<string, string | number | boolean>;
  occurredAt: number;
  receivedAt: number;
  partition: number;
  offset: string;
  /** As InteractionRow's: a traits-only identify keeps the user's role. */
  roleUnset?: boolean;
}

/** A TRACK record as a row, at its Kafka coordinates. */
export function toInteractionRow(
  record: InteractionRecord,
  partition: number,
  offset: string,
): InteractionRow {
  return {
    eventId: record.eventId,
    userId: record.userId,
    role: record.role,
    action: record.action,
    page: record.page,
    occurredAt: record.occurredAt,
    receivedAt: record.receivedAt,
    sessionId: record.sessionId,
    properties: record.properties,
    userAgent: record.userAgent,
    isBot: record.isBot,
    partition,
    offset,
  };
}

/** An IDENTIFY record as a row (its properties are the traits), at its Kafka coordinates. */
export function toIdentifyRow(record: InteractionRecord, partition: number, offset: string): IdentifyRow {
  return {
    eventId: record.eventId,
    userId: record.userId,
    role: record.role,
    traits: record.properties,
    occurredAt: record.occurredAt,
    receivedAt: record.receivedAt,
    partition,
    offset,
  };
}
