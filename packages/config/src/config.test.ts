import { describe, expect, it } from 'vitest';
import { CommonEnv, ConfigError, loadConfig, Type } from './index.js';

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
