/** The object codec (object/): what every stage writes and reads back, in memory. */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { generateX25519Identity, identityToRecipient, objectSuffix, readObject, writeObject, type Compression } from "@cobalt-backup/core";
import { memoryStore } from "../support/memory-store.ts";

const text = Buffer.from("1\tone\n2\t\\N\n".repeat(5_000));
const read = async (r: Readable) => Buffer.concat(await r.toArray());
const store = (s: ReturnType<typeof memoryStore>) => s.objects.get("k")!;

describe("writeObject and readObject", () => {
  it.each(["zstd", "gzip", "none"] as const)("%s, encrypted or not, round-trips the bytes and records both digests", async (compression: Compression) => {
    const identity = await generateX25519Identity();
    for (const encryption of [undefined, { recipients: [await identityToRecipient(identity)] }]) {
      const store = memoryStore();
      const raw: number[] = [];
      const written = (await writeObject(store, "k", Readable.from([text]), { compression, encryption, onRaw: (b) => raw.push(b) }))._unsafeUnwrap();
      expect(written).toMatchObject({ key: "k", rawBytes: text.length, rawLines: 10_000, bytes: store.objects.get("k")!.length });
      expect(raw.reduce((a, b) => a + b, 0)).toBe(text.length);
      const opened = await readObject(store, "k", written, { compression, encrypted: Boolean(encryption), keys: { identities: [identity] } });
      expect((await read(opened._unsafeUnwrap())).equals(text)).toBe(true);
    }
  });

  it.each(["zstd", "gzip", "none"] as const)("%s: a streamed object many times the joining buffers' size reads back as written", async (compression: Compression) => {
    // Distinct rows in socket-sized chunks: a joining buffer filled again before the compressor
    // took its bytes would store other rows than those hashed.
    const rows = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `${i}\trow ${i * 7919}\n`).join(""));
    const chunks = Array.from({ length: Math.ceil(rows.length / 37_000) }, (_, i) => rows.subarray(i * 37_000, (i + 1) * 37_000));
    const store = memoryStore();
    const written = (await writeObject(store, "k", Readable.from(chunks), { compression }))._unsafeUnwrap();
    expect(written).toMatchObject({ rawBytes: rows.length, rawLines: 120_000, rawSha256: createHash("sha256").update(rows).digest("hex") });
    const opened = await readObject(store, "k", written, { compression, encrypted: false });
    expect((await read(opened._unsafeUnwrap())).equals(rows)).toBe(true);
  });

  it("names the object when its stored bytes are corrupt, at the end of the stream", async () => {
    const store = memoryStore();
    const written = (await writeObject(store, "k", Readable.from([text]), { compression: "none" }))._unsafeUnwrap();
    store.objects.get("k")![100]! ^= 1;
    const opened = (await readObject(store, "k", written, { compression: "none", encrypted: false }))._unsafeUnwrap();
    await expect(read(opened)).rejects.toThrow(/object k is corrupt: sha256/);
  });

  it("tells a wrong key from a corrupt encrypted object", async () => {
    const store = memoryStore();
    const identity = await generateX25519Identity();
    const written = (await writeObject(store, "k.age", Readable.from([text]), { compression: "zstd", encryption: { recipients: [await identityToRecipient(identity)] } }))._unsafeUnwrap();
    const wrong = await readObject(store, "k.age", written, { compression: "zstd", encrypted: true, keys: { identities: [await generateX25519Identity()] } });
    expect(wrong._unsafeUnwrapErr()._tag).toBe("DecryptionFailed");
    store.objects.get("k.age")![30]! ^= 1; // inside the age header
    const corrupt = await readObject(store, "k.age", written, { compression: "zstd", encrypted: true, keys: { identities: [identity] } });
    expect(corrupt._unsafeUnwrapErr()).toMatchObject({ _tag: "ObjectCorrupt", message: expect.stringMatching(/object k\.age is corrupt: sha256/) });
  });

  it("a source that fails is the error, and nothing of the object stays in the store", async () => {
    const store = memoryStore();
    const failing = Readable.from((async function* () {
      yield Buffer.from("partial\n");
      throw new Error("the COPY stream broke");
    })());
    const r = await writeObject(store, "k", failing, { compression: "zstd" });
    expect(r._unsafeUnwrapErr()).toMatchObject({ _tag: "SourceFailed", message: expect.stringMatching(/the COPY stream broke/) });
    expect([...store.objects.keys()]).toEqual([]);
  });

  it("a store port that throws fails the write as the store's", async () => {
    const store = { ...memoryStore(), put: () => { throw new TypeError("socket.write is not a function"); } };
    const r = await writeObject(store, "k", Readable.from([text]), { compression: "none" });
    expect(r._unsafeUnwrapErr()).toMatchObject({ _tag: "StoreFailed", storeError: { _tag: "StoreIOFailed" } });
  });

  it.each(["zstd", "gzip", "none"] as const)("%s: an object expected small is encoded in one piece, with the digests and rows a stream gives", async (compression: Compression) => {
    const chunks = [text.subarray(0, 1000), text.subarray(1000)];
    const whole = memoryStore();
    const pieces: number[] = [];
    const a = (await writeObject(whole, "k", Readable.from(chunks), { compression, expectedBytes: text.length, onRaw: (b) => pieces.push(b) }))._unsafeUnwrap();
    const b = (await writeObject(memoryStore(), "k", Readable.from(chunks), { compression }))._unsafeUnwrap();
    expect(pieces).toEqual([text.length]);
    // Encoded in one call, a zstd frame records its content size (frame header descriptor, byte 4).
    if (compression === "zstd") expect(store(whole)[4]! & 0xe0).not.toBe(0);
    expect({ rawBytes: a.rawBytes, rawSha256: a.rawSha256, rawLines: a.rawLines }).toEqual({ rawBytes: b.rawBytes, rawSha256: b.rawSha256, rawLines: b.rawLines });
    const opened = await readObject(whole, "k", a, { compression, encrypted: false });
    expect((await read(opened._unsafeUnwrap())).equals(text)).toBe(true);
  });

  it("an object larger than expected is streamed after all, from its first byte", async () => {
    // Past the 4 MiB an object may have to be encoded in one piece.
    const big = Buffer.concat(Array.from({ length: 100 }, () => text));
    const store = memoryStore();
    const pieces: number[] = [];
    const chunks = Array.from({ length: Math.ceil(big.length / 65536) }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536));
    const written = (await writeObject(store, "k", Readable.from(chunks), { compression: "zstd", expectedBytes: 1024, onRaw: (b) => pieces.push(b) }))._unsafeUnwrap();
    expect(pieces.length).toBeGreaterThan(1);
    expect(written).toMatchObject({ rawBytes: big.length, rawLines: 1_000_000 });
    const opened = await readObject(store, "k", written, { compression: "zstd", encrypted: false });
    expect((await read(opened._unsafeUnwrap())).equals(big)).toBe(true);
  });

  it("an object expected small whose source fails is the source's error, and nothing of it is stored", async () => {
    const store = memoryStore();
    const failing = Readable.from((async function* () {
      yield Buffer.from("partial\n");
      throw new Error("the COPY stream broke");
    })());
    const r = await writeObject(store, "k", failing, { compression: "zstd", expectedBytes: 100 });
    expect(r._unsafeUnwrapErr()).toMatchObject({ _tag: "SourceFailed", message: expect.stringMatching(/the COPY stream broke/) });
    expect([...store.objects.keys()]).toEqual([]);
  });

  it("object keys end in the compression's suffix, then .age when encrypted", () => {
    expect(objectSuffix({ compression: "zstd" })).toBe(".zst");
    expect(objectSuffix({ compression: "gzip", encryption: { recipients: ["age1x"] } })).toBe(".gz.age");
    expect(objectSuffix({ compression: "none", encryption: { recipients: [] } })).toBe("");
    expect(objectSuffix({ compression: "none", encryption: { recipients: [], passphrase: "p" } })).toBe(".age");
  });
});
