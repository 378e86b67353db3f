import { describe, expect, it } from 'vitest';
import {
  CommonEnv,
  ConfigError,
  HttpServerEnv,
  KeyList,
  loadConfig,
  redactCredentials,
  TrustProxy,
  Type,
  trustProxyOption,
} from './index.js';

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3001 }),
  KAFKA_BROKERS: CommonEnv.KAFKA_BROKERS,
  LOG_LEVEL: CommonEnv.LOG_LEVEL,
  FLAG: Type.Boolean({ default: false }),
  KEYS: Type.Array(Type.String(), { default: [] }),
  REQUIRED_URL: Type.String({ minLength: 1 }),
});

describe('loadConfig', () => {
  it('fills defaults and converts strings to the declared types', () => {
    const c = loadConfig(Schema, { REQUIRED_URL: 'x', FLAG: 'true', KEYS: 'a, b,,c' });
    expect(c).toEqual({
      PORT: 3001,
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      LOG_LEVEL: 'info',
      FLAG: true,
      KEYS: ['a', 'b', 'c'],
      REQUIRED_URL: 'x',
    });
  });

  it('lists every bad key at once', () => {
    try {
      loadConfig(Schema, { PORT: 'abc', LOG_LEVEL: 'loud' });
      expect.unreachable('should have thrown');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const keys = new Set((error as ConfigError).problems.map((p) => p.key));
      expect([...keys].sort()).toEqual(['LOG_LEVEL', 'PORT', 'REQUIRED_URL']);
    }
  });

  it('ignores variables the schema does not declare', () => {
    const c = loadConfig(Schema, { REQUIRED_URL: 'x', UNRELATED: '1' });
    expect(c).not.toHaveProperty('UNRELATED');
  });
});

describe('security settings', () => {
  const Keys = Type.Object({ KEYS: KeyList(), PROXY: TrustProxy, METRICS_KEY: HttpServerEnv.METRICS_KEY });

  it('refuses a key shorter than 16 characters, without echoing it', () => {
    try {
      loadConfig(Keys, { KEYS: 'a-long-enough-key-123,short' });
      expect.unreachable('should have thrown');
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toEqual([{ key: 'KEYS', message: expect.stringContaining('at least 16 characters') }]);
      expect((error as Error).message).not.toContain('short');
    }
    expect(loadConfig(Keys, { KEYS: 'a-long-enough-key-123' }).KEYS).toEqual(['a-long-enough-key-123']);
    expect(() => loadConfig(Keys, { METRICS_KEY: 'tiny' })).toThrow(/METRICS_KEY: must be at least 16/);
  });

  it('takes a hop count or proxy addresses for TRUST_PROXY and refuses a bare true', () => {
    expect(trustProxyOption(loadConfig(Keys, {}).PROXY)).toBe(false);
    expect(trustProxyOption(loadConfig(Keys, { PROXY: '1' }).PROXY)).toBe(1);
    expect(trustProxyOption(loadConfig(Keys, { PROXY: '10.0.0.0/8, 127.0.0.1' }).PROXY)).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
    expect(trustProxyOption(loadConfig(Keys, { PROXY: 'loopback' }).PROXY)).toEqual(['loopback']);
    expect(() => loadConfig(Keys, { PROXY: 'true' })).toThrow(/PROXY: must be false, a hop count/);
    expect(() => loadConfig(Keys, { PROXY: '1; DROP' })).toThrow(/PROXY/);
  });
});

describe('redactCredentials', () => {
  it('hides the password of every URL in a text, also one holding @ or :', () => {
    expect(redactCredentials('postgresql://tracker:s3cret@db:5432/tracker')).toBe(
      'postgresql://tracker:***@db:5432/tracker',
    );
    expect(redactCredentials('failed for postgres://u:p@ss:w0rd@h/db and http://a:b@r:8081/x')).toBe(
      'failed for postgres://u:***@h/db and http://a:***@r:8081/x',
    );
    expect(redactCredentials('postgresql://postgres@127.0.0.1:5432/tracker')).toBe(
      'postgresql://postgres@127.0.0.1:5432/tracker',
    );
  });
});
