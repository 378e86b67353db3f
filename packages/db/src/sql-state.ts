/**
 * The SQLSTATE of a failed statement (e.g. '22P02'), from node-postgres' error or from the driver
 * error Prisma Client wraps it in (P2010 … meta.driverAdapterError.cause.originalCode); undefined
 * for anything else (a lost connection, a timeout).
 */
export function sqlStateOf(error: unknown): string | undefined {
  const e = error as {
    code?: unknown;
    clientVersion?: unknown;
    meta?: { driverAdapterError?: { cause?: { originalCode?: unknown; code?: unknown } } };
  } | null;
  const cause = e?.meta?.driverAdapterError?.cause;
  // A Prisma error's own `code` (P2010, P2028) is not a SQLSTATE; node-postgres' is.
  const own = e !== null && typeof e === 'object' && 'clientVersion' in e ? undefined : e?.code;
  const code = cause?.originalCode ?? cause?.code ?? own;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
