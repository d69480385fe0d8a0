/**
 * Issue 13: the real state machine definition run by aws-local-stepfunctions, every Task bound to
 * its real handler bundle in-process, against the RDS emulator, the Secrets Manager emulator,
 * s3rver and recorders for the webhook and SES: the snapshot -> wait -> password path, the
 * temporary instance deleted on every failure with a notification naming the state, Retry on
 * transient tags, resume, and the failure rule's and janitor's cleanup. Where a test needs a
 * state to fail, it binds a stand-in for Plan that throws; whole runs, the units and verify in
 * place are in lambda-nightly.test.ts.
 */
import { PutObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { RDSClient, RestoreDBInstanceFromDBSnapshotCommand } from "@aws-sdk/client-rds";
import { readInstanceCredentials, type InstanceRef } from "@cobalt-backup/core/rds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { instanceConnect } from "../packages/lambda/src/lib/instance-connect.ts";
import { loadHandlers, NamedError, runExecution, type Execution, type TaskHandler } from "./support/local-execution.ts";
import { queryOnce } from "./support/pg-query.ts";
import { startLambdaWorld, useFunctionEnvironment, type LambdaWorld } from "./support/lambda-world.ts";

let handlers: Record<string, TaskHandler>;
let snapshotId: string;
const PROD_PASSWORD = "production-master-secret";

let world: LambdaWorld;
const temporaries = () => world.temporaries();
const calledStates = (x: Execution) => x.calls.map((c) => c.state);
const webhookTexts = () => world.webhookTexts();
const gone = (id: string) => world.gone(id);

beforeAll(async () => {
  world = await startLambdaWorld();
  const src = await world.emu.createSourceInstance({ id: "production-blue", masterPassword: PROD_PASSWORD, dbName: "shop" });
  await queryOnce(src.url("shop"), "CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g");
  snapshotId = (await world.emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 3_600_000) })).id;
  useFunctionEnvironment(world, { SOURCE_INSTANCE: "production-blue", STAGING_BUCKET: "cobalt-staging-test" });
  handlers = await loadHandlers();
}, 180_000);
afterAll(() => world?.stop());

describe("snapshot -> temporary instance -> password, and the always-delete paths", () => {
  it("restores, waits, sets a fresh password kept only in Secrets Manager; when Plan fails the instance is deleted, the notification names Plan, the execution fails", async () => {
    let reached: { rows: number; instance: InstanceRef; password: string } | undefined;
    const x = await runExecution(handlers, {}, {
      name: "plan-fails",
      bind: {
        Plan: async (input) => {
          // The next state gets a reference, and with it reaches the instance using the stored password.
          const instance = (input as { instance: InstanceRef }).instance;
          const creds = await readInstanceCredentials({ secrets: world.secrets }, { instance });
          if (creds.isErr()) throw new Error(creds.error.message);
          const client = await (await instanceConnect({ secrets: world.secrets }, { instance, database: instance.database!, tls: "disable" }))();
          const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM public.items");
          await client.end();
          reached = { rows: rows[0]!.n, instance, password: creds.value.password };
          throw new NamedError("SchemaCaptureFailed", "stand-in: the schema cannot be read");
        },
      },
    });
    expect(x.ok).toBe(false);
    expect(x.error).toBe("SchemaCaptureFailed");
    expect(x.cause).toBe("Plan");
    expect(calledStates(x).slice(0, 3)).toEqual(["FindSnapshot", "StartRestore", "DescribeInstance"]);
    expect(calledStates(x).filter((s) => s === "PrepareInstance")).toHaveLength(1);
    expect(calledStates(x).slice(-3)).toEqual(["Plan", "DeleteAfterFailure", "NotifyFailure"]);

    // The temporary instance: the newest snapshot, private, single-AZ, no backups, tagged with its backup and execution.
    const restore = world.emu.requests.filter((r) => r.action === "RestoreDBInstanceFromDBSnapshot").at(-1)!;
    const instanceId = reached!.instance.instanceId;
    expect(instanceId).toMatch(/^cobalt-tmp-shop-\d{8}t\d{9}z$/);
    expect(restore.params).toMatchObject({ DBInstanceIdentifier: instanceId, DBSnapshotIdentifier: snapshotId, PubliclyAccessible: "false", MultiAZ: "false", DeletionProtection: "false", BackupRetentionPeriod: "0" });
    const tags = Object.fromEntries((restore.params.Tags as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]));
    expect(tags).toMatchObject({ "cobalt-backup:temporary": "true", "cobalt-backup:source": "production-blue", "cobalt-backup:backup-id": reached!.instance.backupId, "cobalt-backup:execution": x.arn });

    // A fresh password: set on the instance, held by the secret, and it works; the production one never used.
    expect(reached!.rows).toBe(100);
    expect(reached!.password).toBe(world.emu.lastPasswordSetFor(instanceId));
    expect(reached!.password).not.toBe(PROD_PASSWORD);
    // It appears in no payload, history event, error, notification or recorded request.
    const everything = JSON.stringify([x.events, x.calls, x.output ?? null, x.cause ?? null, world.webhook.received, world.ses.received, world.emu.requests, world.sm.requests]);
    expect(everything).not.toContain(reached!.password);
    expect(everything).not.toContain(PROD_PASSWORD);

    // Deleted, with its secret; the failure notified by webhook and email, naming the state; no report for a run without data.
    expect(await gone(instanceId)).toBe(true);
    expect(world.sm.names()).not.toContain(`cobalt-backup/${instanceId}`);
    // Deleting again (a retried state, the failure rule after a Catch) is success.
    expect(await handlers.DeleteInstance!({ instanceId })).toEqual({ instanceId, status: "gone" });
    expect(webhookTexts().at(-1)).toMatch(/FAILED at dump[\s\S]*state Plan failed: SchemaCaptureFailed: stand-in: the schema cannot be read/);
    expect(webhookTexts().at(-1)).toContain(`to resume, start an execution with {"backupId":"${reached!.instance.backupId}","snapshot":"${snapshotId}"}`);
    expect(world.ses.received.at(-1)!.body).toContain("Plan");
    const stored = await world.s3.client.send(new ListObjectsV2Command({ Bucket: world.s3.bucket, Prefix: "lambda/" }));
    expect(stored.KeyCount ?? 0).toBe(0);
    expect(temporaries()).toEqual([]);
  });

  it("retries a throttled restore on the AwsUnavailable tag, then goes on", async () => {
    world.emu.faults.throttle("RestoreDBInstanceFromDBSnapshot", 4);
    const x = await runExecution(handlers, {}, { name: "throttled", bind: { Plan: () => Promise.reject(new NamedError("SchemaCaptureFailed", "stand-in")) } });
    const retried = x.events.filter((e) => e.type === "StateRetried").map((e) => e.state);
    expect(retried).toEqual(["StartRestore", "StartRestore"]);
    expect(world.emu.requests.filter((r) => r.error === "Throttling" && r.action === "RestoreDBInstanceFromDBSnapshot")).toHaveLength(4);
    expect(calledStates(x)).toContain("PrepareInstance");
    expect(x.error).toBe("SchemaCaptureFailed");
    expect(temporaries().filter((i) => i.status !== "deleting")).toEqual([]);
  });

  it("a restore that ends in a failed status is deleted at once; the notification names DescribeInstance", async () => {
    world.emu.faults.stall("create", { status: "incompatible-restore" });
    const x = await runExecution(handlers, {}, { name: "incompatible" });
    expect(x, JSON.stringify({ error: x.error, cause: x.cause, entered: x.entered, texts: webhookTexts().slice(-1) })).toMatchObject({ ok: false, error: "InstanceFailed", cause: "DescribeInstance" });
    expect(x.entered).toContain("InstanceFailed");
    expect(calledStates(x)).not.toContain("PrepareInstance");
    expect(calledStates(x).slice(-2)).toEqual(["DeleteAfterFailure", "NotifyFailure"]);
    expect(webhookTexts().at(-1)).toMatch(/state DescribeInstance failed: InstanceFailed: temporary instance cobalt-tmp-\S+ is incompatible-restore/);
    const id = (x.calls.find((c) => c.state === "DeleteAfterFailure")!.input as { instanceId: string }).instanceId;
    expect(await gone(id)).toBe(true);
  });

  it("a restore that never finishes ends at the poll cap, and the instance is deleted", async () => {
    world.emu.faults.neverAvailable();
    const x = await runExecution(handlers, {}, { name: "never", substitutions: { MaxPolls: "5" } });
    expect(x).toMatchObject({ ok: false, error: "WaitTimedOut", cause: "DescribeInstance" });
    expect(calledStates(x).filter((s) => s === "DescribeInstance")).toHaveLength(6);
    expect(webhookTexts().at(-1)).toMatch(/temporary instance \S+ was still creating after 5 polls/);
    const id = (x.calls.find((c) => c.state === "DeleteAfterFailure")!.input as { instanceId: string }).instanceId;
    expect(await gone(id)).toBe(true);
    world.emu.faults.clear();
  });

  it("a missing snapshot fails before anything is created, and notifies naming FindSnapshot", async () => {
    const before = world.emu.requests.length;
    const x = await runExecution(handlers, { backupId: "shop/20260101T000000.000Z", snapshot: "no-such-snapshot" }, { name: "nosnap" });
    expect(x).toMatchObject({ ok: false, error: "SnapshotNotFound", cause: "FindSnapshot" });
    expect(calledStates(x)).toEqual(["FindSnapshot", "NotifyFailure"]);
    expect(world.emu.requests.slice(before).map((r) => r.action)).not.toContain("RestoreDBInstanceFromDBSnapshot");
    expect(webhookTexts().at(-1)).toMatch(/state FindSnapshot failed: SnapshotNotFound: no snapshot no-such-snapshot/);
  });
});

describe("resume, the failure rule and the janitor", () => {
  it("an aborted execution's instance is deleted by the failure rule's target; a new execution with the same backup id resumes, then deletes it", async () => {
    // First execution: aborted while Plan runs, so no Catch runs; its instance stays.
    let abort: () => void = () => {};
    let first: InstanceRef | undefined;
    const aborted = await runExecution(handlers, {}, {
      name: "aborted",
      onStart: (a) => (abort = a),
      bind: {
        Plan: async (input) => {
          first = (input as { instance: InstanceRef }).instance;
          abort();
          return new Promise<never>(() => {});
        },
      },
    });
    expect(aborted.ok).toBe(false);
    expect(calledStates(aborted)).not.toContain("DeleteAfterFailure");
    expect(world.emu.instance(first!.instanceId)?.status).toBe("available");

    // Second execution with that backup id: the instance is found by its tags and resumed, not restored again.
    const restoresBefore = world.emu.requests.filter((r) => r.action === "RestoreDBInstanceFromDBSnapshot").length;
    let resumed: InstanceRef | undefined;
    const second = await runExecution(handlers, { backupId: first!.backupId!, snapshot: first!.snapshotId }, {
      name: "resumed",
      bind: {
        Plan: async (input) => {
          resumed = (input as { instance: InstanceRef }).instance;
          // The old execution's late ABORTED event must leave the instance to this one.
          const late = await handlers.ExecutionCleanup!({ detail: { executionArn: aborted.arn, status: "ABORTED" } });
          expect(late).toMatchObject({ deleted: [] });
          throw new NamedError("SchemaCaptureFailed", "stand-in");
        },
      },
    });
    expect(resumed).toMatchObject({ instanceId: first!.instanceId, resumed: true, backupId: first!.backupId });
    expect(world.emu.requests.filter((r) => r.action === "RestoreDBInstanceFromDBSnapshot").length).toBe(restoresBefore);
    expect(second.error).toBe("SchemaCaptureFailed");
    expect(await gone(first!.instanceId)).toBe(true);

    // Third execution, aborted; the rule's target (EventBridge event) deletes exactly its instance.
    let third: InstanceRef | undefined;
    const x3 = await runExecution(handlers, {}, {
      name: "aborted-again",
      onStart: (a) => (abort = a),
      bind: {
        Plan: async (input) => {
          third = (input as { instance: InstanceRef }).instance;
          abort();
          return new Promise<never>(() => {});
        },
      },
    });
    const rds = new RDSClient(world.emu.clientConfig);
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "cobalt-tmp-other-run", DBSnapshotIdentifier: snapshotId, Tags: [{ Key: "cobalt-backup:temporary", Value: "true" }, { Key: "cobalt-backup:execution", Value: "arn:aws:states:us-east-1:123456789012:execution:cobalt-backup:other" }] }));
    const cleaned = await handlers.ExecutionCleanup!({ "detail-type": "Step Functions Execution Status Change", detail: { executionArn: x3.arn, status: "ABORTED" } });
    expect(cleaned).toMatchObject({ execution: x3.arn, deleted: [{ instanceId: third!.instanceId, status: "deleting" }] });
    expect(await gone(third!.instanceId)).toBe(true);
    expect(world.sm.names()).not.toContain(`cobalt-backup/${third!.instanceId}`);
    expect(world.emu.instance("cobalt-tmp-other-run")).toBeDefined();
  });

  it("the janitor deletes expired temporary instances only; DeleteInstance refuses an instance not tagged temporary", async () => {
    const rds = new RDSClient(world.emu.clientConfig);
    const tags = (expires: string) => [{ Key: "cobalt-backup:temporary", Value: "true" }, { Key: "cobalt-backup:expires", Value: expires }];
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "tmp-expired", DBSnapshotIdentifier: snapshotId, Tags: tags("2020-01-01T00:00:00Z") }));
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "tmp-fresh", DBSnapshotIdentifier: snapshotId, Tags: tags("2999-01-01T00:00:00Z") }));
    const r = (await handlers.Janitor!({})) as { decisions: { instance: string; action: string }[] };
    const deleted = r.decisions.filter((d) => d.action === "delete").map((d) => d.instance);
    expect(deleted).toContain("tmp-expired");
    expect(deleted).not.toContain("tmp-fresh");
    expect(deleted).not.toContain("cobalt-tmp-other-run");
    expect(await gone("tmp-expired")).toBe(true);

    await expect(handlers.DeleteInstance!({ instanceId: "production-blue" })).rejects.toMatchObject({ name: "NotTemporary" });
    const prod = await handlers.DescribeInstance!({ instance: { instanceId: "production-blue", sourceInstance: "production-blue", snapshotId: "" } });
    await expect(handlers.PrepareInstance!({ instance: prod })).rejects.toMatchObject({ name: "NotTemporary" });
    expect(world.emu.requests.filter((q) => q.action === "ModifyDBInstance" && q.params.DBInstanceIdentifier === "production-blue")).toEqual([]);
    expect(world.emu.instance("production-blue")?.status).toBe("available");
    await expect(handlers.DeleteInstance!({ instanceId: 42 })).rejects.toMatchObject({ name: "InvalidInput" });
  });

  it("when the password cannot be stored, it is not set either (no password nobody knows)", async () => {
    const other = await handlers.DescribeInstance!({ instance: { instanceId: "cobalt-tmp-other-run", sourceInstance: "production-blue", snapshotId } });
    const modifies = () => world.emu.requests.filter((q) => q.action === "ModifyDBInstance" && q.params.DBInstanceIdentifier === "cobalt-tmp-other-run").length;
    world.sm.fail("PutSecretValue", "InternalServiceError", 2);
    await expect(handlers.PrepareInstance!({ instance: other })).rejects.toMatchObject({ name: "AwsUnavailable" });
    expect(modifies()).toBe(0);
    // Retried (as the definition does on AwsUnavailable), it creates the secret and then sets the password.
    const prepared = (await handlers.PrepareInstance!({ instance: other })) as InstanceRef;
    expect(prepared).toMatchObject({ secretId: "cobalt-backup/cobalt-tmp-other-run", phase: "working" });
    expect(modifies()).toBe(1);
    expect(JSON.parse(world.sm.value("cobalt-backup/cobalt-tmp-other-run")!).password).toBe(world.emu.lastPasswordSetFor("cobalt-tmp-other-run"));
    expect(JSON.stringify(prepared)).not.toContain(world.emu.lastPasswordSetFor("cobalt-tmp-other-run")!);
  });

  it("retention removes an unfinished backup older than the grace period from the store", async () => {
    await world.s3.client.send(new PutObjectCommand({ Bucket: world.s3.bucket, Key: "lambda/shop/20200101T000000.000Z/data/public.items/0.zst", Body: "x" }));
    const r = await handlers.Retention!({ backupId: "shop/20260101T000000.000Z" });
    expect(r).toMatchObject({ removed: expect.arrayContaining(["shop/20200101T000000.000Z"]) });
    const left = await world.s3.client.send(new ListObjectsV2Command({ Bucket: world.s3.bucket, Prefix: "lambda/shop/20200101T000000.000Z/" }));
    expect(left.KeyCount ?? 0).toBe(0);
  });
});
