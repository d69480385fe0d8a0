import { Readable } from "node:stream";
import { largeObjectHeader, readLargeObjectRecords } from "../object/large-object-records.js";
import type { PgClient } from "./session.js";

/**
 * Large objects, read and written in chunks through the server's lo_* functions (inside the
 * caller's snapshot transaction when dumping), so memory stays bounded whatever their size. They
 * travel as one record stream (object/large-object-records.ts).
 */
const CHUNK = 1024 * 1024;
const INV_READ = 0x40000;

export async function listLargeObjects(client: PgClient): Promise<number[]> {
  const r = await client.query<{ oid: string }>("SELECT oid FROM pg_catalog.pg_largeobject_metadata ORDER BY oid");
  return r.rows.map((x) => Number(x.oid));
}

export function largeObjectStream(client: PgClient, oids: readonly number[]): Readable {
  return Readable.from(
    (async function* () {
      for (const oid of oids) {
        const { rows } = await client.query<{ fd: number }>("SELECT pg_catalog.lo_open($1, $2) AS fd", [oid, INV_READ]);
        const fd = rows[0]!.fd;
        const size = Number((await client.query<{ s: string }>("SELECT pg_catalog.lo_lseek64($1, 0, 2) AS s", [fd])).rows[0]!.s);
        await client.query("SELECT pg_catalog.lo_lseek64($1, 0, 0)", [fd]);
        yield largeObjectHeader(oid, size);
        let left = size;
        while (left > 0) {
          const r = await client.query<{ b: Buffer }>("SELECT pg_catalog.loread($1, $2) AS b", [fd, Math.min(CHUNK, left)]);
          const b = r.rows[0]!.b;
          if (b.length === 0) throw new Error(`large object ${oid} ended after ${size - left} of ${size} bytes`);
          left -= b.length;
          yield b;
        }
        await client.query("SELECT pg_catalog.lo_close($1)", [fd]);
      }
    })(),
    { objectMode: false },
  );
}

/** Reads the record stream back and recreates each large object with its original oid. */
export function restoreLargeObjects(client: PgClient, input: AsyncIterable<Buffer>): Promise<number> {
  return readLargeObjectRecords(input, {
    begin: async (oid) => void (await client.query("SELECT pg_catalog.lo_create($1)", [oid])),
    write: async (oid, offset, chunk) => void (await client.query("SELECT pg_catalog.lo_put($1, $2, $3)", [oid, offset, chunk])),
  }, CHUNK);
}
