import type { QueryResult, QueryResultRow } from "pg";
import type { PgClient } from "./session.js";

/** What reading the catalogs needs of a connection: queries, nothing else. */
export interface Queryable {
  query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/**
 * Connections that read the same snapshot, used as one: each query runs on an idle one, so
 * independent catalog queries run side by side (a connection runs one query at a time). The
 * connection given first is preferred: the query that sizes every table (`pg_relation_size`
 * locks what it measures, until the transaction ends) runs where the tables are locked anyway.
 * Closing the connections stays their owner's.
 */
export class QueryPool implements Queryable {
  private readonly idle: PgClient[] = [];
  private readonly rank = new Map<PgClient, number>();
  private readonly members = new Set<PgClient>();
  private readonly waiting: ((client: PgClient) => void)[] = [];
  /** Queries asked for `first`: they run before any other that waits. */
  private readonly urgent: ((client: PgClient) => void)[] = [];
  /** Connections asked for by name (`take`), handed over as soon as their query is done. */
  private readonly wanted = new Map<PgClient, () => void>();

  constructor(clients: readonly PgClient[] = []) {
    for (const c of clients) this.add(c);
  }

  /** A connection that joined the snapshot: it takes queries from now on. */
  add(client: PgClient): void {
    if (!this.rank.has(client)) this.rank.set(client, this.rank.size);
    this.members.add(client);
    this.release(client);
  }

  /** Takes a connection out of the pool once its query, if any, is done (a worker leaving for the data). */
  take(client: PgClient): Promise<void> {
    if (!this.members.has(client)) return Promise.resolve();
    const at = this.idle.indexOf(client);
    if (at !== -1) {
      this.idle.splice(at, 1);
      this.members.delete(client);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.wanted.set(client, resolve));
  }

  /** Runs `work` on this connection alone (what must happen on that one, such as its locks), then pools it again. */
  async using<T>(client: PgClient, work: (client: PgClient) => Promise<T>): Promise<T> {
    await this.take(client);
    try {
      return await work(client);
    } finally {
      this.add(client);
    }
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    return this.run(this.waiting, sql, params);
  }

  /** The same pool, whose queries go ahead of every query waiting in `query` (what the rest waits for). */
  readonly first: Queryable = { query: <R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]) => this.run<R>(this.urgent, sql, params) };

  private async run<R extends QueryResultRow>(queue: ((client: PgClient) => void)[], sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const client = this.idle.shift() ?? (await new Promise<PgClient>((resolve) => queue.push(resolve)));
    try {
      return await client.query<R>(sql, params);
    } finally {
      this.release(client);
    }
  }

  private release(client: PgClient): void {
    const wanted = this.wanted.get(client);
    if (wanted) {
      this.wanted.delete(client);
      this.members.delete(client);
      return wanted();
    }
    const next = this.urgent.shift() ?? this.waiting.shift();
    if (next) return next(client);
    const r = this.rank.get(client)!;
    const at = this.idle.findIndex((c) => this.rank.get(c)! > r);
    this.idle.splice(at === -1 ? this.idle.length : at, 0, client);
  }
}
