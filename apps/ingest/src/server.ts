import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadIngestConfig } from './config.js';

/** Runs the ingest service: config from the environment, listen, stop cleanly on SIGTERM/SIGINT. */
const config = loadIngestConfig();
const app = await buildApp(config);

// NOTE: app.close() stops intake first (new requests get 503, in-flight ones finish), then the
// api-hits delta is flushed and the producers send what they hold and disconnect: nothing acknowledged
// with 202 is lost, nothing queued is dropped.
closeWithGrace({ delay: 15_000, logger: app.log }, async ({ signal, err }) => {
  if (err) app.log.error({ msg: 'ingest_stopping_on_error', err });
  else app.log.info({ msg: 'ingest_stopping', signal });
  await app.close();
  app.log.info({ msg: 'ingest_stopped' });
});

await app.listen({ host: config.HOST, port: config.PORT });
