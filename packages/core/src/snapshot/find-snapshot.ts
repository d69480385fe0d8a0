import { DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, type DBInstance, type DBSnapshot } from "@aws-sdk/client-rds";
import { ResultAsync } from "../result.js";
import { Failure } from "../result.js";
import { asSnapshotError, awsError, call, fail, type SnapshotError } from "./errors.js";
import type { SnapshotDeps, SnapshotRef } from "./instance-ref.js";

export interface FindSnapshotInput {
  /** The production instance whose snapshot is restored (only described, never touched). */
  sourceInstance: string;
  /** `latest` (newest available automated or manual snapshot), or a snapshot identifier. */
  snapshot: string;
}

const isInstanceNotFound = (e: unknown) => /^DBInstanceNotFound/.test(awsError(e).code);

/** One instance, or undefined when RDS does not know it. */
export async function describeDbInstance(deps: Pick<SnapshotDeps, "rds">, id: string): Promise<DBInstance | undefined> {
  try {
    const r = await deps.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return r.DBInstances?.[0];
  } catch (e) {
    if (isInstanceNotFound(e)) return undefined;
    throw e;
  }
}

/**
 * Step 1 of a run: the snapshot to restore (the newest available one of `sourceInstance`, or the
 * named one) and the source's network settings, as plain JSON. Creates nothing.
 */
export function findSnapshot(deps: Pick<SnapshotDeps, "rds" | "onProgress">, input: FindSnapshotInput): ResultAsync<SnapshotRef, SnapshotError> {
  return ResultAsync.fromPromise(find(deps, input), asSnapshotError("DescribeDBSnapshots"));
}

async function find(deps: Pick<SnapshotDeps, "rds" | "onProgress">, input: FindSnapshotInput): Promise<SnapshotRef> {
  deps.onProgress?.({ step: "describe source", instance: input.sourceInstance });
  const source = await call("DescribeDBInstances", () => describeDbInstance(deps, input.sourceInstance));
  if (!source) fail({ _tag: "SourceInstanceNotFound", instance: input.sourceInstance, message: `no RDS instance ${input.sourceInstance} in this account and region` });
  const s = input.snapshot === "latest" ? await newest(deps, input.sourceInstance) : await named(deps, input.sourceInstance, input.snapshot);
  deps.onProgress?.({ step: "snapshot", detail: `${s.DBSnapshotIdentifier} (${s.SnapshotType}, ${s.SnapshotCreateTime?.toISOString()})` });
  const securityGroupIds = source!.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId!).filter(Boolean);
  const database = source!.DBName;
  return {
    sourceInstance: input.sourceInstance,
    snapshotId: s.DBSnapshotIdentifier!,
    snapshotTime: (s.SnapshotCreateTime ?? new Date(0)).toISOString(),
    ...(s.EngineVersion ? { engineVersion: s.EngineVersion } : {}),
    ...(source!.DBSubnetGroup?.DBSubnetGroupName ? { subnetGroup: source!.DBSubnetGroup.DBSubnetGroupName } : {}),
    ...(securityGroupIds?.length ? { securityGroupIds } : {}),
    ...((s.MasterUsername ?? source!.MasterUsername) ? { masterUsername: s.MasterUsername ?? source!.MasterUsername } : {}),
    ...(database ? { database } : {}),
  };
}

async function named(deps: Pick<SnapshotDeps, "rds">, source: string, wanted: string): Promise<DBSnapshot> {
  try {
    const r = await deps.rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: wanted }));
    const s = r.DBSnapshots?.[0];
    if (s && s.Status === "available") return s;
    return fail({ _tag: "SnapshotNotFound", snapshot: wanted, message: `snapshot ${wanted} is ${s?.Status ?? "missing"}, not available` });
  } catch (e) {
    if (e instanceof Failure) throw e;
    if (/DBSnapshotNotFound/.test(awsError(e).code)) return fail({ _tag: "SnapshotNotFound", snapshot: wanted, message: `no snapshot ${wanted} of ${source}: check its name in the RDS console or with 'aws rds describe-db-snapshots'` });
    throw e;
  }
}

async function newest(deps: Pick<SnapshotDeps, "rds">, source: string): Promise<DBSnapshot> {
  const all: DBSnapshot[] = [];
  let marker: string | undefined;
  do {
    const page = await call("DescribeDBSnapshots", () => deps.rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: source, Marker: marker })));
    all.push(...(page.DBSnapshots ?? []));
    marker = page.Marker;
  } while (marker);
  const best = all
    .filter((s) => s.Status === "available" && s.SnapshotCreateTime)
    .sort((a, b) => b.SnapshotCreateTime!.getTime() - a.SnapshotCreateTime!.getTime())[0];
  return best ?? fail({ _tag: "NoSnapshot", instance: source, message: `instance ${source} has no available snapshot: check that automated backups are on, or take a manual snapshot` });
}
