import { CreateDBSnapshotCommand, DescribeDBSnapshotsCommand } from "@aws-sdk/client-rds";
import { ResultAsync } from "../result.js";
import { asSnapshotError, awsError, awsFailure, fail, type SnapshotError } from "./errors.js";
import { pollUntil, systemClock } from "./poll.js";
import type { SnapshotDeps } from "./instance-ref.js";

/** Takes a manual snapshot of an instance (before a major release, say) and waits until it is available. */
export function takeSnapshot(
  deps: SnapshotDeps,
  input: { instance: string; snapshotId?: string; waitMs?: number; pollIntervalMs?: number },
): ResultAsync<{ snapshotId: string; createdAt: Date }, SnapshotError> {
  const clock = deps.clock ?? systemClock;
  const snapshotId = input.snapshotId ?? `cobalt-${input.instance}-${clock.now().toISOString().replace(/[:.]/g, "-").toLowerCase()}`.slice(0, 255);
  return ResultAsync.fromPromise(
    (async () => {
      try {
        await deps.rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: input.instance, DBSnapshotIdentifier: snapshotId, Tags: [{ Key: "cobalt-backup:manual", Value: "true" }] }));
      } catch (e) {
        if (/DBInstanceNotFound/.test(awsError(e).code)) fail({ _tag: "SourceInstanceNotFound", instance: input.instance, message: `no RDS instance ${input.instance} in this account and region` });
        fail(awsFailure("CreateDBSnapshot", e));
      }
      const waitMs = input.waitMs ?? 2 * 3_600_000;
      let status = "creating";
      const done = await pollUntil(clock, { deadline: new Date(clock.now().getTime() + waitMs), initialIntervalMs: input.pollIntervalMs ?? 5_000 }, async () => {
        const r = await deps.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: snapshotId })).catch((e) => (awsError(e).retryable ? undefined : Promise.reject(e)));
        const s = r?.DBSnapshots?.[0];
        status = s?.Status ?? status;
        deps.onProgress?.({ step: "snapshot", detail: `${snapshotId} ${status} ${s?.PercentProgress ?? 0}%` });
        return s?.Status === "available" ? s : undefined;
      });
      if (!done) return fail({ _tag: "WaitTimedOut", instance: input.instance, status, message: `snapshot ${snapshotId} was still '${status}' after ${Math.round(waitMs / 1000)} s` });
      return { snapshotId, createdAt: done.SnapshotCreateTime ?? clock.now() };
    })(),
    asSnapshotError("CreateDBSnapshot"),
  );
}
