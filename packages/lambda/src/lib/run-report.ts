/**
 * The run report of a state machine execution, built from its final payload: what the CLI's
 * `run` reports, with the failing state named (a notification says which state failed and why).
 */
import type { RunReport, StageName, StageReport } from "@cobalt-backup/core";
import { z } from "zod";
import { instanceRef, runRef } from "./refs.js";

/** Which report stage each state belongs to. */
const STAGE_OF: Record<string, StageName> = {
  FindSnapshot: "snapshot",
  StartRestore: "snapshot",
  DescribeInstance: "snapshot",
  PrepareInstance: "snapshot",
  Plan: "dump",
  DumpUnits: "dump",
  Commit: "upload",
  PrepareVerify: "verify",
  VerifyParts: "verify",
  VerifyPostData: "verify",
  FinishVerify: "verify",
  DeleteInstance: "cleanup",
  Retention: "retention",
};

const errorInfo = z.object({ Error: z.string(), Cause: z.unknown().optional() });

/** The part of the execution's payload the report reads; everything is optional, as a run can fail anywhere. */
export const finalState = z.looseObject({
  run: runRef.optional(),
  instance: instanceRef.optional(),
  plan: z.looseObject({ units: z.number().optional(), tables: z.number().optional() }).optional(),
  commit: z.looseObject({ units: z.number().optional(), reusedUnits: z.number().optional() }).optional(),
  verification: z.looseObject({ tables: z.number().optional(), differences: z.number().optional() }).optional(),
  retention: z.object({ removed: z.array(z.string()), removedCount: z.number(), kept: z.number() }).optional(),
  deleted: z.looseObject({ instanceId: z.string() }).optional(),
  cleanup: z.looseObject({ instanceId: z.string() }).optional(),
  cleanupError: errorInfo.optional(),
  failure: errorInfo.extend({ state: z.string().optional() }).optional(),
});
export type FinalState = z.infer<typeof finalState>;

const MAX_CAUSE = 600;

/** A Step Functions error cause as text: a Lambda error's `errorMessage`, else the cause itself; cut short. */
export function causeText(cause: unknown): string {
  let text = typeof cause === "string" ? cause : JSON.stringify(cause ?? "");
  try {
    const parsed = JSON.parse(text) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === "string") text = parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return text.length > MAX_CAUSE ? `${text.slice(0, MAX_CAUSE)}…` : text;
}

export function runReport(input: { ok: boolean; state: FinalState; location: string; source: string; startedAt: string; now: Date }): RunReport {
  const { state: s, ok } = input;
  const stages: StageReport[] = [];
  const okStage = (stage: StageName, detail: string) => stages.push({ stage, status: "ok", durationMs: 0, detail });
  const report: RunReport = { ok, location: input.location, startedAt: input.startedAt, finishedAt: input.now.toISOString(), source: s.run?.snapshot.sourceInstance ?? input.source, stages };
  if (s.run) report.id = s.run.backupId;
  if (ok) {
    okStage("snapshot", `${s.run?.snapshot.snapshotId} restored to ${s.run?.instanceId}${s.instance?.resumed ? " (resumed)" : ""}`);
    if (s.plan || s.commit) okStage("dump", `${s.commit?.units ?? s.plan?.units} units${s.commit?.reusedUnits ? `, ${s.commit.reusedUnits} reused from an earlier attempt` : ""}`);
    if (s.verification) okStage("verify", `restored on the temporary instance and compared: ${s.verification.tables ?? "all"} tables identical`);
    if (s.deleted) okStage("cleanup", `temporary instance ${s.deleted.instanceId} deleted`);
    if (s.retention) {
      okStage("retention", `${s.retention.removedCount} removed, ${s.retention.kept} kept`);
      report.retention = { removed: s.retention.removed, kept: s.retention.kept };
    }
    return report;
  }
  const f = s.failure ?? { Error: "Unknown", Cause: "the execution failed without an error record" };
  const state = f.state ?? "unknown state";
  const stage = STAGE_OF[state] ?? "snapshot";
  const resume = s.run && state !== "FindSnapshot" ? `; to resume, start an execution with ${JSON.stringify({ backupId: s.run.backupId, snapshot: s.run.snapshot.snapshotId })}` : "";
  stages.push({ stage, status: "failed", durationMs: 0, detail: `state ${state} failed: ${f.Error}: ${causeText(f.Cause)}` });
  if (s.cleanup) okStage("cleanup", `temporary instance ${s.cleanup.instanceId} deleted after the failure`);
  else if (s.cleanupError) stages.push({ stage: "cleanup", status: "failed", durationMs: 0, detail: `temporary instance ${s.run?.instanceId} may remain: ${s.cleanupError.Error}: ${causeText(s.cleanupError.Cause)}; the janitor deletes it when it expires` });
  else if (!s.run) stages.push({ stage: "cleanup", status: "skipped", durationMs: 0, detail: "no temporary instance was created" });
  report.failedStage = stage;
  report.error = `state ${state} failed: ${f.Error}: ${causeText(f.Cause)}${resume}`;
  return report;
}
