import type pg from 'pg';

/** What a statement runner needs: pg.Pool, pg.PoolClient and inSnapshot's runner all have it. */
export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

type Pending = {
  text: string;
  values: unknown[] | undefined;
  resolve: (r: pg.QueryResult) => void;
  reject: (e: unknown) => void;
};

const BEGIN = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';

/**
 * Runs `work` with a Queryable whose statements all see one snapshot of the database, however many
 * of them run at once: the first connection exports its snapshot (pg_export_snapshot), the others
 * start their transactions with it (SET TRANSACTION SNAPSHOT), up to `width` connections, each
 * running one statement at a time. So the parts of a result computed by separate statements agree
 * with each other while data keeps arriving.
 *
 * Connections beyond the first are only taken when the pool can hand one over at once (an idle one,
 * or room for a new one, and nobody waiting): a caller holding a connection never waits for another,
 * so concurrent callers cannot deadlock on an exhausted pool; with fewer connections the statements
 * queue on those it has. Read-only: the transactions are committed when `work` settles.
 */
export async function inSnapshot<T>(
  pool: pg.Pool,
  width: number,
  work: (db: Queryable) => Promise<T>,
): Promise<T> {
  // NOTE: a checked-out client whose connection dies emits 'error'; without a listener that is an
  // uncaught exception (pool.query listens for its own clients, a checked-out one is ours to watch).
  // The statement in flight fails anyway; the client is given back broken.
  const broken = new Map<pg.PoolClient, Error>();
  const listeners = new Map<pg.PoolClient, (error: Error) => void>();
  const watch = (client: pg.PoolClient) => {
    const listener = (error: Error) => broken.set(client, error);
    listeners.set(client, listener);
    client.on('error', listener);
  };
  const giveBack = (client: pg.PoolClient, error?: Error) => {
    client.off('error', listeners.get(client)!);
    client.release(error ?? broken.get(client));
  };
  const first = await pool.connect();
  watch(first);
  let snapshot: string;
  try {
    // Two statements, one round trip: pg answers with a result per statement.
    const results = (await first.query(`${BEGIN}; SELECT pg_export_snapshot() AS id`)) as unknown;
    snapshot = (results as pg.QueryResult<{ id: string }>[])[1]!.rows[0]!.id;
  } catch (error) {
    giveBack(first, error as Error);
    throw error;
  }
  /** Each connection in the snapshot and its statement in flight (resolved when it has none). */
  const running = new Map<pg.PoolClient, Promise<void>>();
  const idle: pg.PoolClient[] = [];
  const queue: Pending[] = [];
  const opening = new Set<Promise<void>>();
  let finished = false;

  const run = (client: pg.PoolClient, job: Pending) => {
    const done = client.query(job.text, job.values).then(job.resolve, job.reject);
    running.set(
      client,
      done.then(() => {
        const more = queue.shift();
        if (more) run(client, more);
        else idle.push(client);
      }),
    );
  };
  const end = (client: pg.PoolClient) =>
    client.query('COMMIT').then(
      () => giveBack(client),
      (error: Error) => giveBack(client, error),
    );
  const grow = () => {
    const canGrow =
      !finished &&
      queue.length > opening.size &&
      running.size + opening.size < width &&
      // Every request waiting (ours included) can be served by an idle connection or a new one.
      pool.waitingCount < pool.idleCount + (pool.options.max ?? 10) - pool.totalCount;
    if (!canGrow) return;
    const open = pool.connect().then(
      async (client) => {
        watch(client);
        try {
          await client.query(`${BEGIN}; SET TRANSACTION SNAPSHOT '${snapshot}'`);
        } catch (error) {
          giveBack(client, error as Error);
          return;
        }
        if (finished) return end(client);
        running.set(client, Promise.resolve());
        const job = queue.shift();
        if (job) run(client, job);
        else idle.push(client);
      },
      () => undefined, // no connection to be had: the statements run on those there are
    );
    opening.add(open);
    void open.finally(() => opening.delete(open));
  };

  running.set(first, Promise.resolve());
  idle.push(first);
  const db: Queryable = {
    query: ((text: string, values?: unknown[]) =>
      new Promise<pg.QueryResult>((resolve, reject) => {
        if (finished) return reject(new Error('inSnapshot: the snapshot is closed'));
        const job: Pending = { text, values, resolve, reject };
        const client = idle.pop();
        if (client) return run(client, job);
        queue.push(job);
        grow();
      })) as Queryable['query'],
  };
  try {
    return await work(db);
  } finally {
    finished = true;
    for (const job of queue.splice(0)) job.reject(new Error('inSnapshot: the snapshot is closed'));
    // A connection still opening is given back as soon as it has opened; a statement `work` did not
    // wait for may still be running: it finishes before its connection goes back.
    await Promise.all([...opening]);
    await Promise.all(
      [...running].map(async ([client, busy]) => {
        await busy;
        await end(client);
      }),
    );
  }
}
