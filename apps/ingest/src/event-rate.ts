import { HttpError, keyId, WindowCounter } from '@tracker/http';
import type { FastifyRequest } from 'fastify';

export interface EventRateOptions {
  /** Events per window per bucket; 0 turns the limit off. */
  max: number;
  windowMs: number;
  /** `key+address`: per key and client address (browser keys are shared by every visitor); `key`: per key. */
  bucket: 'key+address' | 'key';
  /** For the message: which setting to raise. */
  setting: string;
}

/**
 * A budget of events, not of requests: a batch or an import chunk takes as many as it holds, and a
 * request past the budget is refused with 429 and Retry-After before anything of it is produced.
 */
export class EventRate {
  readonly #counter: WindowCounter;

  constructor(private readonly o: EventRateOptions) {
    this.#counter = new WindowCounter({ windowMs: o.windowMs, maxTracked: 100_000 });
  }

  /** Takes `events` from the request's budget, or throws 429 (taking nothing). */
  take(request: FastifyRequest, events: number): void {
    if (this.o.max === 0 || events === 0) return;
    const bucket = this.#bucket(request);
    const used = this.#counter.count(bucket);
    if (used + events > this.o.max) {
      const seconds = Math.max(1, Math.ceil(this.#counter.resetIn(bucket) / 1000));
      throw new HttpError(
        429,
        'EVENT_RATE_LIMITED',
        `at most ${this.o.max} events per ${Math.round(this.o.windowMs / 1000)} s (${this.o.setting}); ` +
          `${Math.max(0, this.o.max - used)} are left in this window; retry in ${seconds} s`,
        [],
        { 'retry-after': String(seconds) },
      );
    }
    this.#counter.add(bucket, events);
  }

  /**
   * Runs `publish` for `events` already taken; when it answers 503 (Kafka did not take them, or the
   * producer queue was full) gives them back, so that the client's resend is not counted twice.
   */
  async refundingUnavailable(
    request: FastifyRequest,
    events: number,
    publish: () => Promise<void>,
  ): Promise<void> {
    try {
      await publish();
    } catch (error) {
      if (error instanceof HttpError && error.statusCode === 503 && this.o.max > 0)
        this.#counter.subtract(this.#bucket(request), events);
      throw error;
    }
  }

  #bucket(request: FastifyRequest): string {
    const key = request.apiKey ? keyId(request.apiKey) : '-';
    return this.o.bucket === 'key' && request.apiKey ? key : `${key}|${request.ip}`;
  }
}
