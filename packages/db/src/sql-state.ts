/**
 * The SQLSTATE of a failed statement (e.g. '22P02'), from node-postgres' error or from the driver
 * error Prisma Client wraps it in (P2010 … meta.driverAdapterError.cause.originalCode); undefined
 * for anything else (a lost connection, a timeout).
 */
export function sqlStateOf(error: unknown): string | undefined {
  const e = error as {
    code?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } };
  } | null;
  const cause = e?.meta?.driverAdapterError?.cause;
  const code = cause?.originalCode ?? cause?.code ?? e?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
