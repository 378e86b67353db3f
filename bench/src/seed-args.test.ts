import { describe, expect, it } from 'vitest';
import { parseSeedArgs } from './seed-args.js';

const env = { INGEST_URL: 'http://127.0.0.1:3001', INGEST_WRITE_KEYS: [] as string[] };
const NOW = Date.parse('2026-11-25T12:00:00Z');

describe('parseSeedArgs', () => {
  it('has defaults for everything', () => {
    expect(parseSeedArgs([], env, NOW, () => 0.5)).toEqual({
      count: 10_000,
      users: 500,
      days: 28,
      ingestUrl: 'http://127.0.0.1:3001',
      writeKey: undefined,
      seed: 2 ** 30,
      seedGiven: false,
      end: NOW,
      batchSize: 500,
      concurrency: 4,
      identifyShare: 0.8,
      help: false,
    });
  });

  it('reads every flag, after a leading -- too', () => {
    const o = parseSeedArgs(
      [
        '--',
        '--count',
        '50',
        '--users',
        '5',
        '--days',
        '3',
        '--ingest',
        'http://localhost:4001/',
        '--write-key',
        'wk',
        '--seed=-9',
        '--end',
        '2026-01-01T00:00:00Z',
        '--batch-size',
        '100',
        '--concurrency',
        '2',
        '--identify-share',
        '0.5',
      ],
      env,
      NOW,
    );
    expect(o).toMatchObject({
      count: 50,
      users: 5,
      days: 3,
      ingestUrl: 'http://localhost:4001',
      writeKey: 'wk',
      seed: -9,
      seedGiven: true,
      end: Date.parse('2026-01-01T00:00:00Z'),
      batchSize: 100,
      concurrency: 2,
      identifyShare: 0.5,
    });
  });

  it('scales the default user count with --count, within bounds', () => {
    expect(parseSeedArgs(['--count', '100'], env).users).toBe(20);
    expect(parseSeedArgs(['--count', '1000000'], env).users).toBe(5000);
  });

  it('takes the first write key of INGEST_WRITE_KEYS', () => {
    expect(parseSeedArgs([], { ...env, INGEST_WRITE_KEYS: ['a', 'b'] }).writeKey).toBe('a');
  });

  it('lists every bad flag at once, with the usage', () => {
    const error = (() => {
      try {
        parseSeedArgs(
          ['--count', '0', '--days', 'x', '--ingest', 'ftp://x', '--batch-size', '5000', '--end', 'soon'],
          env,
        );
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.name).toBe('SeedError');
    expect(error?.message).toContain('--count must be an integer from 1');
    expect(error?.message).toContain('--days must be an integer from 1 to 3650, got "x"');
    expect(error?.message).toContain('--ingest must be an http(s) URL');
    expect(error?.message).toContain('--batch-size must be an integer from 1 to 1000');
    expect(error?.message).toContain('--end must be an ISO-8601 date-time');
    expect(error?.message).toContain('Usage: ./tracker seed');
  });

  it('refuses unknown flags', () => {
    expect(() => parseSeedArgs(['--cont', '5'], env)).toThrow(/Unknown option '--cont'/);
  });
});
