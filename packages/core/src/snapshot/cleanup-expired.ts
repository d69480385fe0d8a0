import { DeleteDBInstanceCommand } from "@aws-sdk/client-rds";
import { ResultAsync } from "../result.js";
import { awsError, type SnapshotError } from "./errors.js";
import { systemClock } from "./poll.js";
import { listTemporaryInstances, TAG, type SnapshotDeps } from "./temporary-instance.js";

export interface CleanupDecision {
  instance: string;
  action: "delete" | "keep";
  reason: string;
}

/**
 * Deletes temporary instances whose expiry tag has passed (a runner that crashed cannot delete its
 * own). Only instances this tool tagged `cobalt-backup:temporary=true` are ever considered; one
 * without a readable expiry is kept and reported.
 */
export function cleanupExpired(deps: SnapshotDeps, input: { dryRun: boolean }): ResultAsync<CleanupDecision[], SnapshotError> {
  const clock = deps.clock ?? systemClock;
  return ResultAsync.fromPromise(
    (async () => {
      const decisions: CleanupDecision[] = [];
      for (const i of await listTemporaryInstances(deps)) {
        const id = i.DBInstanceIdentifier!;
        const expires = new Date(i.TagList?.find((t) => t.Key === TAG.expires)?.Value ?? "invalid");
        if (Number.isNaN(expires.getTime())) {
          decisions.push({ instance: id, action: "keep", reason: `tagged temporary but its ${TAG.expires} tag is missing or unreadable` });
        } else if (expires > clock.now()) {
          decisions.push({ instance: id, action: "keep", reason: `expires ${expires.toISOString()}` });
        } else if (i.DBInstanceStatus === "deleting") {
          decisions.push({ instance: id, action: "keep", reason: "already being deleted" });
        } else {
          decisions.push({ instance: id, action: "delete", reason: `expired ${expires.toISOString()}` });
          if (!input.dryRun) await deps.rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
        }
      }
      return decisions;
    })(),
    (e): SnapshotError => (e && typeof e === "object" && "error" in e ? (e as { error: SnapshotError }).error : { _tag: "AwsCallFailed", action: "cleanup", ...awsError(e) }),
  );
}
