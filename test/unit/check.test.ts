/**
 * `check` (issue 14, point 3) as logic: which objects a subset reads, which backups a run checks,
 * and the verdicts of `checkBackups` on an in-memory store. The real stores are in test/check.test.ts.
 */
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { CHECKED_KEY, VERIFIED_KEY, checkBackups, dueForCheck, okAsync, parseReadData, pickSubset, recordChecks, type StoreError, type StoredObject } from "@cobalt-backup/core";
import { memoryStore, type MemoryStore } from "../support/memory-store.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A format-2 manifest of one table in two parts, its objects stored beside it. */
function putBackup(store: MemoryStore, id: string): { parts: string[] } {
  const schema = randomBytes(100);
  const parts = [randomBytes(3000), randomBytes(2000)];
  const ref = (key: string, b: Buffer) => ({ key, bytes: b.length, sha256: sha(b) });
  store.objects.set(`${id}/schema.json.zst`, schema);
  parts.forEach((p, i) => store.objects.set(`${id}/data/0001.00${i + 1}.copy.zst`, p));
  const manifest = {
    format: "cobalt-backup/2",
    tool: { name: "cobalt-backup", version: "t" },
    id,
    startedAt: "2026-11-30T01:00:00.000Z",
    completedAt: "2026-11-30T01:01:00.000Z",
    source: { kind: "postgres-url", host: "h", port: 5432, database: "shop", user: "u", serverVersion: "15", serverVersionNum: 150000, encoding: "UTF8", snapshotTime: "2026-11-30T01:00:00.000Z" },
    settings: { jobs: 2, compression: "zstd", session: {} },
    compression: "zstd",
    encryption: null,
    schema: { kind: "schema", items: 1, ...ref("schema.json.zst", schema) },
    largeObjects: null,
    sequences: [],
    matviews: [],
    inventory: [],
    totals: { tables: 1, rows: 2, rawBytes: 10, storedBytes: 5100 },
    timings: { schemaMs: 1, dataMs: 1, totalMs: 2 },
    tables: [
      {
        kind: "table-data", schema: "public", table: "t", columns: ["id"], rows: 2, rawBytes: 10, bytes: 5000,
        parts: parts.map((p, i) => ({ ...ref(`data/0001.00${i + 1}.copy.zst`, p), rows: 1, rawBytes: 5, rawSha256: sha(Buffer.from(String(i))) })),
      },
    ],
    consistency: "live",
    units: { total: 2, reused: 0 },
  };
  store.objects.set(`${id}/manifest.json`, Buffer.from(JSON.stringify(manifest)));
  return { parts: parts.map((_, i) => `data/0001.00${i + 1}.copy.zst`) };
}

const ids = ["shop/20261101T010000.000Z", "shop/20261102T010000.000Z", "shop/20261103T010000.000Z", "shop/20261104T010000.000Z"];

describe("checkBackups", () => {
  it("names a deleted, a truncated and a flipped object and an unreadable manifest; a flip needs reading", async () => {
    const store = memoryStore();
    const [deleted, truncated, flipped] = ids.map((id) => putBackup(store, id));
    store.objects.delete(`${ids[0]}/${deleted!.parts[1]}`);
    store.objects.set(`${ids[1]}/${truncated!.parts[0]}`, store.objects.get(`${ids[1]}/${truncated!.parts[0]}`)!.subarray(1));
    store.objects.get(`${ids[2]}/${flipped!.parts[0]}`)![7]! ^= 1;
    store.objects.set("shop/20261105T010000.000Z/manifest.json", Buffer.from("{ not json"));

    const sizes = (await checkBackups({ store }, { backups: "all", readData: { mode: "sizes" } }))._unsafeUnwrap();
    expect(sizes.backups.map((b) => [b.id.slice(5, 13), b.ok, b.damage.map((d) => `${d.key} ${d.problem}`)])).toEqual([
      ["20261101", false, ["data/0001.002.copy.zst missing"]],
      ["20261102", false, ["data/0001.001.copy.zst size"]],
      ["20261103", true, []],
      ["20261104", true, []],
      ["20261105", false, ["manifest.json manifest"]],
    ]);
    expect(sizes.backups.every((b) => b.objectsRead === 0)).toBe(true);

    const read = (await checkBackups({ store }, { backups: "all", readData: { mode: "all" } }))._unsafeUnwrap();
    expect(read.ok).toBe(false);
    expect(read.backups[2]!.damage).toEqual([{ key: "data/0001.001.copy.zst", problem: "sha256", message: expect.stringMatching(/^backup shop\/20261103T010000.000Z: object data\/0001.001.copy.zst has sha256 [0-9a-f]{64}, the manifest recorded/) }]);
    expect(read.backups[3]).toMatchObject({ ok: true, objects: 3, objectsRead: 3, bytesRead: 5100 });
    // Objects already missing or of another size are not read again.
    expect(read.backups[0]).toMatchObject({ objects: 3, objectsRead: 2 });
  });

  it("checks only the backups named; a store that breaks off a read fails the check instead of calling the backup damaged", async () => {
    const store = memoryStore();
    ids.forEach((id) => putBackup(store, id));
    const one = (await checkBackups({ store }, { backups: [ids[3]!], readData: { mode: "all" } }))._unsafeUnwrap();
    expect(one.backups.map((b) => b.id)).toEqual([ids[3]]);
    const failing = { ...store, get: (key: string) => okAsync<Readable, StoreError>(Readable.from((async function* () { yield Buffer.from("x"); throw new Error(`connection reset reading ${key}`); })())) };
    const r = await checkBackups({ store: failing }, { backups: [ids[0]!], readData: { mode: "all" } });
    expect(r._unsafeUnwrapErr()).toMatchObject({ _tag: "StoreFailed", storeError: { _tag: "StoreIOFailed" }, message: expect.stringMatching(/connection reset/) });
  });

  it("records checked.json for each backup, and a failed verification for a damaged one", async () => {
    const store = memoryStore();
    const b = putBackup(store, ids[0]!);
    putBackup(store, ids[1]!);
    store.objects.delete(`${ids[0]}/${b.parts[0]}`);
    const report = (await checkBackups({ store }, { backups: "all", readData: { mode: "sizes" } }))._unsafeUnwrap();
    (await recordChecks(store, report, new Date("2026-11-30T02:00:00Z")))._unsafeUnwrap();
    const json = (key: string) => JSON.parse(store.objects.get(key)!.toString());
    expect(json(`${ids[0]}/${CHECKED_KEY}`)).toMatchObject({ checkedAt: "2026-11-30T02:00:00.000Z", ok: false, damage: [{ key: b.parts[0], problem: "missing" }] });
    expect(json(`${ids[0]}/${VERIFIED_KEY}`)).toMatchObject({ ok: false, problem: expect.stringContaining(`backup ${ids[0]}: object ${b.parts[0]} is missing`) });
    expect(json(`${ids[1]}/${CHECKED_KEY}`)).toMatchObject({ ok: true });
    expect(store.objects.has(`${ids[1]}/${VERIFIED_KEY}`)).toBe(false);
  });
});

describe("pickSubset", () => {
  const items = Array.from({ length: 10 }, (_, i) => ({ key: `o${i}`, bytes: 100 }));
  it("draws objects until their bytes reach the share, at least one", () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    expect(pickSubset(items, 30, random)).toHaveLength(3);
    expect(pickSubset(items, 1, random)).toHaveLength(1);
    expect(new Set(pickSubset(items, 100, random).map((i) => i.key)).size).toBe(10);
    expect(pickSubset([], 50, random)).toEqual([]);
  });
  it("draws another sample with other random numbers", () => {
    const first = pickSubset(items, 20, () => 0).map((i) => i.key);
    const second = pickSubset(items, 20, () => 0.99).map((i) => i.key);
    expect(first).not.toEqual(second);
  });
});

describe("parseReadData", () => {
  it("reads booleans and percentages, refuses the rest", () => {
    expect(parseReadData(true)).toEqual({ mode: "all" });
    expect(parseReadData(false)).toEqual({ mode: "sizes" });
    expect(parseReadData("10%")).toEqual({ mode: "subset", percent: 10 });
    expect(parseReadData("2.5 %")).toEqual({ mode: "subset", percent: 2.5 });
    for (const bad of ["0%", "101%", "10", "ten%", ""]) expect(parseReadData(bad)).toBeUndefined();
  });
});

describe("dueForCheck", () => {
  const now = new Date("2026-11-30T03:00:00Z");
  const days = (n: number) => new Date(now.getTime() - n * 86_400_000);
  const obj = (key: string, modified = days(0)): StoredObject => ({ key, bytes: 1, modified });
  const listing = [
    ...ids.map((id) => obj(`${id}/manifest.json`)),
    obj("shop/20261105T010000.000Z/plan.json"), // unfinished: not a backup
    obj(`${ids[0]}/${CHECKED_KEY}`, days(2)),
    obj(`${ids[1]}/${CHECKED_KEY}`, days(9)),
    obj(`${ids[2]}/${CHECKED_KEY}`, days(8)),
  ];
  it("never-checked first, then those checked longest ago; not the one just made, none checked recently", () => {
    expect(dueForCheck(listing, { count: 5, everyDays: 7, now })).toEqual([ids[3], ids[1], ids[2]]);
    expect(dueForCheck(listing, { count: 2, everyDays: 7, now, except: ids[3] })).toEqual([ids[1], ids[2]]);
    expect(dueForCheck(listing, { count: 5, everyDays: 1, now })).toEqual([ids[3], ids[1], ids[2], ids[0]]);
    expect(dueForCheck(listing, { count: 5, everyDays: 30, now, except: ids[3] })).toEqual([]);
  });
});
