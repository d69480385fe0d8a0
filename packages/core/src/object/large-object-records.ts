/**
 * Large objects travel as one stream of records, each a header line `LO <oid> <bytes>\n`
 * followed by exactly that many bytes. The dump writes it (pg/large-objects.ts); restore and
 * export-sql read it back with `readLargeObjectRecords`.
 */
export const largeObjectHeader = (oid: number, bytes: number): Buffer => Buffer.from(`LO ${oid} ${bytes}\n`);

/** What a reader does with the records: each object begins, then its bytes follow in order. */
export interface LargeObjectSink {
  begin(oid: number, bytes: number): Promise<void>;
  /** At most `chunkBytes` bytes of the current object, starting at `offset`. */
  write(oid: number, offset: number, chunk: Buffer): Promise<void>;
}

/** A header is `LO`, an oid and a size: far shorter than this. */
const MAX_HEADER = 64;

/** Bytes received and not yet handed on, kept as the pieces they came in until taken. */
class Pending {
  private parts: Buffer[] = [];
  length = 0;

  push(b: Buffer): void {
    if (b.length === 0) return;
    this.parts.push(b);
    this.length += b.length;
  }

  /** Index of the first newline, or -1. */
  newline(): number {
    let offset = 0;
    for (const p of this.parts) {
      const i = p.indexOf(10);
      if (i !== -1) return offset + i;
      offset += p.length;
    }
    return -1;
  }

  take(n: number): Buffer {
    const first = this.parts[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.parts.shift();
      else this.parts[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const p = this.parts[0]!;
        const k = Math.min(p.length, n - filled);
        p.copy(out, filled, 0, k);
        filled += k;
        if (k === p.length) this.parts.shift();
        else this.parts[0] = p.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }
}

/**
 * Reads a large-object record stream, handing each object to `sink`: `begin` with its oid and
 * size, then its bytes in chunks of `chunkBytes` (the last may be shorter), holding at most one
 * chunk and one piece of input. Returns how many objects there were; throws when the stream is
 * malformed, ends inside an object, or has bytes after the last one.
 */
export async function readLargeObjectRecords(input: AsyncIterable<Buffer>, sink: LargeObjectSink, chunkBytes: number): Promise<number> {
  const pending = new Pending();
  let current: { oid: number; left: number; offset: number } | undefined;
  let count = 0;
  for await (const piece of input) {
    pending.push(piece);
    for (;;) {
      if (!current) {
        const nl = pending.newline();
        if (nl === -1) {
          if (pending.length > MAX_HEADER) throw new Error("large-object stream is malformed (bad record header)");
          break;
        }
        const m = /^LO (\d+) (\d+)$/.exec(pending.take(nl + 1).subarray(0, nl).toString("latin1"));
        if (!m) throw new Error("large-object stream is malformed (bad record header)");
        current = { oid: Number(m[1]), left: Number(m[2]), offset: 0 };
        await sink.begin(current.oid, current.left);
        count++;
      }
      if (current.left === 0) {
        current = undefined;
        continue;
      }
      // A whole chunk unless the object ends sooner: fewer, fuller writes.
      const want = Math.min(current.left, chunkBytes);
      if (pending.length < want) break;
      await sink.write(current.oid, current.offset, pending.take(want));
      current.offset += want;
      current.left -= want;
    }
  }
  if (current && current.left > 0) throw new Error(`large-object stream ended inside large object ${current.oid}`);
  if (pending.length > 0) throw new Error("large-object stream has trailing bytes");
  return count;
}
