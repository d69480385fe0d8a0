/** Unit tests of the Lambda deployment's pure parts (issue 13): instance names, error naming, the run report. */
import { describe, expect, it } from "vitest";
import { temporaryInstanceId } from "../../packages/core/src/snapshot/instance-ref.ts";
import { StepError } from "../../packages/lambda/src/lib/errors.ts";
import { causeText, runReport } from "../../packages/lambda/src/lib/run-report.ts";

const RDS_ID = /^[a-z](?!.*--)[a-z0-9-]{0,62}(?<!-)$/;

describe("temporaryInstanceId", () => {
  it("derives a valid RDS identifier from any backup id, the same every time", () => {
    for (const id of ["shop/20261125T013000.123Z", "My_Shop.db/20261125T013000.123Z", "_x/20261125T013000.123Z", `${"a".repeat(80)}/20261125T013000.123Z`, "--/20261125T013000.123Z"]) {
      const name = temporaryInstanceId(id);
      expect(name, id).toMatch(RDS_ID);
      expect(name.length, id).toBeLessThanOrEqual(63);
      expect(name.startsWith("cobalt-tmp-"), id).toBe(true);
      expect(temporaryInstanceId(id)).toBe(name);
    }
    expect(temporaryInstanceId("shop/20261125T013000.123Z")).toBe("cobalt-tmp-shop-20261125t013000123z");
    expect(temporaryInstanceId("shop/20261125T013000.123Z")).not.toBe(temporaryInstanceId("shop/20261125T013000.124Z"));
  });
});

describe("StepError", () => {
  it("is named after the core tag, with a short message and no stack frames", () => {
    const e = new StepError("CopyFailed", "x".repeat(5_000));
    expect(e.name).toBe("CopyFailed");
    expect(e.message.length).toBeLessThan(1_100);
    expect(e.stack).not.toMatch(/\n\s+at /);
  });
});

describe("runReport", () => {
  const run = { backupId: "shop/20261125T013000.123Z", instanceId: "cobalt-tmp-shop-20261125t013000123z", database: "shop", snapshot: { sourceInstance: "production-blue", snapshotId: "rds:production-blue-2026-11-25-01-00", snapshotTime: "2026-11-25T01:00:00.000Z" } };
  const base = { location: "s3://b/p/", source: "production-blue", startedAt: "2026-11-25T01:30:00.000Z", now: new Date("2026-11-25T02:00:00.000Z") };

  it("names the failed state, its error and cause, the stage, and how to resume", () => {
    const lambdaCause = JSON.stringify({ errorType: "CopyFailed", errorMessage: "COPY public.items failed: connection reset", trace: ["CopyFailed: ..."] });
    const r = runReport({ ...base, ok: false, state: { run, failure: { Error: "CopyFailed", Cause: lambdaCause, state: "DumpUnits" }, cleanup: { instanceId: run.instanceId } } });
    expect(r).toMatchObject({ ok: false, failedStage: "dump", id: run.backupId, source: "production-blue" });
    expect(r.error).toBe(`state DumpUnits failed: CopyFailed: COPY public.items failed: connection reset; to resume, start an execution with {"backupId":"${run.backupId}","snapshot":"${run.snapshot.snapshotId}"}`);
    expect(r.stages.map((s) => `${s.stage}:${s.status}`)).toEqual(["dump:failed", "cleanup:ok"]);
  });

  it("says when the instance may remain, and when none was created", () => {
    const remains = runReport({ ...base, ok: false, state: { run, failure: { Error: "X", Cause: "y", state: "Plan" }, cleanupError: { Error: "CleanupFailed", Cause: "boom" } } });
    expect(remains.stages.at(-1)).toMatchObject({ stage: "cleanup", status: "failed" });
    const none = runReport({ ...base, ok: false, state: { failure: { Error: "NoSnapshot", Cause: "none", state: "FindSnapshot" } } });
    expect(none).toMatchObject({ failedStage: "snapshot", error: "state FindSnapshot failed: NoSnapshot: none" });
    expect(none.id).toBeUndefined();
    expect(none.stages.at(-1)).toMatchObject({ stage: "cleanup", status: "skipped" });
  });

  it("cuts long causes", () => {
    expect(causeText("z".repeat(10_000)).length).toBeLessThan(700);
    expect(causeText({ errorMessage: "short" })).toBe("short");
  });
});
