import type { ErrorDetail } from '@tracker/http';
import { PATTERN_MESSAGES } from '@tracker/schemas';
import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Format } from 'typebox/format';
import { Settings } from 'typebox/system';
import { fastInstant } from './instant.js';

/** One validation problem in ajv's shape, so packages/http's errorHandler turns it into a detail. */
export interface SchemaError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}

interface RawError {
  instancePath: string;
  schemaPath?: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

const PER_FIELD: Record<string, { list: string; param: string; message: string }> = {
  required: { list: 'requiredProperties', param: 'missingProperty', message: 'is required' },
  additionalProperties: {
    list: 'additionalProperties',
    param: 'additionalProperty',
    message: 'is not an allowed field',
  },
};

const TYPE_WORDS: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'a boolean' };

/**
 * Makes TypeBox's errors readable and one per field: drops the duplicate `schema is false` entries
 * of additionalProperties, splits "additional properties" into one error per unknown field, and folds
 * the per-branch errors of a union (string | number | boolean) into one message.
 */
export function tidyErrors(raw: readonly RawError[], schema?: TSchema): SchemaError[] {
  const out: SchemaError[] = [];
  const unionTypes = new Map<string, string[]>();
  // Values whose type matched a branch of their union, which then failed on something else (a string
  // over maxLength): that reason alone, not also "must be a string, a number or a boolean".
  const typeMatched = new Set(
    raw
      .filter((e) => e.keyword !== 'type' && /\/anyOf\/\d+$/.test(e.schemaPath ?? ''))
      .map((e) => e.instancePath),
  );
  for (const e of raw) {
    if (e.keyword === 'boolean') continue;
    // TypeBox reports all missing (or unknown) fields in one error: one per field reads better.
    const perField = PER_FIELD[e.keyword];
    if (perField) {
      const names = (e.params[perField.list] as string[] | undefined) ?? [e.params[perField.param]];
      for (const name of names) {
        out.push({
          instancePath: e.instancePath,
          keyword: e.keyword,
          params: { [perField.param]: name },
          message: perField.message,
        });
      }
      continue;
    }
    const branch = /^(.*)\/anyOf\/\d+$/.exec(e.schemaPath ?? '');
    if (e.keyword === 'type' && branch) {
      // NOTE: TypeBox may stop listing branches early; name every type the union allows instead.
      const union = schema
        ? (resolvePointer(schema, branch[1]!) as { anyOf?: { type?: string }[] } | undefined)
        : undefined;
      const all = union?.anyOf?.map((s) => s.type).filter((t): t is string => typeof t === 'string');
      const list = unionTypes.get(e.instancePath) ?? [];
      if (list.length === 0) unionTypes.set(e.instancePath, list);
      for (const t of all?.length ? all : [String(e.params.type)]) if (!list.includes(t)) list.push(t);
      continue;
    }
    if (e.keyword === 'anyOf' && unionTypes.has(e.instancePath)) continue;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'pattern') message = PATTERN_MESSAGES[String(e.params.pattern)] ?? message;
    if (e.keyword === 'format')
      message = `must be ${e.params.format === 'date-time' ? 'an ISO-8601 date-time' : `a ${e.params.format}`}`;
    out.push({ instancePath: e.instancePath, keyword: e.keyword, params: e.params, message });
  }
  for (const [instancePath, types] of unionTypes) {
    if (typeMatched.has(instancePath)) continue;
    const words = types.map((t) => TYPE_WORDS[t] ?? t);
    const message = `must be ${words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : words[0]}`;
    out.push({ instancePath, keyword: 'type', params: { type: types }, message });
  }
  return out;
}

/** The sub-schema a JSON pointer like `#/properties/a/patternProperties/^.*$` names. */
function resolvePointer(schema: unknown, pointer: string): unknown {
  let node = schema;
  for (const raw of pointer.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  return node;
}

export type Validator = (value: unknown) => SchemaError[];

// TypeBox stops collecting at 8 errors, and a union reports four per value: two of five bad
// properties were listed. 64 lists every field of an event while keeping a refused batch's answer small.
Settings.Set({ maxErrors: 64 });

// TypeBox's `date-time` check with the usual shape tried first (same verdicts, instant.test.ts). Set
// before any validator is compiled: compiled code holds the function it found.
const isDateTime = Format.Get('date-time')!;
Format.Set('date-time', (value: string) => fastInstant(value) !== undefined || isDateTime(value));

/** A compiled TypeBox validator that answers tidy, ajv-shaped errors (empty when valid). */
export function compileValidator(schema: TSchema): Validator {
  const compiled = Compile(schema);
  return (value) => (compiled.Check(value) ? [] : tidyErrors(compiled.Errors(value) as RawError[], schema));
}

/** Turns a schema error into `prefix.field.path` + reason, as the common error shape lists them. */
export function toDetail(prefix: string, e: SchemaError): ErrorDetail {
  const segments = e.instancePath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  if (e.keyword === 'required') segments.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') segments.push(String(e.params.additionalProperty));
  return { path: [prefix, ...segments].filter(Boolean).join('.'), message: e.message };
}

/**
 * Fastify validator compiler for ingest routes: the same TypeBox validator and messages for a single
 * event as for the items of a batch or an import, instead of ajv's wording for one and ours for the other.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validate = compileValidator(schema);
  const context = httpPart ?? 'body';
  return (data: unknown) => {
    const errors = validate(data);
    if (errors.length === 0) return { value: data };
    const error = Object.assign(new Error(`invalid ${context}`), {
      validation: errors,
      validationContext: context,
    });
    return { error };
  };
};
