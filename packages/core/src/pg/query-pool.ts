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
  private readonly waiting: ((client: PgClient) => void)[] = [];

  constructor(clients: readonly PgClient[] = []) {
    for (const c of clients) this.add(c);
  }

  /** A connection that joined the snapshot: it takes queries from now on. */
  add(client: PgClient): void {
    if (!this.rank.has(client)) this.rank.set(client, this.rank.size);
    this.release(client);
  }

  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    const client = this.idle.shift() ?? (await new Promise<PgClient>((resolve) => this.waiting.push(resolve)));
    try {
      return await client.query<R>(sql, params);
    } finally {
      this.release(client);
    }
  }

  private release(client: PgClient): void {
    const next = this.waiting.shift();
    if (next) return next(client);
    const r = this.rank.get(client)!;
    const at = this.idle.findIndex((c) => this.rank.get(c)! > r);
    this.idle.splice(at === -1 ? this.idle.length : at, 0, client);
  }
}
