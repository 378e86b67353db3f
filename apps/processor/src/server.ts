import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadProcessorConfig } from './config.js';

const config = loadProcessorConfig();
let exitCode = 0;
const app = await buildApp(config, {
  onFatal: (error) => {
    // An outage outlasted PROCESSOR_MAX_RETRY_MS (or the consumer died): stop without committing
    // anything more and exit non-zero so the supervisor restarts us.
    if (exitCode !== 0) return;
    exitCode = 1;
    app.log.fatal({ msg: 'processor_exiting', err: error.message });
    grace.uninstall();
    const force = setTimeout(() => process.exit(1), config.PROCESSOR_SHUTDOWN_TIMEOUT_MS);
    force.unref();
    void app.close().finally(() => process.exit(1));
  },
});

const grace = closeWithGrace(
  { delay: config.PROCESSOR_SHUTDOWN_TIMEOUT_MS, logger: { error: (m: unknown) => app.log.error(m) } },
  async ({ signal, err }) => {
    if (err) app.log.error({ msg: 'processor_crashed', err: err.message });
    else app.log.info({ msg: 'processor_stopping', signal });
    await app.close();
  },
);

try {
  await app.listen({ host: config.HOST, port: config.PORT });
} catch (error) {
  app.log.fatal({ msg: 'processor_start_failed', err: (error as Error).message });
  await app.close().catch(() => {});
  process.exit(1);
}
