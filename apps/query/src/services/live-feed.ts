import type { PrismaClient } from '@tracker/db';
import type { Logger } from '@tracker/logger';
import { type StoredRow, storedSince } from '../repositories/interactions.repository.js';

export interface LiveFeedOptions {
  pollMs: number;
  /** Re-read window behind the newest stored_at seen, for rows whose transaction committed late. */
  overlapMs: number;
  /** Most rows read per poll; beyond it the feed catches up over the next polls without overlap. */
  maxRowsPerPoll: number;
  log: Logger;
}

export type RowsListener = (rows: StoredRow[]) => void;

/**
 * The one poller per process behind every open event stream: while at least one listener is
 * subscribed it reads the rows stored since the last poll (by stored_at, then event_id) every
 * `pollMs` and hands each batch to every listener, which filters for its client.
 *
 * NOTE: stored_at is the storing transaction's start time, so a row may become visible after rows
 * with a later stored_at. Each poll re-reads `overlapMs` behind the newest stored_at it has seen
 * and drops the event ids already delivered, so a transaction that commits within that window is
 * still delivered, once.
 */
export class LiveFeed {
  #listeners = new Set<RowsListener>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Newest stored_at seen (epoch ms). */
  #high = 0;
  /** Keyset position when catching up a backlog larger than one poll. */
  #catchUp: { storedAt: Date; eventId: string } | undefined;
  /** Event ids delivered whose stored_at is inside the overlap window, with that stored_at. */
  #seen = new Map<string, number>();
  #started = false;
  #stopped = false;

  constructor(
    private readonly prisma: PrismaClient,
    private readonly opts: LiveFeedOptions,
  ) {}

  get listeners(): number {
    return this.#listeners.size;
  }

  subscribe(listener: RowsListener): () => void {
    this.#listeners.add(listener);
    if (!this.#timer && !this.#stopped) this.#schedule(0);
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#pause();
    };
  }

  #schedule(delay: number) {
    this.#timer = setTimeout(() => {
      this.#running = this.#poll()
        .catch((error: Error) => this.opts.log.warn({ msg: 'live_poll_failed', err: error.message }))
        .finally(() => {
          this.#running = undefined;
          if (this.#listeners.size > 0 && !this.#stopped) this.#schedule(this.opts.pollMs);
          else this.#timer = undefined;
        });
    }, delay);
  }

  #pause() {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Resubscribing later starts from "now" again: nobody was listening in between.
    this.#started = false;
    this.#seen.clear();
    this.#catchUp = undefined;
  }

  async #poll(): Promise<void> {
    if (!this.#started) {
      // Start at the database's clock; rows already inside the overlap window count as seen.
      const [clock] = await this.prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
      this.#high = clock!.now.getTime();
      this.#started = true;
      const existing = await storedSince(
        this.prisma,
        new Date(this.#high - this.opts.overlapMs),
        this.opts.maxRowsPerPoll,
      );
      for (const row of existing) this.#markSeen(row);
      return;
    }
    const rows = this.#catchUp
      ? await storedSince(
          this.prisma,
          this.#catchUp.storedAt,
          this.opts.maxRowsPerPoll,
          this.#catchUp.eventId,
        )
      : await storedSince(this.prisma, new Date(this.#high - this.opts.overlapMs), this.opts.maxRowsPerPoll);
    const last = rows.at(-1);
    this.#catchUp =
      rows.length === this.opts.maxRowsPerPoll && last
        ? { storedAt: last.storedAt, eventId: last.eventId }
        : undefined;
    const fresh = rows.filter((row) => !this.#seen.has(row.eventId));
    for (const row of fresh) this.#markSeen(row);
    const floor = this.#high - this.opts.overlapMs;
    for (const [id, at] of this.#seen) if (at < floor) this.#seen.delete(id);
    // Listeners get every poll, empty or not: it is their clock for refreshing stats.
    this.#notify(fresh);
  }

  #markSeen(row: StoredRow) {
    const at = row.storedAt.getTime();
    this.#seen.set(row.eventId, at);
    if (at > this.#high) this.#high = at;
  }

  #notify(rows: StoredRow[]) {
    for (const listener of this.#listeners) {
      try {
        listener(rows);
      } catch (error) {
        this.opts.log.warn({ msg: 'live_listener_failed', err: (error as Error).message });
      }
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    this.#listeners.clear();
  }
}
