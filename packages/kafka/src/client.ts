import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Logger } from '@tracker/logger';
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import { kafkajsLogCreator } from './kafkajs-log.js';

/** Connection settings, as the services' config modules produce them (see CommonEnv in @tracker/config). */
export interface KafkaConnectionConfig {
  KAFKA_BROKERS: string[];
  KAFKA_CLIENT_ID: string;
  KAFKA_SSL?: boolean;
  KAFKA_SASL_MECHANISM?: 'plain' | 'scram-sha-256' | 'scram-sha-512' | undefined;
  KAFKA_SASL_USERNAME?: string | undefined;
  KAFKA_SASL_PASSWORD?: string | undefined;
}

export interface RegistryConnectionConfig {
  SCHEMA_REGISTRY_URL: string;
  SCHEMA_REGISTRY_USERNAME?: string | undefined;
  SCHEMA_REGISTRY_PASSWORD?: string | undefined;
}

/** A kafkajs client from config: brokers, client id, TLS and SASL for managed clusters. */
export function createKafka(
  config: KafkaConnectionConfig,
  logger?: Logger,
  overrides: Partial<KafkaConfig> = {},
) {
  let sasl: SASLOptions | undefined;
  if (config.KAFKA_SASL_MECHANISM) {
    sasl = {
      mechanism: config.KAFKA_SASL_MECHANISM,
      username: config.KAFKA_SASL_USERNAME ?? '',
      password: config.KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return new Kafka({
    brokers: config.KAFKA_BROKERS,
    clientId: config.KAFKA_CLIENT_ID,
    ssl: config.KAFKA_SSL ?? false,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
    ...(logger
      ? { logCreator: kafkajsLogCreator(logger), logLevel: logLevel.INFO }
      : { logLevel: logLevel.NOTHING }),
    ...overrides,
  });
}

/** A Confluent-compatible schema registry client (Apicurio serves the API under /apis/ccompat/v7). */
export function createRegistry(config: RegistryConnectionConfig): SchemaRegistry {
  const auth =
    config.SCHEMA_REGISTRY_USERNAME !== undefined
      ? { username: config.SCHEMA_REGISTRY_USERNAME, password: config.SCHEMA_REGISTRY_PASSWORD ?? '' }
      : undefined;
  return new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL, ...(auth ? { auth } : {}) });
}
