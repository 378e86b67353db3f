import { createHash, randomUUID } from 'node:crypto';

/**
 * The eventId of a Segment/RudderStack `messageId` or a PostHog `uuid`. A UUID is taken as it is
 * (lower-cased); anything else (analytics-node's `node-next-<ms>-<uuid>`, analytics-next's
 * `ajs-next-…`, an id of the sender's own) becomes a name-based UUID (RFC 9562 version 5: SHA-1 of
 * a fixed namespace and the text), so the same message sent again gets the same eventId and is
 * stored once. Without an id, a random one (such a message cannot be deduplicated).
 */
export function compatEventId(messageId: unknown): string {
  if (typeof messageId === 'number' && Number.isFinite(messageId)) return uuidV5(String(messageId));
  if (typeof messageId !== 'string' || messageId.length === 0) return randomUUID();
  return UUID.test(messageId) ? messageId.toLowerCase() : uuidV5(messageId);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** This service's namespace for message ids (a random UUID fixed once; changing it would change every derived id). */
export const MESSAGE_ID_NAMESPACE = '6f0d3c1e-5a8b-4e57-9a62-2f4b7c9d8e11';

const namespaceBytes = Buffer.from(MESSAGE_ID_NAMESPACE.replaceAll('-', ''), 'hex');

/** RFC 9562 §5.5: SHA-1 of namespace + name, version 5, variant 10. */
export function uuidV5(name: string, namespace: Buffer = namespaceBytes): string {
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
