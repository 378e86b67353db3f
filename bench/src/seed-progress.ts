import cliProgress from 'cli-progress';

export interface Progress {
  increment(n: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr when it is a terminal (cli-progress); elsewhere (CI logs, pipes) one
 * line per quarter done, so logs stay readable.
 */
export function createProgress(
  total: number,
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted}`,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    bar.start(total, 0, { rate: 0 });
    let done = 0;
    return {
      increment(n) {
        done += n;
        bar.increment(n, { rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)) });
      },
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let reported = 0;
  return {
    increment(n) {
      done += n;
      const quarter = Math.floor((done / total) * 4);
      if (quarter > reported) {
        reported = quarter;
        stream.write(`${label}: ${done}/${total} (${Math.round((done / total) * 100)}%)\n`);
      }
    },
    stop() {},
  };
}
