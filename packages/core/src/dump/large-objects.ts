import { Readable } from "node:stream";
import type { PgClient } from "../pg/session.js";

/**
 * Large objects travel as one stream of records, each a header line `LO <oid> <bytes>\n`
 * followed by exactly that many bytes. Read in chunks through the server's lo_* functions inside
 * the caller's snapshot transaction, so memory stays bounded whatever their size.
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
        yield Buffer.from(`LO ${oid} ${size}\n`);
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
export async function restoreLargeObjects(client: PgClient, input: AsyncIterable<Buffer>): Promise<number> {
  let buffer: Buffer = Buffer.alloc(0);
  let current: { oid: number; left: number; offset: number } | undefined;
  let count = 0;
  const flushChunk = async (chunk: Buffer) => {
    await client.query("SELECT pg_catalog.lo_put($1, $2, $3)", [current!.oid, current!.offset, chunk]);
    current!.offset += chunk.length;
    current!.left -= chunk.length;
  };
  for await (const piece of input) {
    buffer = buffer.length ? Buffer.concat([buffer, piece]) : piece;
    for (;;) {
      if (!current) {
        const nl = buffer.indexOf(10);
        if (nl === -1) break;
        const m = /^LO (\d+) (\d+)$/.exec(buffer.subarray(0, nl).toString("latin1"));
        if (!m) throw new Error("large-object stream is malformed (bad record header)");
        buffer = buffer.subarray(nl + 1);
        current = { oid: Number(m[1]), left: Number(m[2]), offset: 0 };
        await client.query("SELECT pg_catalog.lo_create($1)", [current.oid]);
        count++;
      }
      if (current.left === 0) {
        current = undefined;
        continue;
      }
      if (buffer.length === 0) break;
      const take = Math.min(current.left, buffer.length, CHUNK);
      await flushChunk(buffer.subarray(0, take));
      buffer = buffer.subarray(take);
    }
  }
  if (current && current.left > 0) throw new Error(`large-object stream ended inside large object ${current.oid}`);
  if (buffer.length > 0) throw new Error("large-object stream has trailing bytes");
  return count;
}
