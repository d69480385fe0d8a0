/** Unit tests of the pure pieces: scheduling, ids, inventories, integrity checks. */
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, expect, it } from "vitest";
import { backupTime, compareInventories, compressor, decompressor, newBackupId, redactSecrets } from "@cobalt-backup/core";

describe("backup ids", () => {
  it("are <source>/<UTC timestamp>, sortable by time, and parse back", () => {
    const at = new Date("2026-11-25T01:30:00.123Z");
    expect(newBackupId("pagila", at)).toBe("pagila/20261125T013000.123Z");
    expect(newBackupId("we ird/name", at)).toBe("we_ird_name/20261125T013000.123Z");
    expect(backupTime("pagila/20261125T013000.123Z")).toEqual(at);
    expect(newBackupId("a", new Date("2026-01-02T00:00:00Z")) < newBackupId("a", new Date("2026-01-10T00:00:00Z"))).toBe(true);
  });
});

describe("inventory comparison", () => {
  it("names missing, unexpected and different objects", () => {
    const e = (kind: string, name: string, sha256: string) => ({ kind, name, sha256 });
    const diffs = compareInventories(
      [e("table", "public.a", "1"), e("table", "public.b", "2"), e("index", "public.i", "3")],
      [e("table", "public.a", "1"), e("table", "public.b", "X"), e("view", "public.v", "4")],
    );
    expect(diffs).toEqual([
      { kind: "table", name: "public.b", problem: "different" },
      { kind: "index", name: "public.i", problem: "missing" },
      { kind: "view", name: "public.v", problem: "unexpected" },
    ]);
  });

  it("compares presence only for a backup another tool version rendered", () => {
    const diffs = compareInventories([{ kind: "table", name: "public.a", sha256: "1" }, { kind: "index", name: "public.i", sha256: "2" }], [{ kind: "table", name: "public.a", sha256: "X" }], { definitions: false });
    expect(diffs).toEqual([{ kind: "index", name: "public.i", problem: "missing" }]);
  });
});

describe("secrets", () => {
  it("masks passwords in URL-shaped text", () => {
    expect(redactSecrets("connect postgresql://app:s3cr%21t@db:5432/x failed")).toBe("connect postgresql://app:***@db:5432/x failed");
    expect(redactSecrets("no secret here")).toBe("no secret here");
  });
});

describe("compression", () => {
  it.each(["zstd", "gzip", "none"] as const)("%s round-trips bytes", async (c) => {
    const input = Buffer.from("1\tone\n2\t\\N\n".repeat(10_000));
    const chunks: Buffer[] = [];
    await pipeline(Readable.from([input]), compressor(c), decompressor(c), new Writable({ write: (b, _e, done) => (chunks.push(b), done()) }));
    expect(Buffer.concat(chunks).equals(input)).toBe(true);
  });
});
