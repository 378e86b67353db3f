import { ApiError } from './api.js';

export interface ReportSource {
  /** At most one refresh from live data this often. */
  gapMs: number;
  /** What the report is loaded for (view, options); null: nothing to load. */
  key(): string | null;
  /** Loads and shows the report; `signal` aborts when a newer key replaced this load (show nothing). */
  load(signal: AbortSignal): Promise<void>;
}

/**
 * A report computed from raw rows that follows live data (the sessions and retention pair, the
 * funnel): a new key loads at once; live data refreshes it at most once per `gapMs` (stats events
 * arrive every ~2 s on a busy stream), never two requests side by side, and not while the tab is
 * hidden (it catches up when shown).
 */
export class ThrottledReport {
  /** The key the report was (or is being) loaded for. */
  private loadedFor: string | null = null;
  private inFlight: AbortController | null = null;
  private startedAt = 0;
  private timer = 0;
  /** Live data arrived while loading (or hidden): refresh once more. */
  private stale = false;

  constructor(private readonly source: ReportSource) {
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.stale) this.refresh();
    });
  }

  /** After every stats update (load, stream event, polling tick). */
  refresh(): void {
    const key = this.source.key();
    if (key === null) {
      this.cancel();
      return;
    }
    if (key !== this.loadedFor) {
      void this.now();
      return;
    }
    if (this.inFlight || document.hidden) {
      this.stale = true;
      return;
    }
    if (this.timer) return;
    const wait = Math.max(0, this.startedAt + this.source.gapMs - Date.now());
    this.timer = window.setTimeout(() => void this.now(), wait);
  }

  /** Loads at once (a change of view or options), replacing a load under way. */
  async now(): Promise<void> {
    this.cancel();
    const key = this.source.key();
    if (key === null) return;
    const controller = new AbortController();
    this.inFlight = controller;
    this.loadedFor = key;
    this.startedAt = Date.now();
    try {
      await this.source.load(controller.signal);
    } finally {
      if (this.inFlight === controller) {
        this.inFlight = null;
        if (this.stale) this.refresh();
      }
    }
  }

  private cancel(): void {
    window.clearTimeout(this.timer);
    this.timer = 0;
    this.inFlight?.abort();
    this.inFlight = null;
    this.loadedFor = null;
    this.stale = false;
  }
}

/**
 * Under a report's title: why it was not updated (the last numbers stay), or nothing. 401 asks for a
 * key and a lost connection has its own notice, both through the main load.
 */
export function showReportFailure(note: HTMLElement, error: unknown): void {
  const show = error instanceof ApiError && error.status !== 401 && error.status !== 0;
  note.hidden = !show;
  if (show) note.textContent = `Not updated: the API answered ${error.status} (${error.message}).`;
}
