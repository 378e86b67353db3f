/**
 * Session settings computeStats is tuned for (on top of createPool's jit=off), for the query
 * service's pool and the measuring scripts. work_mem: the per-user counts of a time-filtered answer
 * hash one row per active user, which spilled to disk with the default. max_parallel_workers_per_gather
 * (QUERY_DB_PARALLEL_WORKERS, default 0): an answer already runs several statements at once, and
 * starting workers for a small raw edge took longer than the scan (bench/README.md, notes).
 */
export function statsSessionSettings(parallelWorkers = 0): Record<string, string> {
  return { work_mem: '32MB', max_parallel_workers_per_gather: String(parallelWorkers) };
}
