import { ResultAsync } from "../result.js";
import { asSnapshotError, call, fail, type SnapshotError } from "./errors.js";
import { describeDbInstance } from "./find-snapshot.js";
import type { SnapshotDeps } from "./instance-ref.js";

/** Read-only: the production instance exists and this account may describe it (DescribeDBInstances). */
export function checkSourceInstance(deps: Pick<SnapshotDeps, "rds">, input: { instance: string }): ResultAsync<string, SnapshotError> {
  return ResultAsync.fromPromise(
    (async () => {
      const i = await call("DescribeDBInstances", () => describeDbInstance(deps, input.instance));
      if (!i) return fail({ _tag: "SourceInstanceNotFound", instance: input.instance, message: `no RDS instance ${input.instance} in this account and region` });
      return `RDS instance ${input.instance} exists (${i.Engine} ${i.EngineVersion}, ${i.DBInstanceStatus})`;
    })(),
    asSnapshotError("DescribeDBInstances"),
  );
}
