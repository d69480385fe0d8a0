/**
 * Which stage a nightly run's failure is attributed to, and what the report keeps of the error,
 * with fake ports (no database: the failures happen before one would be needed).
 */
import { describe, expect, it } from "vitest";
import { errAsync, Failure, runNightly, type NightlyDeps, type NightlyInput } from "@cobalt-backup/core";
import { memoryStore } from "../support/memory-store.ts";

const input: NightlyInput = { jobs: 1, compression: "zstd", verify: true, retention: { keepLast: 1 } };
const describeSource = { kind: "postgres-url" as const, host: "db", port: 5432, database: "app", user: "u" };

function ports(over: Partial<NightlyDeps> = {}): NightlyDeps {
  return {
    store: memoryStore(),
    tool: { name: "cobalt-backup", version: "test" },
    sourceIsSnapshot: false,
    openSource: async () => ({ connect: () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:5432"), { code: "ECONNREFUSED" })), describe: describeSource, close: async () => {} }),
    openScratch: () => Promise.reject(new Error("not reached")),
    now: () => new Date("2026-03-10T02:00:00Z"),
    ...over,
  };
}

describe("runNightly attributes a failure to its stage and keeps its tag and retryability", () => {
  it("snapshot: a port's tagged rejection", async () => {
    const deps = ports({ sourceIsSnapshot: true, openSource: () => Promise.reject(new Failure({ _tag: "InsufficientCapacity", message: "no db.t4g.medium capacity", retryable: true })) });
    const { report, reportKey } = (await runNightly(deps, input))._unsafeUnwrap();
    expect(report).toMatchObject({ ok: false, failedStage: "snapshot", errorTag: "InsufficientCapacity", failure: { stage: "snapshot", _tag: "InsufficientCapacity", retryable: true } });
    expect(report.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(["snapshot:failed", "retention:skipped"]);
    expect(reportKey).toMatch(/^reports\//);
    expect((deps.store as ReturnType<typeof memoryStore>).objects.has(reportKey!)).toBe(true);
  });

  it("dump: the source refuses the connection", async () => {
    const { report } = (await runNightly(ports(), input))._unsafeUnwrap();
    expect(report).toMatchObject({ failedStage: "dump", errorTag: "SourceConnectFailed", failure: { stage: "dump", _tag: "SourceConnectFailed", retryable: true } });
    expect(report.error).toMatch(/^dump: .*ECONNREFUSED/);
  });

  it("upload: the store fails inside the dump; the report keeps the stage's tag, the exit code the store's", async () => {
    const store = { ...memoryStore(), checkWritable: () => errAsync({ _tag: "StoreUnavailable" as const, location: "memory://test/", reason: "denied" as const, message: "access denied" }) };
    const { report, reportError } = (await runNightly(ports({ store }), input))._unsafeUnwrap();
    expect(report).toMatchObject({ failedStage: "upload", errorTag: "StoreUnavailable", failure: { stage: "upload", _tag: "StoreFailed", retryable: false } });
    expect(reportError).toBeUndefined();
  });

  it("an exception that is not one of ours is Unexpected, named as such", async () => {
    const deps = ports({ openSource: async () => ({ connect: () => { throw new TypeError("connect is not a function"); }, describe: describeSource, close: async () => {} }) });
    const { report } = (await runNightly(deps, input))._unsafeUnwrap();
    expect(report.failedStage).toBe("dump");
    expect(report.failure).toMatchObject({ _tag: "SourceConnectFailed" });
    const thrown = ports({ openSource: () => Promise.reject(new RangeError("Invalid array length")) });
    const r2 = (await runNightly(thrown, input))._unsafeUnwrap().report;
    expect(r2).toMatchObject({ failedStage: "dump", errorTag: "Unexpected", failure: { _tag: "Unexpected", retryable: false } });
    expect(r2.error).toBe("dump: unexpected error: Invalid array length");
  });
});
