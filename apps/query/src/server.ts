import { ConfigError } from '@tracker/config';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadQueryConfig, type QueryConfig } from './config.js';

let config: QueryConfig;
try {
  config = loadQueryConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}

const app = await buildApp(config);

let stopping: Promise<void> | undefined;
/** Idempotent: stop accepting, end event streams, flush API hits, close Kafka and the database. */
const stop = () => {
  stopping ??= app.close();
  return stopping;
};

closeWithGrace(
  { delay: 10_000, logger: { error: (m: unknown) => app.log.error(m) } },
  async ({ err, signal }) => {
    if (err) app.log.error({ msg: 'shutting_down_after_error', err });
    else app.log.info({ msg: 'shutting_down', signal });
    await stop();
  },
);

try {
  await app.listen({ host: config.HOST, port: config.PORT });
  app.log.info({ msg: 'query_listening', host: config.HOST, port: config.PORT });
} catch (error) {
  app.log.error({ msg: 'listen_failed', err: error });
  await stop();
  process.exit(1);
}
