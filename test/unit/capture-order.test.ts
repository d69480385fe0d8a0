/**
 * The order in which the schema capture reads the catalogs, on stand-in connections.
 *
 * The relations' query sizes every table with pg_relation_size, which takes an ACCESS SHARE lock
 * on each until the transaction ends. It must run on the connection that then locks the tables (a
 * live dump's coordinator, the pool's preferred one): on a worker, a DDL statement arriving then
 * queues behind the worker's locks, the coordinator's LOCK TABLE behind the DDL, and the worker
 * waits for the coordinator's plan, a wait no deadlock detector sees. So that query is sent first,
 * and the tables are handed on as soon as it ends, before the capture sends anything else, so that
 * the caller can take that connection for its locks before a catalog query does.
 */
import { describe, expect, it } from "vitest";
import { QueryPool } from "../../packages/core/src/pg/query-pool.ts";
import type { PgClient } from "../../packages/core/src/pg/session.ts";
import { captureSchema } from "../../packages/core/src/schema/capture.ts";

/** A connection that answers every query with no rows, a turn of the event loop later, and records them. */
function connection(name: string, log: string[]) {
  return {
    query: (sql: string) => {
      log.push(`${name}: ${sql}`);
      return new Promise((resolve) => setTimeout(() => resolve({ rows: [] }), 0));
    },
  } as unknown as PgClient;
}

describe("captureSchema", () => {
  it("sends the relations' query (table sizes, which lock) first, to the preferred connection, and hands the tables on in time for that connection's next use to be the caller's", async () => {
    const log: string[] = [];
    const coordinator = connection("coordinator", log);
    const pool = new QueryPool([coordinator, connection("worker", log)]);
    let supported: Promise<boolean> | undefined;
    let locked: Promise<void> | undefined;
    const captured = await captureSchema(pool, {
      serverVersionNum: 150000,
      onTables: (tables, ok) => {
        expect(tables).toEqual([]);
        supported = ok;
        // What a live dump does there: lock the tables on the coordinator.
        locked = pool.using(coordinator, async () => void log.push("coordinator: LOCK TABLE"));
      },
    });
    expect(captured.isOk(), JSON.stringify(captured)).toBe(true);
    await locked;
    expect(await supported).toBe(true);
    const onCoordinator = log.filter((q) => q.startsWith("coordinator: ")).map((q) => q.slice("coordinator: ".length, 60));
    expect(log[0]).toContain("pg_relation_size");
    expect(onCoordinator[0]).toMatch(/^SELECT c\.oid, n\.nspname, c\.relname, c\.relkind/);
    // Before the lock, at most a query of the check for unsupported objects (sent with the
    // relations, waiting for a connection): none of the reads that follow the relations.
    const lockAt = onCoordinator.indexOf("LOCK TABLE");
    expect(lockAt, JSON.stringify(onCoordinator)).toBeGreaterThan(0);
    expect(lockAt).toBeLessThanOrEqual(2);
    for (const q of onCoordinator.slice(1, lockAt)) expect(q).toMatch(/^SELECT x\.extname|^\(SELECT 0 AS i/);
    // The capture went on after the lock, on both connections.
    expect(onCoordinator.length).toBeGreaterThan(lockAt + 1);
  });
});
