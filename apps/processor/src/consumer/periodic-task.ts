/**
 * `run` every `intervalMs` (the timer does not keep the process alive), never twice at once: a tick
 * while a run is under way joins it. `run` handles its own failures (a rejection would go unheard).
 */
export class PeriodicTask {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly run: () => Promise<void>,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.tick(), this.intervalMs);
    this.#timer.unref();
  }

  /** One run now, or the one under way. */
  tick(): Promise<void> {
    this.#running ??= this.run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** No more runs; resolves once the one under way has ended. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }
}
