/**
 * copyOut (core/pg/copy-out.ts) replaces pg-copy-streams' per-chunk parser for speed; the protocol
 * around it stays the library's. Against a real server: the bytes are exactly the library's, in
 * socket-sized chunks (reading rests after a small read, so reads are not the server's 8 KiB); a
 * notice inside the copy does not end it; an error in the middle of the rows fails the stream with
 * the server's message and leaves the connection usable; statements before the COPY in the same
 * query are passed over (their error fails the stream).
 */
import pg from "pg";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { copyOut } from "../packages/core/src/pg/copy-out.ts";
import { cluster } from "./support/cluster.ts";

// pg-copy-streams is core's dependency, resolved from there.
const { to: copyTo } = createRequire(new URL("../packages/core/package.json", import.meta.url))("pg-copy-streams") as { to: typeof copyOut };

let client: pg.Client;

beforeAll(async () => {
  const c = cluster(15);
  const db = await c.newDatabase("copy_out");
  await c.query(db, `CREATE TABLE t AS SELECT g AS id, repeat(md5(g::text), 1 + g % 7) AS body, now() AS at FROM generate_series(1, 60000) g;
    CREATE FUNCTION noisy(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF i % 1000 = 0 THEN RAISE NOTICE 'row %', i; END IF; RETURN i; END $$;`);
  client = new pg.Client({ connectionString: c.url(db) });
  await client.connect();
});
afterAll(() => client?.end());

const collect = async (s: Readable): Promise<Buffer[]> => {
  const chunks: Buffer[] = [];
  for await (const ch of s) chunks.push(ch as Buffer);
  return chunks;
};

it("streams the same bytes as pg-copy-streams, read in chunks larger than the server's 8 KiB sends", async () => {
  const sql = "COPY t TO STDOUT";
  const ours = await collect(client.query(copyOut(sql)));
  const theirs = Buffer.concat(await collect(client.query(copyTo(sql))));
  expect(Buffer.concat(ours).equals(theirs)).toBe(true);
  expect(theirs.length).toBeGreaterThan(5 * 2 ** 20);
  expect(ours.length).toBeLessThan(theirs.length / 8192);
});

it("a reader that has caught up with a slow server rests, so it reads more than one 8 KiB send at a time", async () => {
  // Rows the server builds slowly (jsonb from twelve hashes each), like an application's table: a
  // reader that never rested read each 8 KiB send on its own (11 KB per chunk measured, 40 KB with rests).
  const sql = "COPY (SELECT g, to_jsonb(array_agg(md5((g * k)::text))) FROM generate_series(1, 20000) g, generate_series(1, 12) k GROUP BY g) TO STDOUT";
  const ours = await collect(client.query(copyOut(sql)));
  const bytes = ours.reduce((n, c) => n + c.length, 0);
  expect(bytes).toBeGreaterThan(8 * 2 ** 20);
  expect(bytes / ours.length).toBeGreaterThan(20 * 1024);
  expect((await client.query("SELECT count(*)::int AS n FROM t")).rows[0].n).toBe(60000);
});

it("a notice inside the copy does not end it", async () => {
  // The server sends five notices among the rows (client_min_messages is notice); like the
  // library, the stream passes over them.
  const rows = Buffer.concat(await collect(client.query(copyOut("COPY (SELECT noisy(g) FROM generate_series(1, 5000) g) TO STDOUT")))).toString().trim().split("\n");
  expect(rows.length).toBe(5000);
  expect(rows.at(-1)).toBe("5000");
});

it("an error in the middle of the rows fails the stream with the server's message, and the connection stays usable", async () => {
  const stream = client.query(copyOut("COPY (SELECT 1 / (g - 40000) FROM generate_series(1, 50000) g) TO STDOUT"));
  await expect(collect(stream)).rejects.toThrow(/division by zero/);
  expect((await client.query("SELECT 41 + 1 AS n")).rows[0].n).toBe(42);
});

it("an empty result ends at once", async () => {
  expect(await collect(client.query(copyOut("COPY (SELECT 1 WHERE false) TO STDOUT")))).toEqual([]);
});

it("statements before the COPY run in its round trip, and an error in one fails the stream before any row", async () => {
  // How a worker locks a table NOWAIT and reads it at once.
  await client.query("BEGIN");
  try {
    const sql = "SAVEPOINT s; LOCK TABLE t IN ACCESS SHARE MODE NOWAIT; RELEASE SAVEPOINT s; COPY t TO STDOUT";
    const ours = Buffer.concat(await collect(client.query(copyOut(sql))));
    const theirs = Buffer.concat(await collect(client.query(copyTo("COPY t TO STDOUT"))));
    expect(ours.equals(theirs)).toBe(true);
    const refused = client.query(copyOut("SAVEPOINT s; SELECT pg_catalog.pg_sleep(0) FROM missing_table; COPY t TO STDOUT"));
    const chunks: Buffer[] = [];
    await expect((async () => { for await (const ch of refused) chunks.push(ch as Buffer); })()).rejects.toMatchObject({ code: "42P01" });
    expect(chunks).toEqual([]);
    await client.query("ROLLBACK TO SAVEPOINT s");
    expect((await client.query("SELECT count(*)::int AS n FROM t")).rows[0].n).toBe(60000);
  } finally {
    await client.query("ROLLBACK");
  }
});
