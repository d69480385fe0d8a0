import { PassThrough, Readable } from "node:stream";

/** A stream of one in-memory text or buffer (manifests, small JSON objects, a body in memory for a store that streams). */
export const readableOf = (content: string | Buffer): Readable => {
  const s = new PassThrough();
  s.end(typeof content === "string" ? Buffer.from(content) : content);
  return s;
};

/**
 * Reads `source` until it ends or has given more than `limit` bytes. `ended`: all of it is in
 * `chunks`. Otherwise `rest` is a stream of everything it gave, from the first byte (the chunks
 * read, then the source's remainder); destroying `rest` destroys the source.
 */
export async function readHead(source: Readable, limit: number): Promise<{ ended: true; chunks: Buffer[]; bytes: number } | { ended: false; rest: Readable }> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let bytes = 0;
  while (bytes <= limit) {
    const r = await it.next();
    if (r.done) return { ended: true, chunks, bytes };
    chunks.push(r.value);
    bytes += r.value.length;
  }
  const rest = async function* () {
    try {
      yield* chunks.splice(0);
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
  };
  return { ended: false, rest: Readable.from(rest(), { objectMode: false }) };
}
