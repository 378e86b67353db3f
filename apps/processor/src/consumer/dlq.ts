import type { OutgoingMessage } from '@tracker/kafka';
import { DLQ_HEADERS } from '@tracker/schemas';
import type { IHeaders } from 'kafkajs';
import type { Poison } from './poison.js';

const MAX_REASON = 1000;

/** `code: detail`, on one line and bounded, for the dlq-reason header. */
export function dlqReason(p: Pick<Poison, 'code' | 'detail'>): string {
  const text = `${p.code}: ${p.detail}`.replace(/\s+/g, ' ').trim();
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/**
 * The dead-letter message for a poison message: the original key, value and headers byte for byte,
 * plus the DLQ headers (reason, step, source topic, partition, offset, time). Ours replace original
 * headers of the same name (a message dead-lettered twice keeps the latest reason).
 */
export function buildDlqMessage(
  p: Poison,
  source: { topic: string; partition: number },
  now: Date,
): OutgoingMessage {
  const headers: IHeaders = { ...(p.message.headers ?? {}) };
  headers[DLQ_HEADERS.reason] = dlqReason(p);
  headers[DLQ_HEADERS.step] = p.step;
  headers[DLQ_HEADERS.topic] = source.topic;
  headers[DLQ_HEADERS.partition] = String(source.partition);
  headers[DLQ_HEADERS.offset] = p.message.offset;
  headers[DLQ_HEADERS.time] = now.toISOString();
  return { key: p.message.key, value: p.message.value, headers };
}
