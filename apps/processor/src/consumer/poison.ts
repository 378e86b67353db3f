import type { KafkaMessage } from 'kafkajs';

/** Why a message cannot be stored (the `dlq-reason` header starts with it). */
export type PoisonCode =
  | 'not_avro'
  | 'unknown_schema'
  | 'avro_decode_failed'
  | 'invalid_record'
  | 'invalid_json'
  | 'db_rejected'
  /** Older than the raw rows kept (TRACKER_RETENTION_DAYS): its week's partition has been dropped. */
  | 'expired';

/** Where it failed (the `dlq-step` header). */
export type PoisonStep = 'decode' | 'validate' | 'store';

export interface Poison {
  kind: 'poison';
  code: PoisonCode;
  step: PoisonStep;
  detail: string;
  message: KafkaMessage;
}

export const poison = (
  message: KafkaMessage,
  code: PoisonCode,
  step: PoisonStep,
  detail: string,
): Poison => ({
  kind: 'poison',
  code,
  step,
  detail,
  message,
});
