import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Readable } from "node:stream";
import { afterAll, expect, it } from "vitest";
import { fileStore } from "@cobalt-backup/core";
import { storeConformance } from "../support/store-conformance.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), "cobalt-filestore-"));
  dirs.push(d);
  return d;
};

storeConformance("file://", async () => fileStore(pathToFileURL(join(freshDir(), "store")).href), {
  async strand(store, key) {
    const file = join(fileURLToPath(store.location), ...key.split("/"));
    mkdirSync(join(file, ".."), { recursive: true });
    writeFileSync(`${file}.partial-0123456789ab`, Buffer.alloc(4096, 1));
  },
});

it("file:// leaves no empty directory behind when a backup's objects are deleted or removed as unfinished", async () => {
  const root = join(freshDir(), "store");
  const store = fileStore(pathToFileURL(root).href);
  await store.put("db/20260101T000000.000Z/data/0001.copy.zst", Readable.from([Buffer.from("x")]));
  await store.put("db/20260101T000000.000Z/manifest.json", Readable.from([Buffer.from("{}")]));
  await store.put("db/20260102T000000.000Z/manifest.json", Readable.from([Buffer.from("{}")]));
  await store.delete(["db/20260101T000000.000Z/manifest.json", "db/20260101T000000.000Z/data/0001.copy.zst"]);
  expect(readdirSync(join(root, "db"))).toEqual(["20260102T000000.000Z"]);
  // A directory a killed writer left empty is unfinished too.
  mkdirSync(join(root, "db", "20260103T000000.000Z", "data"), { recursive: true });
  const unfinished = (await store.listUnfinished(""))._unsafeUnwrap();
  expect(unfinished.map((u) => u.key)).toEqual(["db/20260103T000000.000Z/data/"]);
  await store.abortUnfinished(unfinished);
  expect(existsSync(join(root, "db", "20260103T000000.000Z"))).toBe(false);
  expect(readdirSync(join(root, "db"))).toEqual(["20260102T000000.000Z"]);
});

it("file:// writes into a directory removed since it last wrote there: by its own delete, or by another process", async () => {
  const root = join(freshDir(), "store");
  const store = fileStore(pathToFileURL(root).href);
  const put = async (key: string) => (await store.put(key, Readable.from([Buffer.from(key)])))._unsafeUnwrap();
  await put("db/a/data/0001.copy.zst");
  await store.delete(["db/a/data/0001.copy.zst"]);
  expect(existsSync(join(root, "db"))).toBe(false);
  expect(await put("db/a/data/0002.copy.zst")).toEqual({ bytes: "db/a/data/0002.copy.zst".length });
  rmSync(join(root, "db"), { recursive: true });
  expect(await put("db/a/data/0003.copy.zst")).toEqual({ bytes: "db/a/data/0003.copy.zst".length });
  expect(readdirSync(join(root, "db", "a", "data"))).toEqual(["0003.copy.zst"]);
});

it("file:// refuses a destination it cannot create, naming it", async () => {
  const d = freshDir();
  writeFileSync(join(d, "a-file"), "");
  const r = await fileStore(pathToFileURL(join(d, "a-file", "sub")).href).checkWritable();
  expect(r._unsafeUnwrapErr()).toMatchObject({ _tag: "StoreUnwritable", message: expect.stringContaining("a-file/sub") });
});
