/**
 * Issue 5: `backup --rds-instance` through the RDS emulator (the real @aws-sdk/client-rds against
 * real PostgreSQL): newest snapshot, temporary instance, fresh password, dump, always deleted.
 */
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli } from "./support/cli.ts";
import { loadCorpus } from "./support/corpus.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { queryOnce } from "./support/pg-query.ts";
import { startRdsEmulator, type RdsEmulator } from "./support/rds-emulator/index.ts";
import { backup, restore, tempStore } from "./support/roundtrip.ts";
import { cluster } from "./support/cluster.ts";

const PROD_PASSWORD = "production-master-secret";
let emu: RdsEmulator;
let prodUrl: string;
const env = () => ({ AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1", COBALT_RDS_POLL_MS: "100" });
const apiFlags = () => ["--rds-endpoint", emu.endpoint, "--rds-region", "us-east-1"];
const rdsFlags = () => [...apiFlags(), "--tls", "disable"];
const temporaries = () => emu.instances().filter((i) => i.tags["cobalt-backup:temporary"] === "true" && i.status !== "deleted");

beforeAll(async () => {
  emu = await startRdsEmulator();
  const src = await emu.createSourceInstance({ id: "production-blue", masterPassword: PROD_PASSWORD, dbName: "pagila" });
  prodUrl = src.url("pagila");
  loadCorpus(prodUrl, "pagila");
  // Every test can run alone: there is always a week-old automated snapshot.
  await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 7 * 86_400_000) });
}, 120_000);
afterAll(() => emu?.stop());

describe("backup --rds-instance", () => {
  it("dumps the newest snapshot through a temporary instance with a fresh password, then deletes it", async () => {
    await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 3 * 86_400_000) });
    await queryOnce(prodUrl, "INSERT INTO public.actor (first_name, last_name) VALUES ('IN', 'NEWEST-ONLY')");
    const newest = await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 3_600_000) });
    const asOfSnapshot = await dataDigest(prodUrl);
    const asOfSnapshotSchema = pgDumpSchema(prodUrl);
    await queryOnce(prodUrl, "INSERT INTO public.actor (first_name, last_name) VALUES ('AFTER', 'SNAPSHOT')");

    const dest = tempStore();
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", dest, ...rdsFlags(), "--json"], env());
    expect(b.code, b.stderr).toBe(0);
    expect(b.json!.snapshot).toBe(newest.id);
    const restoreCall = emu.requests.find((r) => r.action === "RestoreDBInstanceFromDBSnapshot")!;
    expect(restoreCall.params).toMatchObject({ DBSnapshotIdentifier: newest.id, PubliclyAccessible: "false", MultiAZ: "false", DeletionProtection: "false", BackupRetentionPeriod: "0" });

    // A fresh password was set on the temporary instance; the production one was never used.
    const modify = emu.requests.filter((r) => r.action === "ModifyDBInstance");
    expect(modify.map((r) => r.params.DBInstanceIdentifier)).toEqual(["cobalt-tmp-production-blue"]);
    const fresh = emu.lastPasswordSetFor("cobalt-tmp-production-blue");
    expect(fresh).toBeTruthy();
    expect(fresh).not.toBe(PROD_PASSWORD);
    expect(b.stdout + b.stderr).not.toContain(fresh!);
    expect(b.stdout + b.stderr).not.toContain(PROD_PASSWORD);

    // The temporary instance is gone, production untouched.
    expect(temporaries()).toEqual([]);
    expect(emu.instance("production-blue")!.status).toBe("available");
    expect(emu.requests.some((r) => r.action === "DeleteDBInstance" && r.params.DBInstanceIdentifier === "production-blue")).toBe(false);

    // Restored elsewhere, the backup is the source as of the snapshot: no row written after it.
    const pg15 = cluster(15);
    const target = await pg15.newDatabase("rds_restored");
    await restore(dest, b.json!.id, pg15.url(target));
    expect(await dataDigest(pg15.url(target))).toEqual(asOfSnapshot);
    expect(pgDumpSchema(pg15.url(target))).toEqual(asOfSnapshotSchema);
    const rows = await pg15.query(target, "SELECT last_name FROM public.actor WHERE last_name IN ('NEWEST-ONLY', 'SNAPSHOT')");
    expect(rows).toEqual([{ last_name: "NEWEST-ONLY" }]);
  });

  it("deletes a leftover temporary instance of a failed run, found by its tag, before restoring", async () => {
    // A leftover under another name, tagged as ours, and an untagged instance that must survive.
    const snap = emu.snapshots().find((s) => s.instanceId === "production-blue")!;
    const { RDSClient, RestoreDBInstanceFromDBSnapshotCommand } = await import("@aws-sdk/client-rds");
    const rds = new RDSClient(emu.clientConfig);
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "old-crashed-run", DBSnapshotIdentifier: snap.id, Tags: [{ Key: "cobalt-backup:temporary", Value: "true" }, { Key: "cobalt-backup:source", Value: "production-blue" }] }));
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "someone-elses", DBSnapshotIdentifier: snap.id, Tags: [] }));
    const before = emu.requests.length;
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), ...rdsFlags(), "--json"], env());
    expect(b.code, b.stderr).toBe(0);
    const calls = emu.requests.slice(before).map((r) => `${r.action} ${r.params.DBInstanceIdentifier ?? ""}`.trim());
    expect(calls.indexOf("DeleteDBInstance old-crashed-run")).toBeGreaterThanOrEqual(0);
    expect(calls.indexOf("DeleteDBInstance old-crashed-run")).toBeLessThan(calls.indexOf("RestoreDBInstanceFromDBSnapshot cobalt-tmp-production-blue"));
    expect(calls).not.toContain("DeleteDBInstance someone-elses");
    expect(emu.instance("someone-elses")?.status).not.toBe("deleted");
    expect(temporaries()).toEqual([]);
  });

  it("deletes the temporary instance when the dump dies midway, and exits non-zero", async () => {
    const child = startCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), ...rdsFlags(), "--jobs", "2"], env());
    // Once the dump runs on the temporary instance, kill its backends.
    let killed = 0;
    for (let i = 0; i < 600 && killed === 0; i++) {
      const tmp = emu.instance("cobalt-tmp-production-blue");
      if (tmp && tmp.status === "available" && !tmp.passwordPending) {
        const r = await queryOnce<{ n: number }>(tmp.url("postgres"), "SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'cobalt-backup'").catch(() => [{ n: 0 }]);
        killed = r[0]!.n;
      }
      if (killed === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const r = await child.done;
    expect(killed).toBeGreaterThan(0);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cobalt-backup: error: backup failed/);
    expect(temporaries()).toEqual([]);
  });

  it("deletes the temporary instance on SIGTERM, and exits non-zero", async () => {
    const child = startCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), ...rdsFlags()], env());
    for (let i = 0; i < 600 && !emu.instance("cobalt-tmp-production-blue"); i++) await new Promise((r) => setTimeout(r, 20));
    expect(emu.instance("cobalt-tmp-production-blue")).toBeTruthy();
    child.child.kill("SIGTERM");
    const r = await child.done;
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/deleting the temporary instance/);
    expect(temporaries()).toEqual([]);
  });
});

describe("an interrupted backup is continued (issue 12)", () => {
  it("after SIGKILL in the data phase, the next backup reuses the temporary instance and dumps only the missing units", async () => {
    const snapshot = await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 60_000) });
    const asOfSnapshot = await dataDigest(prodUrl);
    const dest = tempStore();
    const args = ["backup", "--rds-instance", "production-blue", "--dest", dest, ...rdsFlags(), "--jobs", "1", "--split-larger-than", "4096", "--json"];
    const markers = () => readdirSync(fileURLToPath(dest), { recursive: true }).map(String).filter((f) => /\/units\/\d+\.json$/.test(f));
    const first = startCli(args, env());
    for (let i = 0; i < 3000 && markers().length < 30; i++) await new Promise((r) => setTimeout(r, 10));
    first.child.kill("SIGKILL");
    await first.done;
    const done = markers().length;
    expect(done).toBeGreaterThanOrEqual(30);
    // Nothing ran after the kill: the temporary instance is still there, tagged with its backup.
    const left = emu.instance("cobalt-tmp-production-blue")!;
    expect(left.status).toBe("available");
    const backupId = left.tags["cobalt-backup:backup-id"];
    expect(backupId).toMatch(/^pagila\//);
    const restores = () => emu.requests.filter((r) => r.action === "RestoreDBInstanceFromDBSnapshot").length;
    const restoresBefore = restores();

    const second = await runCli(args, env());
    expect(second.code, second.stderr).toBe(0);
    expect(second.json).toMatchObject({ id: backupId, snapshot: snapshot.id });
    expect(restores()).toBe(restoresBefore); // the same instance: no second restore
    expect(second.json!.reusedUnits).toBeGreaterThanOrEqual(done - 1); // a marker written as the kill came may be redone
    expect(second.json!.reusedUnits).toBeLessThan(second.json!.units);
    expect(temporaries()).toEqual([]);

    const pg15 = cluster(15);
    const target = await pg15.newDatabase("rds_resumed");
    await restore(dest, backupId!, pg15.url(target));
    expect(await dataDigest(pg15.url(target))).toEqual(asOfSnapshot);
  });
});

describe("options", () => {
  it("opens the security group to the runner for the duration and revokes it afterwards", async () => {
    const before = emu.requests.length;
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), "--open-ingress", "sg-0cobalt1=198.51.100.7/32", "--storage-type", "gp2", ...rdsFlags(), "--json"], env());
    expect(b.code, b.stderr).toBe(0);
    const calls = emu.requests.slice(before);
    const actions = calls.map((r) => r.action);
    expect(actions.indexOf("AuthorizeSecurityGroupIngress")).toBeGreaterThan(actions.indexOf("ModifyDBInstance"));
    expect(actions.indexOf("RevokeSecurityGroupIngress")).toBeLessThan(actions.lastIndexOf("DeleteDBInstance"));
    expect(calls.find((r) => r.action === "AuthorizeSecurityGroupIngress")!.params).toMatchObject({ GroupId: "sg-0cobalt1" });
    expect(JSON.stringify(calls.find((r) => r.action === "AuthorizeSecurityGroupIngress")!.params)).toContain("198.51.100.7/32");
    expect(calls.find((r) => r.action === "RestoreDBInstanceFromDBSnapshot")!.params).toMatchObject({ StorageType: "gp2" });
    expect(emu.ingressRules("sg-0cobalt1")).toEqual([]);
    expect(temporaries()).toEqual([]);
  });

  it("uses an existing secret's password instead of resetting it, when asked", async () => {
    const before = emu.requests.length;
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), "--master-password-env", "PROD_PW", ...rdsFlags(), "--json"], { ...env(), PROD_PW: PROD_PASSWORD });
    expect(b.code, b.stderr).toBe(0);
    expect(emu.requests.slice(before).map((r) => r.action)).not.toContain("ModifyDBInstance");
    expect(b.stdout + b.stderr).not.toContain(PROD_PASSWORD);
  });
});

describe("faults", () => {
  it("retries throttling and succeeds", async () => {
    emu.faults.throttle("DescribeDBInstances", 3);
    emu.faults.throttle("DescribeDBSnapshots", 2);
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), ...rdsFlags(), "--json"], env());
    expect(b.code, b.stderr).toBe(0);
    expect(emu.requests.filter((r) => r.error === "Throttling").length).toBeGreaterThanOrEqual(5);
    expect(temporaries()).toEqual([]);
  });

  it("a capacity error ends with a clear message and nothing running", async () => {
    emu.faults.failRestore("InsufficientDBInstanceCapacity");
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), ...rdsFlags()], env());
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/InsufficientDBInstanceCapacity.*try another --instance-class or later/);
    expect(temporaries()).toEqual([]);
  });

  it("a restore that never becomes available ends at the deadline, and the instance is deleted", async () => {
    emu.faults.neverAvailable();
    const started = Date.now();
    const b = await runCli(["backup", "--rds-instance", "production-blue", "--dest", tempStore(), ...rdsFlags(), "--wait-minutes", "0.05"], env());
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/still 'creating' after 3 s while restoring; it is being deleted/);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(temporaries()).toEqual([]);
  });

  it("a missing source instance or snapshot is a clear error before anything is created", async () => {
    const none = await runCli(["backup", "--rds-instance", "no-such-db", "--dest", tempStore(), ...rdsFlags()], env());
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no RDS instance no-such-db/);
    const snap = await runCli(["backup", "--rds-instance", "production-blue", "--snapshot", "nope", "--dest", tempStore(), ...rdsFlags()], env());
    expect(snap.code).toBe(2);
    expect(snap.stderr).toMatch(/no snapshot nope/);
    expect(temporaries()).toEqual([]);
  });
});

describe("snapshot and cleanup commands", () => {
  it("snapshot takes a manual snapshot and waits for it", async () => {
    const r = await runCli(["snapshot", "--rds-instance", "production-blue", "--snapshot-id", "before-release-42", ...apiFlags(), "--json"], env());
    expect(r.code, r.stderr).toBe(0);
    expect(emu.snapshots().find((s) => s.id === "before-release-42")?.status).toBe("available");
  });

  it("cleanup deletes only expired instances this tool tagged", async () => {
    const snap = emu.snapshots().find((s) => s.instanceId === "production-blue")!;
    const { RDSClient, RestoreDBInstanceFromDBSnapshotCommand } = await import("@aws-sdk/client-rds");
    const rds = new RDSClient(emu.clientConfig);
    const tags = (expires: string) => [{ Key: "cobalt-backup:temporary", Value: "true" }, { Key: "cobalt-backup:source", Value: "production-blue" }, { Key: "cobalt-backup:expires", Value: expires }];
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "tmp-expired", DBSnapshotIdentifier: snap.id, Tags: tags("2020-01-01T00:00:00Z") }));
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "tmp-fresh", DBSnapshotIdentifier: snap.id, Tags: tags("2999-01-01T00:00:00Z") }));
    await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: "cobalt-tmp-lookalike", DBSnapshotIdentifier: snap.id, Tags: [{ Key: "owner", Value: "someone" }] }));
    const dry = await runCli(["cleanup", ...apiFlags(), "--dry-run", "--json"], env());
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json!.decisions.filter((d: { action: string }) => d.action === "delete").map((d: { instance: string }) => d.instance)).toEqual(["tmp-expired"]);
    expect(emu.requests.some((r) => r.action === "DeleteDBInstance" && r.params.DBInstanceIdentifier === "tmp-expired")).toBe(false);
    const real = await runCli(["cleanup", ...apiFlags(), "--json"], env());
    expect(real.code, real.stderr).toBe(0);
    const deletes = emu.requests.filter((r) => r.action === "DeleteDBInstance").map((r) => r.params.DBInstanceIdentifier);
    expect(deletes).toContain("tmp-expired");
    expect(deletes).not.toContain("tmp-fresh");
    expect(deletes).not.toContain("cobalt-tmp-lookalike");
    expect(deletes).not.toContain("production-blue");
  });
});
