import { ResultAsync } from "../result.js";
import { asSnapshotError, fail, type SnapshotError } from "./errors.js";
import { TAG, type SnapshotDeps } from "./instance-ref.js";
import { deleteTemporaryInstance, listTemporaryInstances } from "./instance-steps.js";
import { systemClock } from "./poll.js";

export interface CleanupDecision {
  instance: string;
  action: "delete" | "keep";
  reason: string;
}

/**
 * Deletes temporary instances whose expiry tag has passed (a runner that crashed cannot delete its
 * own), with their password secret when `deps.secrets` is given. Only instances this tool tagged
 * `cobalt-backup:temporary=true` are ever considered; one without a readable expiry is kept and
 * reported.
 */
export function cleanupExpired(deps: Pick<SnapshotDeps, "rds" | "secrets" | "clock">, input: { dryRun: boolean }): ResultAsync<CleanupDecision[], SnapshotError> {
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
          if (!input.dryRun) {
            const r = await deleteTemporaryInstance(deps, { instanceId: id });
            if (r.isErr()) fail(r.error);
          }
        }
      }
      return decisions;
    })(),
    asSnapshotError("cleanup"),
  );
}
