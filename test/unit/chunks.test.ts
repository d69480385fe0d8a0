/** Unit tests of how big tables are cut into chunks (issue 12). */
import { describe, expect, it } from "vitest";
import { NEVER_SPLIT, chunkRanges, defaultSplitThreshold, parseSize } from "../../packages/core/src/dump/chunks.ts";

const MiB = 2 ** 20;

describe("chunk ranges", () => {
  it("keeps a table no larger than the threshold whole", () => {
    expect(chunkRanges({ sizeBytes: 10 * MiB, pages: 1280, serverVersionNum: 150000 }, 10 * MiB)).toEqual([{ by: "all" }]);
  });

  it("splits by an integer key before PostgreSQL 14, into contiguous ranges open at both ends, NULLs in the first", () => {
    const r = chunkRanges({ sizeBytes: 40 * MiB, pages: 5120, key: { column: "id", min: "1", max: "1000", nullable: true }, serverVersionNum: 130000 }, 10 * MiB);
    expect(r).toEqual([
      { by: "key", column: "id", to: "251", nulls: true },
      { by: "key", column: "id", from: "251", to: "501", nulls: false },
      { by: "key", column: "id", from: "501", to: "751", nulls: false },
      { by: "key", column: "id", from: "751", nulls: false },
    ]);
  });

  it("handles bigint bounds beyond 2^53 and never makes more chunks than keys", () => {
    const big = chunkRanges({ sizeBytes: 30 * MiB, pages: 1, key: { column: "id", min: "9007199254740993", max: "9007199254740995", nullable: false }, serverVersionNum: 130000 }, MiB);
    expect(big.map((c) => (c.by === "key" ? [c.from, c.to] : c.by))).toEqual([[undefined, "9007199254740994"], ["9007199254740994", "9007199254740995"], ["9007199254740995", undefined]]);
  });

  it("splits by ctid page ranges on PostgreSQL 14 and later, an integer key or not; never on 13 without a key", () => {
    const keyed = { sizeBytes: 30 * MiB, pages: 3840, key: { column: "id", min: "1", max: "1000", nullable: false } };
    expect(chunkRanges({ ...keyed, serverVersionNum: 140000 }, 10 * MiB).map((c) => c.by)).toEqual(["ctid", "ctid", "ctid"]);
    expect(chunkRanges({ ...keyed, serverVersionNum: 130014 }, 10 * MiB).map((c) => c.by)).toEqual(["key", "key", "key"]);
    expect(chunkRanges({ sizeBytes: 30 * MiB, pages: 3840, serverVersionNum: 140000 }, 10 * MiB)).toEqual([
      { by: "ctid", fromPage: 0, toPage: 1280 },
      { by: "ctid", fromPage: 1280, toPage: 2560 },
      { by: "ctid", fromPage: 2560 },
    ]);
    expect(chunkRanges({ sizeBytes: 30 * MiB, pages: 3840, serverVersionNum: 130014 }, 10 * MiB)).toEqual([{ by: "all" }]);
  });

  it("derives the default threshold from the data and the jobs", () => {
    expect(defaultSplitThreshold(1200 * MiB, 2)).toBe(150 * MiB);
    expect(defaultSplitThreshold(10 * MiB, 8)).toBe(64 * MiB);
  });

  it("splits nothing by default when the server runs on this machine", () => {
    expect(defaultSplitThreshold(1200 * MiB, 2, true)).toBe(NEVER_SPLIT);
    expect(chunkRanges({ sizeBytes: 1100 * MiB, pages: 140800, serverVersionNum: 150000 }, defaultSplitThreshold(1200 * MiB, 2, true))).toEqual([{ by: "all" }]);
    expect(defaultSplitThreshold(1200 * MiB, 2, false)).toBe(150 * MiB);
  });
});

describe("sizes", () => {
  it("reads byte counts and sizes with units", () => {
    expect(parseSize("65536")).toBe(65536);
    expect(parseSize("64MiB")).toBe(64 * MiB);
    expect(parseSize("1GiB")).toBe(2 ** 30);
    expect(parseSize("1.5 GB")).toBe(1.5e9);
    expect(parseSize("2g")).toBe(2 ** 31);
    for (const bad of ["", "-1", "12 parsecs", "0", "MiB"]) expect(parseSize(bad)).toBeUndefined();
  });
});
