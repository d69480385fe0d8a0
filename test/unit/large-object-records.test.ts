/** The large-object record format: the one parser restore and export-sql both use. */
import { describe, expect, it } from "vitest";
import { largeObjectHeader, readLargeObjectRecords } from "../../packages/core/src/object/large-object-records.ts";

const records = (objects: [number, Buffer][]) => Buffer.concat(objects.flatMap(([oid, b]) => [largeObjectHeader(oid, b.length), b]));

/** The stream cut into pieces of `size` bytes, as a decompressor hands them on. */
async function* pieces(b: Buffer, size: number) {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

async function parse(input: Buffer, pieceSize: number, chunkBytes: number) {
  const got = new Map<number, Buffer[]>();
  const writes: number[] = [];
  const count = await readLargeObjectRecords(pieces(input, pieceSize), {
    begin: async (oid) => void got.set(oid, []),
    write: async (oid, offset, chunk) => {
      expect(offset).toBe(got.get(oid)!.reduce((s, c) => s + c.length, 0));
      got.get(oid)!.push(Buffer.from(chunk));
      writes.push(chunk.length);
    },
  }, chunkBytes);
  return { count, objects: new Map([...got].map(([oid, c]) => [oid, Buffer.concat(c)])), writes };
}

describe("large-object records", () => {
  const objects: [number, Buffer][] = [[16384, Buffer.alloc(0)], [16385, Buffer.from("LO 1 2\nnot a header")], [4294967295, Buffer.alloc(10_000, 7)]];

  it.each([1, 7, 4096, 1 << 20])("reads every object back whatever the pieces' size (%i bytes)", async (pieceSize) => {
    const { count, objects: got, writes } = await parse(records(objects), pieceSize, 4096);
    expect(count).toBe(3);
    expect([...got.keys()]).toEqual(objects.map(([oid]) => oid));
    for (const [oid, b] of objects) expect(got.get(oid)!.equals(b)).toBe(true);
    // Whole chunks, the last of each object shorter.
    expect(writes).toEqual([19, 4096, 4096, 1808]);
  });

  it("refuses a malformed header, a stream cut inside an object, and trailing bytes", async () => {
    await expect(parse(Buffer.from("XX 1 2\nab"), 3, 10)).rejects.toThrow(/bad record header/);
    await expect(parse(Buffer.alloc(100, 65), 10, 10)).rejects.toThrow(/bad record header/);
    await expect(parse(records(objects).subarray(0, 30), 8, 10)).rejects.toThrow(/ended inside large object 16385/);
    await expect(parse(Buffer.concat([records(objects), Buffer.from("LO")]), 8, 10)).rejects.toThrow(/trailing bytes/);
  });
});
