/**
 * The RDS emulator (test/support/rds-emulator) through the real @aws-sdk/client-rds and
 * @aws-sdk/client-ec2: snapshots are consistent copies of real PostgreSQL data, restores are
 * real servers with the source's password until ModifyDBInstance changes it, deletes stop them,
 * and injected faults surface as the SDK's errors.
 */
import { connect } from "node:net";
import {
  AddTagsToResourceCommand,
  CreateDBSnapshotCommand,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RDSClient,
  RemoveTagsFromResourceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  paginateDescribeDBSnapshots,
  type DBInstance,
  type DBSnapshot,
} from "@aws-sdk/client-rds";
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand, EC2Client, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryOnce } from "./support/pg-query.ts";
import { startRdsEmulator, type InstanceInfo, type RdsEmulator } from "./support/rds-emulator/index.ts";

const SOURCE_PASSWORD = "source-password-1";
let emu: RdsEmulator;
let rds: RDSClient;
let ec2: EC2Client;
let source: InstanceInfo;

beforeAll(async () => {
  // pageSize 2: Describe* answers come in pages, so Marker handling is exercised too. Deleting
  // lasts a second: under a loaded test run, a shorter state was over before the test looked.
  emu = await startRdsEmulator({ pageSize: 2, delays: { createDelayMs: 300, modifyDelayMs: 300, deleteDelayMs: 1000, snapshotDelayMs: 300 } });
  rds = new RDSClient(emu.clientConfig);
  ec2 = new EC2Client(emu.clientConfig);
  source = await emu.createSourceInstance({ id: "production-blue", masterPassword: SOURCE_PASSWORD, tags: { env: "production" }, vpcSecurityGroupIds: ["sg-0prod"], subnetGroupName: "prod-subnets" });
  await queryOnce(source.url(), "CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items VALUES (1, 'before the snapshot')");
});

afterAll(async () => {
  rds?.destroy();
  ec2?.destroy();
  await emu?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function describeInstance(id: string): Promise<DBInstance | undefined> {
  try {
    return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  } catch (e) {
    if ((e as Error).name === "DBInstanceNotFoundFault") return undefined;
    throw e;
  }
}

/** Polls DescribeDBInstances until `done`, returning every status seen (and the last instance). */
async function pollInstance(id: string, done: (i: DBInstance | undefined) => boolean, timeoutMs = 20_000) {
  const seen: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const i = await describeInstance(id);
    seen.push(i ? `${i.DBInstanceStatus}${i.PendingModifiedValues?.MasterUserPassword ? "+pending" : ""}` : "gone");
    if (done(i)) return { instance: i, seen };
    if (Date.now() > deadline) throw new Error(`${id} never got there; seen ${seen.join(",")}`);
    await sleep(40);
  }
}

async function pollSnapshot(id: string): Promise<DBSnapshot> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const s = (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))).DBSnapshots?.[0];
    if (s?.Status === "available") return s;
    if (Date.now() > deadline) throw new Error(`snapshot ${id} is still ${s?.Status}`);
    await sleep(50);
  }
}

const pgUrl = (i: DBInstance, password: string, user = "postgres") => `postgresql://${user}:${encodeURIComponent(password)}@${i.Endpoint!.Address}:${i.Endpoint!.Port}/postgres`;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

async function sdkError(p: Promise<unknown>): Promise<{ name: string; code?: string; status?: number; message: string; attempts?: number }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { Code?: string; $metadata?: { httpStatusCode?: number; attempts?: number } };
    return { name: err.name, code: err.Code, status: err.$metadata?.httpStatusCode, message: err.message, attempts: err.$metadata?.attempts };
  }
  throw new Error("expected the call to fail");
}

describe("RDS emulator through the real SDK", () => {
  it("describes the source instance in RDS's shape", async () => {
    const i = (await describeInstance("production-blue"))!;
    expect(i).toMatchObject({
      DBInstanceIdentifier: "production-blue",
      DBInstanceStatus: "available",
      Engine: "postgres",
      MasterUsername: "postgres",
      Endpoint: { Address: "127.0.0.1", Port: source.port },
      DBInstanceArn: "arn:aws:rds:us-east-1:123456789012:db:production-blue",
      TagList: [{ Key: "env", Value: "production" }],
      VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-0prod", Status: "active" }],
      DBSubnetGroup: { DBSubnetGroupName: "prod-subnets" },
      PubliclyAccessible: false,
      MultiAZ: false,
      DeletionProtection: false,
      PendingModifiedValues: {},
      StorageType: "gp3",
    });
    expect(i.EngineVersion).toMatch(/^15\.\d+$/);
    expect(i.InstanceCreateTime).toBeInstanceOf(Date);
    const all = await rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: "engine", Values: ["postgres"] }] }));
    expect(all.DBInstances?.map((x) => x.DBInstanceIdentifier)).toEqual(["production-blue"]);
    const byArn = await rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: "db-instance-id", Values: [source.arn, "other"] }] }));
    expect(byArn.DBInstances?.map((x) => x.DBInstanceIdentifier)).toEqual(["production-blue"]);
    expect(await sdkError(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "production-green" })))).toMatchObject({ name: "DBInstanceNotFoundFault", code: "DBInstanceNotFound", status: 404, message: "DBInstance production-green not found." });
  });

  it("snapshots, restores with the source's password, changes the password, tags, and deletes", async () => {
    // A manual snapshot: creating, then available; the row inserted afterwards is not in it.
    const created = await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: "production-blue", DBSnapshotIdentifier: "before-release", Tags: [{ Key: "why", Value: "release" }] }));
    expect(created.DBSnapshot).toMatchObject({ DBSnapshotIdentifier: "before-release", Status: "creating", SnapshotType: "manual", PercentProgress: 0 });
    const snap = await pollSnapshot("before-release");
    expect(snap).toMatchObject({ DBInstanceIdentifier: "production-blue", Engine: "postgres", SnapshotType: "manual", PercentProgress: 100, DBSnapshotArn: "arn:aws:rds:us-east-1:123456789012:snapshot:before-release", TagList: [{ Key: "why", Value: "release" }] });
    expect(snap.SnapshotCreateTime).toBeInstanceOf(Date);
    expect(snap.EngineVersion).toMatch(/^15\./);
    await queryOnce(source.url(), "INSERT INTO items VALUES (2, 'after the snapshot')");

    // Restore: creating (no endpoint yet), then available on its own port.
    const tags = [
      { Key: "cobalt-backup:temporary", Value: "true" },
      { Key: "cobalt-backup:source", Value: "production-blue" },
    ];
    const restored = await rds.send(
      new RestoreDBInstanceFromDBSnapshotCommand({
        DBInstanceIdentifier: "cobalt-tmp-production-blue",
        DBSnapshotIdentifier: "before-release",
        DBInstanceClass: "db.t4g.medium",
        DBSubnetGroupName: "prod-subnets",
        VpcSecurityGroupIds: ["sg-0prod", "sg-0backup"],
        PubliclyAccessible: false,
        MultiAZ: false,
        DeletionProtection: false,
        StorageType: "gp3",
        Tags: tags,
      }),
    );
    expect(restored.DBInstance?.DBInstanceStatus).toBe("creating");
    expect(restored.DBInstance?.Endpoint).toBeUndefined();
    const { instance: tmp } = await pollInstance("cobalt-tmp-production-blue", (i) => i?.DBInstanceStatus === "available");
    expect(tmp).toMatchObject({
      DBInstanceClass: "db.t4g.medium",
      MasterUsername: "postgres",
      TagList: tags,
      VpcSecurityGroups: [{ VpcSecurityGroupId: "sg-0prod" }, { VpcSecurityGroupId: "sg-0backup" }],
      DBSubnetGroup: { DBSubnetGroupName: "prod-subnets" },
      Endpoint: { Address: "127.0.0.1" },
    });
    expect(tmp!.Endpoint!.Port).not.toBe(source.port);
    expect(await queryOnce(pgUrl(tmp!, SOURCE_PASSWORD), "SELECT id, note FROM items ORDER BY id")).toEqual([{ id: 1, note: "before the snapshot" }]);

    // A new master password: pending while applied, then only the new one works.
    const newPassword = "fresh-temporary-password-42";
    const modified = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "cobalt-tmp-production-blue", MasterUserPassword: newPassword, ApplyImmediately: true }));
    expect(modified.DBInstance?.PendingModifiedValues?.MasterUserPassword).toBe("****");
    const applied = await pollInstance("cobalt-tmp-production-blue", (i) => i?.DBInstanceStatus === "available" && !i.PendingModifiedValues?.MasterUserPassword);
    expect(applied.seen).toContain("resetting-master-credentials+pending");
    expect(emu.lastPasswordSetFor("cobalt-tmp-production-blue")).toBe(newPassword);
    expect(emu.requests.find((r) => r.action === "ModifyDBInstance")?.params.MasterUserPassword).toBe("****");
    expect(JSON.stringify(emu.requests)).not.toContain(newPassword);
    expect(await queryOnce(pgUrl(tmp!, newPassword), "SELECT count(*)::int AS n FROM items")).toEqual([{ n: 1 }]);
    await expect(queryOnce(pgUrl(tmp!, SOURCE_PASSWORD), "SELECT 1")).rejects.toMatchObject({ code: "28P01" });
    expect(emu.instance("cobalt-tmp-production-blue")).toMatchObject({ status: "available", password: newPassword, passwordPending: false, restoredFrom: "before-release" });
    // Modifying a busy instance is refused.
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "cobalt-tmp-production-blue", MasterUserPassword: "another-password-7", ApplyImmediately: true }));
    await sleep(emu.delays.modifyLagMs + 20);
    expect(await sdkError(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "cobalt-tmp-production-blue", MasterUserPassword: "third-password-99" })))).toMatchObject({ name: "InvalidDBInstanceStateFault", status: 400 });
    await pollInstance("cobalt-tmp-production-blue", (i) => i?.DBInstanceStatus === "available" && !i.PendingModifiedValues?.MasterUserPassword);

    // Tags by ARN.
    const arn = tmp!.DBInstanceArn!;
    await rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: [{ Key: "extra", Value: "1" }] }));
    await rds.send(new RemoveTagsFromResourceCommand({ ResourceName: arn, TagKeys: ["cobalt-backup:source"] }));
    expect((await rds.send(new ListTagsForResourceCommand({ ResourceName: arn }))).TagList).toEqual([{ Key: "cobalt-backup:temporary", Value: "true" }, { Key: "extra", Value: "1" }]);
    expect(emu.instance("cobalt-tmp-production-blue")?.tags).toEqual({ "cobalt-backup:temporary": "true", extra: "1" });

    // Delete: deleting, then DBInstanceNotFound, and the server is gone.
    const port = tmp!.Endpoint!.Port!;
    const deleting = await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "cobalt-tmp-production-blue", SkipFinalSnapshot: true, DeleteAutomatedBackups: true }));
    expect(deleting.DBInstance?.DBInstanceStatus).toBe("deleting");
    expect(await sdkError(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "cobalt-tmp-production-blue", SkipFinalSnapshot: true })))).toMatchObject({ name: "InvalidDBInstanceStateFault" });
    const gone = await pollInstance("cobalt-tmp-production-blue", (i) => i === undefined);
    expect(gone.seen).toContain("deleting");
    expect(await sdkError(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "cobalt-tmp-production-blue" })))).toMatchObject({ name: "DBInstanceNotFoundFault", code: "DBInstanceNotFound", status: 404 });
    expect(await portOpen(port)).toBe(false);
    expect(emu.instances().map((i) => i.id)).toEqual(["production-blue"]);
    // The source was never touched.
    expect(await queryOnce(source.url(), "SELECT count(*)::int AS n FROM items")).toEqual([{ n: 2 }]);
  });

  it("lists automated snapshots with the ages they were given, across pages", async () => {
    const day = 86_400_000;
    const older = await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 2 * day) });
    const newer = await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - day) });
    expect(older.id).toMatch(/^rds:production-blue-\d{4}-\d\d-\d\d-\d\d-\d\d$/);
    const automated: DBSnapshot[] = [];
    for await (const page of paginateDescribeDBSnapshots({ client: rds }, { DBInstanceIdentifier: "production-blue", SnapshotType: "automated" })) automated.push(...(page.DBSnapshots ?? []));
    expect(automated.map((s) => [s.DBSnapshotIdentifier, s.SnapshotType, s.Status, s.SnapshotCreateTime?.getTime()])).toEqual([
      [older.id, "automated", "available", older.createTime.getTime()],
      [newer.id, "automated", "available", newer.createTime.getTime()],
    ]);
    const all: DBSnapshot[] = [];
    for await (const page of paginateDescribeDBSnapshots({ client: rds }, { DBInstanceIdentifier: "production-blue" })) all.push(...(page.DBSnapshots ?? []));
    expect(all).toHaveLength(3);
    expect(emu.requests.filter((r) => r.action === "DescribeDBSnapshots" && r.params.Marker).length).toBeGreaterThan(0);
    expect(await sdkError(rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: "no-such-snapshot" })))).toMatchObject({ name: "DBSnapshotNotFoundFault", status: 404 });
  });

  it("injects throttling: an error with one attempt, retried away by the SDK's default retries", async () => {
    emu.faults.throttle("DescribeDBInstances", 1);
    const once = new RDSClient({ ...emu.clientConfig, maxAttempts: 1 });
    const err = await sdkError(once.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "production-blue" })));
    once.destroy();
    expect(err).toMatchObject({ name: "Throttling", status: 400, message: "Rate exceeded", attempts: 1 });

    emu.faults.throttle("DescribeDBInstances", 2);
    const before = emu.requests.length;
    const r = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "production-blue" }));
    expect(r.DBInstances?.[0]?.DBInstanceStatus).toBe("available");
    expect(r.$metadata.attempts).toBe(3);
    expect(emu.requests.slice(before).map((q) => q.error ?? q.status)).toEqual(["Throttling", "Throttling", 200]);
  });

  it("injects restore failures: capacity, an existing name, an instance that never becomes available", async () => {
    const restore = (id: string) => rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: id, DBSnapshotIdentifier: "before-release", Tags: [{ Key: "cobalt-backup:temporary", Value: "true" }] }));

    emu.faults.failRestore("InsufficientDBInstanceCapacity");
    expect(await sdkError(restore("cap-test"))).toMatchObject({ name: "InsufficientDBInstanceCapacityFault", code: "InsufficientDBInstanceCapacity", status: 400 });
    expect(emu.instance("cap-test")).toBeUndefined();

    emu.faults.alreadyExists("taken-name");
    expect(await sdkError(restore("taken-name"))).toMatchObject({ name: "DBInstanceAlreadyExistsFault", status: 400 });
    expect(await sdkError(restore("production-blue"))).toMatchObject({ name: "DBInstanceAlreadyExistsFault" });
    expect(await sdkError(rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "x1", DBSnapshotIdentifier: "missing" })))).toMatchObject({ name: "DBSnapshotNotFoundFault", status: 404 });

    emu.faults.neverAvailable();
    await restore("stuck-restore");
    await sleep(emu.delays.createDelayMs + 1_500);
    const stuck = await describeInstance("stuck-restore");
    expect(stuck?.DBInstanceStatus).toBe("creating");
    expect(stuck?.Endpoint).toBeUndefined();
    expect(await sdkError(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: "stuck-restore", MasterUserPassword: "whatever-password-1" })))).toMatchObject({ name: "InvalidDBInstanceStateFault" });
    await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: "stuck-restore", SkipFinalSnapshot: true }));
    await pollInstance("stuck-restore", (i) => i === undefined);
  });

  it("authorizes and revokes security group ingress through the real EC2 client", async () => {
    const rule = { GroupId: "sg-0backup", IpPermissions: [{ IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: "203.0.113.7/32", Description: "cobalt-backup temporary access" }] }] };
    const granted = await ec2.send(new AuthorizeSecurityGroupIngressCommand(rule));
    expect(granted.Return).toBe(true);
    expect(granted.SecurityGroupRules).toMatchObject([{ GroupId: "sg-0backup", IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, CidrIpv4: "203.0.113.7/32", IsEgress: false }]);
    expect(emu.ingressRules("sg-0backup")).toMatchObject([{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidr: "203.0.113.7/32", description: "cobalt-backup temporary access" }]);
    expect(await sdkError(ec2.send(new AuthorizeSecurityGroupIngressCommand(rule)))).toMatchObject({ name: "InvalidPermission.Duplicate", status: 400 });

    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ["sg-0backup"] }));
    expect(described.SecurityGroups?.[0]).toMatchObject({ GroupId: "sg-0backup", IpPermissions: [{ IpProtocol: "tcp", FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: "203.0.113.7/32", Description: "cobalt-backup temporary access" }] }] });

    const revoked = await ec2.send(new RevokeSecurityGroupIngressCommand(rule));
    expect(revoked.Return).toBe(true);
    expect(emu.ingressRules()).toEqual([]);
    expect(await sdkError(ec2.send(new RevokeSecurityGroupIngressCommand(rule)))).toMatchObject({ name: "InvalidPermission.NotFound", status: 400 });
    expect(await sdkError(ec2.send(new AuthorizeSecurityGroupIngressCommand({ ...rule, GroupId: "not-a-group" })))).toMatchObject({ name: "InvalidGroupId.Malformed" });
    expect(emu.requests.filter((r) => r.service === "ec2").map((r) => r.action)).toEqual([
      "AuthorizeSecurityGroupIngress",
      "AuthorizeSecurityGroupIngress",
      "DescribeSecurityGroups",
      "RevokeSecurityGroupIngress",
      "RevokeSecurityGroupIngress",
      "AuthorizeSecurityGroupIngress",
    ]);
  });
});
