/**
 * The contract every BackupStore keeps, as one suite run against each implementation (restic's
 * way): streamed put/get, objects visible only when complete, prefix listing, delete.
 */
import { PassThrough, Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import type { BackupStore } from "@cobalt-backup/core";

export interface ConformanceOptions {
  /** Leaves an unfinished upload of `key` in `store`, as a writer killed with SIGKILL would. */
  strand(store: BackupStore, key: string): Promise<void>;
}

/** Polls (never a fixed sleep) until `check` holds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

export function storeConformance(name: string, make: () => Promise<BackupStore>, opts: ConformanceOptions): void {
  describe(`BackupStore conformance: ${name}`, () => {
    it("streams an object in and out unchanged, and lists it with its size", async () => {
      const store = await make();
      expect((await store.checkWritable()).isOk()).toBe(true);
      const body = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      const put = await store.put("a/b/one.bin", Readable.from([body.subarray(0, 1000), body.subarray(1000)]));
      expect(put._unsafeUnwrap().bytes).toBe(body.length);
      const got = await store.get("a/b/one.bin");
      expect(Buffer.from(await new Response(Readable.toWeb(got._unsafeUnwrap()) as ReadableStream).arrayBuffer()).equals(body)).toBe(true);
      const listed = (await store.list("a/"))._unsafeUnwrap();
      expect(listed.map((o) => [o.key, o.bytes])).toEqual([["a/b/one.bin", body.length]]);
    });

    it("writes a body already in memory whole; an aborted one leaves nothing", async () => {
      const store = await make();
      const body = Buffer.from("a small table's encoded rows\n".repeat(1000));
      const put = await store.put("m/one.zst", body);
      expect(put._unsafeUnwrap().bytes).toBe(body.length);
      expect(await text((await store.get("m/one.zst"))._unsafeUnwrap())).toBe(body.toString());
      const aborted = await store.put("m/two.zst", body, { signal: AbortSignal.abort() });
      expect(aborted.isErr()).toBe(true);
      expect((await store.list("m/"))._unsafeUnwrap().map((o) => [o.key, o.bytes])).toEqual([["m/one.zst", body.length]]);
      expect((await store.listUnfinished("m/"))._unsafeUnwrap()).toEqual([]);
    });

    it("never shows a half-written object when the body fails", async () => {
      const store = await make();
      const failing = new Readable({
        read() {
          this.push(Buffer.alloc(64 * 1024, 1));
          this.destroy(new Error("source died"));
        },
      });
      const put = await store.put("x/partial.bin", failing);
      expect(put.isErr()).toBe(true);
      expect((await store.list("x/"))._unsafeUnwrap()).toEqual([]);
      expect((await store.get("x/partial.bin"))._unsafeUnwrapErr()._tag).toBe("ObjectNotFound");
    });

    it("lists by prefix in key order and deletes", async () => {
      const store = await make();
      for (const k of ["p/2", "p/1", "q/1", "p/3/x"]) await store.put(k, Readable.from([Buffer.from(k)]));
      expect((await store.list("p/"))._unsafeUnwrap().map((o) => o.key)).toEqual(["p/1", "p/2", "p/3/x"]);
      await store.delete(["p/1", "p/3/x"]);
      expect((await store.list(""))._unsafeUnwrap().map((o) => o.key)).toEqual(["p/2", "q/1"]);
      expect(await text((await store.get("q/1"))._unsafeUnwrap())).toBe("q/1");
    });

    it("an aborted put settles only once nothing of it remains: no object, no unfinished upload", async () => {
      const store = await make();
      const body = new PassThrough();
      // More than one part, so an S3 store has a multipart upload under way when the abort comes.
      body.write(Buffer.alloc(9 * 1024 * 1024, 3));
      const abort = new AbortController();
      const put = store.put("s/aborted.bin", body, { signal: abort.signal });
      await until(async () => (await store.listUnfinished(""))._unsafeUnwrap().length > 0);
      abort.abort();
      expect((await put).isErr()).toBe(true);
      expect((await store.listUnfinished(""))._unsafeUnwrap()).toEqual([]);
      expect((await store.list(""))._unsafeUnwrap()).toEqual([]);
    });

    it("finds what a killed writer left, never lists it as an object, and removes it", async () => {
      const store = await make();
      await store.put("k/done.bin", Readable.from([Buffer.from("done")]));
      await opts.strand(store, "k/20260101T000000.000Z/data/0001.copy.zst");
      const unfinished = (await store.listUnfinished(""))._unsafeUnwrap();
      expect(unfinished.map((u) => u.key.split(".partial-")[0])).toEqual(["k/20260101T000000.000Z/data/0001.copy.zst"]);
      expect(unfinished[0]!.started.getTime()).toBeLessThanOrEqual(Date.now());
      expect((await store.list(""))._unsafeUnwrap().map((o) => o.key)).toEqual(["k/done.bin"]);
      expect((await store.abortUnfinished(unfinished)).isOk()).toBe(true);
      expect((await store.listUnfinished(""))._unsafeUnwrap()).toEqual([]);
      expect((await store.list(""))._unsafeUnwrap().map((o) => o.key)).toEqual(["k/done.bin"]);
    });

    it("reports a missing object as ObjectNotFound", async () => {
      const store = await make();
      const r = await store.get("nope/manifest.json");
      expect(r._unsafeUnwrapErr()._tag).toBe("ObjectNotFound");
    });
  });
}
