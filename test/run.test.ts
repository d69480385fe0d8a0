/**
 * Issue 6, acceptance 2-4: `run` with a config file does every stage through the RDS emulator,
 * s3rver and embedded PostgreSQL; failures notify (webhook received, SES call made by the real
 * SDK to a recording endpoint) naming the stage, with the right exit code and no instance left;
 * `config check` says what to fix and never prints a secret.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { loadCorpus } from "./support/corpus.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";
import { queryOnce } from "./support/pg-query.ts";
import { startRdsEmulator, type RdsEmulator } from "./support/rds-emulator/index.ts";
import { startRecorder, type Recorder } from "./support/recorder.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

let emu: RdsEmulator;
let s3: S3Server;
let proxy: FaultProxy;
let webhook: Recorder;
let ses: Recorder;
let heartbeat: Recorder;
let prodUrl: string;
const dir = mkdtempSync(join(tmpdir(), "cobalt-run-"));
// s3rver wants its own key; the emulators accept any.
const env = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", COBALT_RDS_POLL_MS: "100" };

beforeAll(async () => {
  [emu, s3, webhook, ses, heartbeat] = await Promise.all([startRdsEmulator(), startS3(), startRecorder(), startRecorder({ MessageId: "test-message" }), startRecorder()]);
  proxy = await startFaultProxy(s3.endpoint);
  const src = await emu.createSourceInstance({ id: "production-blue", dbName: "pagila" });
  prodUrl = src.url("pagila");
  loadCorpus(prodUrl, "pagila");
  await emu.createAutomatedSnapshot("production-blue", { createTime: new Date(Date.now() - 3_600_000) });
}, 120_000);
afterAll(async () => {
  await Promise.all([emu?.stop(), proxy?.stop(), webhook?.stop(), ses?.stop(), heartbeat?.stop()]);
  await s3?.stop();
});

const temporaries = () => emu.instances().filter((i) => i.tags["cobalt-backup:temporary"] === "true" && i.status !== "deleted");

function config(name: string, overrides: Record<string, unknown> = {}): string {
  const base = {
    source: { rdsInstance: "production-blue", endpoint: emu.endpoint, region: "us-east-1", tls: "disable" },
    store: { url: `s3://${s3.bucket}/${name}`, endpoint: s3.endpoint },
    backup: { jobs: 2 },
    verify: { target: cluster(15).url() },
    notify: { webhook: `${webhook.url}/hooks/T000/SECRET-TOKEN`, heartbeatUrl: `${heartbeat.url}/ping/abc`, email: { from: "backup@cobalt.test", to: ["ops@cobalt.test"], endpoint: ses.url } },
    ...overrides,
  };
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(base, null, 2));
  return path;
}

describe("run", () => {
  it("does every stage: snapshot, dump, upload, cleanup, verify, hook on the scratch copy, retention, notifications", async () => {
    const hookOut = join(dir, "hook-ran-on");
    const hook = { command: `psql -X -q -v ON_ERROR_STOP=1 -c "UPDATE public.customer SET email = 'scrubbed@example.org'" && echo "$PGDATABASE $PGPORT" > ${hookOut}` };
    const path = config("nightly", { verify: { target: cluster(15).url(), hook }, retention: { keepLast: 1 } });
    const first = await runCli(["run", "--config", path, "--json"], env);
    expect(first.code, first.stderr).toBe(0);
    const report = first.json!.report;
    expect(report.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual(["snapshot:ok", "dump:ok", "cleanup:ok", "verify:ok", "hook:ok", "retention:ok"]);
    expect(temporaries()).toEqual([]);
    // The hook ran against the scratch copy, never the source.
    expect(readFileSync(hookOut, "utf8")).toMatch(/^cobalt_verify_\w+ \d+/);
    expect(await queryOnce(prodUrl, "SELECT count(*)::int AS n FROM public.customer WHERE email = 'scrubbed@example.org'")).toEqual([{ n: 0 }]);
    // The report is stored next to the backup.
    const keys = ((await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "nightly/" }))).Contents ?? []).map((o) => o.Key);
    expect(keys).toContain(`nightly/${report.id}/report.json`);
    expect(keys).toContain(`nightly/${report.id}/verified.json`);

    const second = await runCli(["run", "--config", path, "--json"], env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json!.report.retention.removed).toEqual([report.id]);
    const list = await runCli(["list", "--from", `s3://${s3.bucket}/nightly`, "--endpoint", s3.endpoint, "--json"], env);
    expect(list.json!.backups.map((b: { id: string }) => b.id)).toEqual([second.json!.report.id]);

    expect(webhook.received.filter((r) => r.method === "POST")).toHaveLength(2);
    expect(JSON.parse(webhook.received[0]!.body).text).toMatch(/backed up and verified/);
    expect(ses.received.map((r) => r.url)).toEqual(["/v2/email/outbound-emails", "/v2/email/outbound-emails"]);
    expect(heartbeat.received).toHaveLength(2);
  });
});

describe("failures notify, name the stage, exit distinctly, and leave no instance", () => {
  const lastNotification = () => JSON.parse(webhook.received[webhook.received.length - 1]!.body);

  it("verify failure (a corrupt object): exit 3", async () => {
    const before = { hooks: webhook.received.length, ses: ses.received.length, beats: heartbeat.received.length };
    proxy.setFault((r) => (r.method === "GET" && /\/data\/\d+\.copy/.test(r.url) ? "corrupt" : undefined));
    const r = await runCli(["run", "--config", config("corrupt", { store: { url: `s3://${s3.bucket}/corrupt`, endpoint: proxy.endpoint } })], env);
    proxy.setFault(undefined);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cobalt-backup: error: verify: .*corrupt/);
    expect(lastNotification().text).toMatch(/FAILED at verify/);
    expect(webhook.received.length).toBe(before.hooks + 1);
    expect(ses.received.length).toBe(before.ses + 1);
    expect(heartbeat.received.length).toBe(before.beats);
    expect(temporaries()).toEqual([]);
  });

  it("the heartbeat is pinged only on success (--heartbeat-url)", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("run_heartbeat", "chinook_tpl");
    const before = heartbeat.received.length;
    const ok = await runCli(["run", "--config", config("beat", { source: { url: pg15.url(db) }, notify: undefined }), "--heartbeat-url", `${heartbeat.url}/flag`], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(heartbeat.received.slice(before).map((r) => r.url)).toEqual(["/flag"]);
  });

  it("dump failure: exit 1", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("run_dump_fails");
    await pg15.query(db, `CREATE FUNCTION f(int, int) RETURNS boolean LANGUAGE sql AS 'SELECT true'; CREATE OPERATOR public.<~> (LEFTARG = int, RIGHTARG = int, FUNCTION = f)`);
    const r = await runCli(["run", "--config", config("dumpfail", { source: { url: pg15.url(db) } })], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cobalt-backup: error: dump: .*operator public\.<~>/);
    expect(lastNotification().text).toMatch(/FAILED at dump/);
    expect(lastNotification().report.failedStage).toBe("dump");
  });

  it("SIGTERM while the snapshot is restored: the instance is deleted, the failure notified naming the stage, exit 143", async () => {
    const before = webhook.received.length;
    const { child, done } = startCli(["run", "--config", config("sigterm"), "--json"], env);
    while (!emu.instance("cobalt-tmp-production-blue")) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    const r = await done;
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toMatch(/deleting the temporary instance before exiting/);
    expect(temporaries()).toEqual([]);
    expect(webhook.received.length).toBe(before + 1);
    expect(lastNotification().text).toMatch(/FAILED at snapshot/);
    expect(lastNotification().report).toMatchObject({ failedStage: "snapshot", errorTag: "Interrupted" });
    expect(lastNotification().report.error).toMatch(/interrupted by SIGTERM/);
    // The report of a run that made no backup is stored under reports/.
    const keys = ((await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "sigterm/" }))).Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual([expect.stringMatching(/^sigterm\/reports\/\d{8}T\d{6}\.\d{3}Z\.json$/)]);
  });

  it("upload failure: exit 1, the temporary instance deleted", async () => {
    proxy.setFault((r) => (r.method === "PUT" ? "503" : undefined));
    const r = await runCli(["run", "--config", config("uploadfail", { store: { url: `s3://${s3.bucket}/uploadfail`, endpoint: proxy.endpoint } })], env);
    proxy.setFault(undefined);
    expect(r.code).toBe(1);
    expect(lastNotification().text).toMatch(/FAILED at upload/);
    expect(temporaries()).toEqual([]);
  });
});

describe("config check", () => {
  it("names a misspelt key and suggests the right one", async () => {
    const path = join(dir, "misspelt.json");
    writeFileSync(path, JSON.stringify({ source: { url: "postgresql://u:p@127.0.0.1/db" }, store: { url: "file:///tmp/x" }, retension: { keepLast: 3 } }));
    const r = await runCli(["config", "check", "--config", path], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key "retension"; did you mean "retention"?');
  });

  it("says what to fix for a missing credential and an unreachable bucket, and prints no secret", async () => {
    const pg15 = cluster(15);
    const secretUrl = pg15.url("postgres");
    const password = new URL(secretUrl).password;
    const noCreds = { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_PROFILE: "", AWS_SHARED_CREDENTIALS_FILE: join(dir, "none"), AWS_CONFIG_FILE: join(dir, "none"), AWS_EC2_METADATA_DISABLED: "true", AWS_REGION: "us-east-1" };
    const path = config("check-creds", { source: { url: secretUrl } });
    const missing = await runCli(["config", "check", "--config", path], noCreds);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toMatch(/FAILED store: no AWS credentials for the store: set store.profile, AWS_PROFILE, or AWS_ACCESS_KEY_ID/);
    expect(missing.stdout).toMatch(/ok +source: PostgreSQL 15/);

    const unreachable = await runCli(["config", "check", "--config", config("check-down", { source: { url: secretUrl }, store: { url: `s3://${s3.bucket}/x`, endpoint: "http://127.0.0.1:9" } })], env);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stdout).toMatch(/FAILED store: cannot reach the store: check the endpoint/);

    for (const out of [missing, unreachable]) {
      const text = out.stdout + out.stderr;
      expect(text).not.toContain(password);
      expect(text).not.toContain("SECRET-TOKEN");
      expect(text).not.toContain("/ping/abc");
    }
  });
});
