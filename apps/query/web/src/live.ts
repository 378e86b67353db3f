export type LiveMode = 'connecting' | 'live' | 'polling' | 'paused' | 'offline';

export interface LiveHandlers {
  /** Something changed (or may have): refresh what is on screen. */
  refresh(): void;
  /** A server-sent event with its parsed JSON payload. */
  event(type: 'interaction' | 'stats' | 'lag', data: unknown): void;
  mode(mode: LiveMode): void;
}

export const POLL_MS = 5000;
/** After the stream is refused outright (404, 401, proxy without streaming), retry it this often. */
const STREAM_RETRY_MS = 30_000;

/**
 * Live updates: an EventSource on /api/stream, and polling every 5 s whenever the stream is not
 * open (not supported, refused, or reconnecting). While the tab is hidden nothing is polled.
 */
export class Live {
  private source: EventSource | null = null;
  private pollTimer = 0;
  private retryTimer = 0;
  private url = '';
  private current: LiveMode = 'connecting';
  /** The current stream has been open before: a reopen must fetch what happened meanwhile. */
  private reopened = false;

  constructor(private readonly on: LiveHandlers) {
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && this.current !== 'live') this.on.refresh();
    });
  }

  get mode(): LiveMode {
    return this.current;
  }

  start(url: string): void {
    this.stop();
    this.url = url;
    this.reopened = false;
    this.connect();
  }

  /** Stops asking (the API refused the filters: asking again every 5 s would only repeat it). */
  pause(): void {
    this.stop();
    this.setMode('paused');
  }

  stop(): void {
    this.source?.close();
    this.source = null;
    window.clearInterval(this.pollTimer);
    window.clearTimeout(this.retryTimer);
    this.pollTimer = 0;
  }

  private connect(): void {
    if (typeof EventSource === 'undefined') {
      this.startPolling();
      return;
    }
    this.setMode('connecting');
    const source = new EventSource(this.url);
    this.source = source;
    source.addEventListener('open', () => {
      this.stopPolling();
      this.setMode('live');
      // Anything stored while the stream was down (the first open follows the page's own load).
      if (this.reopened) this.on.refresh();
      this.reopened = true;
    });
    for (const type of ['interaction', 'stats', 'lag'] as const) {
      source.addEventListener(type, (event) => {
        let data: unknown = null;
        try {
          data = JSON.parse((event as MessageEvent<string>).data);
        } catch {
          // A malformed payload still means "something changed".
        }
        this.on.event(type, data);
      });
    }
    source.addEventListener('error', () => {
      if (source !== this.source) return;
      this.startPolling();
      if (source.readyState === EventSource.CLOSED) {
        // Refused for good (not an event stream, or 401): poll, and try the stream again later.
        this.source = null;
        window.clearTimeout(this.retryTimer);
        this.retryTimer = window.setTimeout(() => this.connect(), STREAM_RETRY_MS);
      }
    });
  }

  private startPolling(): void {
    this.setMode('polling');
    if (this.pollTimer) return;
    this.pollTimer = window.setInterval(() => {
      if (!document.hidden) this.on.refresh();
    }, POLL_MS);
  }

  private stopPolling(): void {
    window.clearInterval(this.pollTimer);
    this.pollTimer = 0;
  }

  private setMode(mode: LiveMode): void {
    if (mode === this.current) return;
    this.current = mode;
    this.on.mode(mode);
  }
}
