/**
 * copyOut (core/pg/copy-out.ts) replaces pg-copy-streams' per-chunk parser for speed; the protocol
 * around it stays the library's. Against a real server: the bytes are exactly the library's, in
 * chunks of at most COPY_OUT_CHUNK; a notice inside the copy does not end it; an error in the
 * middle of the rows fails the stream with the server's message and leaves the connection usable.
 */
import pg from "pg";
import { createRequire } from "node:module";
import type { Readable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { COPY_OUT_CHUNK, copyOut } from "../packages/core/src/pg/copy-out.ts";
import { cluster } from "./support/cluster.ts";

// pg-copy-streams is core's dependency, resolved from there.
const { to: copyTo } = createRequire(new URL("../packages/core/package.json", import.meta.url))("pg-copy-streams") as typeof import("pg-copy-streams");

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

it("streams the same bytes as pg-copy-streams, in chunks no larger than the chunk size", async () => {
  const sql = "COPY t TO STDOUT";
  const ours = await collect(client.query(copyOut(sql)));
  const theirs = Buffer.concat(await collect(client.query(copyTo(sql))));
  expect(Buffer.concat(ours).equals(theirs)).toBe(true);
  expect(theirs.length).toBeGreaterThan(3 * COPY_OUT_CHUNK);
  expect(ours.every((c) => c.length <= COPY_OUT_CHUNK)).toBe(true);
  expect(ours.length).toBe(Math.ceil(theirs.length / COPY_OUT_CHUNK));
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
