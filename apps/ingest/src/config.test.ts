import { ConfigError } from '@tracker/config';
import { describe, expect, it } from 'vitest';
import { loadIngestConfig } from './config.js';

describe('loadIngestConfig', () => {
  it('bounds the producer queue at 32 MiB by default', () => {
    expect(loadIngestConfig({}).INGEST_PRODUCER_QUEUE_MAX_BYTES).toBe(32 * 1024 * 1024);
  });

  it('refuses a producer queue smaller than one batch body', () => {
    const load = () =>
      loadIngestConfig({ INGEST_PRODUCER_QUEUE_MAX_BYTES: '65536', INGEST_BATCH_MAX_BYTES: '1048576' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      /INGEST_PRODUCER_QUEUE_MAX_BYTES: must be at least INGEST_BATCH_MAX_BYTES \(1048576\)/,
    );
    expect(
      loadIngestConfig({ INGEST_PRODUCER_QUEUE_MAX_BYTES: '65536', INGEST_BATCH_MAX_BYTES: '65536' })
        .INGEST_PRODUCER_QUEUE_MAX_BYTES,
    ).toBe(65_536);
  });
});
