import { HttpError, keyId } from '@tracker/http';
import type { FastifyRequest } from 'fastify';

export interface ClientSlotLimits {
  /** What is counted, for the error: `exports`, `event streams`. */
  what: string;
  /** Error code of the 429. */
  code: string;
  perAddress: number;
  /** Per read key (a request without one counts against its address only). */
  perKey: number;
}

/**
 * Long-lived requests (exports, event streams) held open at once, counted per client address and
 * per read key, so one client cannot take every slot of the process.
 */
export class ClientSlots {
  readonly #held = new Map<string, number>();

  constructor(private readonly limits: ClientSlotLimits) {}

  /** Takes a slot for the request or throws 429; call the returned function (once or more) to give it back. */
  take(request: FastifyRequest): () => void {
    const buckets: [string, number][] = [[`ip:${request.ip}`, this.limits.perAddress]];
    if (request.apiKey) buckets.push([`key:${keyId(request.apiKey)}`, this.limits.perKey]);
    for (const [bucket, limit] of buckets) {
      if ((this.#held.get(bucket) ?? 0) >= limit) {
        const by = bucket.startsWith('ip:') ? 'this address' : 'this key';
        throw new HttpError(
          429,
          this.limits.code,
          `${by} already has ${limit} ${this.limits.what} open; close one or try again shortly`,
          [],
          { 'retry-after': '10' },
        );
      }
    }
    for (const [bucket] of buckets) this.#held.set(bucket, (this.#held.get(bucket) ?? 0) + 1);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      for (const [bucket] of buckets) {
        const n = (this.#held.get(bucket) ?? 1) - 1;
        if (n === 0) this.#held.delete(bucket);
        else this.#held.set(bucket, n);
      }
    };
  }
}
