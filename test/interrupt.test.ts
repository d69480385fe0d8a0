/**
 * Issue 10, acceptance 2: a backup interrupted in its data phase by SIGINT or SIGTERM, on file://
 * and on s3rver, aborts its uploads, deletes what it wrote, says so in one line and exits 130/143:
 * nothing of it remains (objects, multipart uploads and their parts, temporary files). After
 * SIGKILL the leftovers are there, and `prune --grace-hours 0` removes all of them; on S3 the
 * ListMultipartUploads and AbortMultipartUpload calls are seen through the proxy.
 */
import { existsSync, mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, startCli, type CliRun } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

let s3: S3Server;
let proxy: FaultProxy;
let source: string;
beforeAll(async () => {
  [s3] = await Promise.all([startS3()]);
  proxy = await startFaultProxy(s3.endpoint);
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("interrupt");
  // One table that compresses to more than one 8 MiB part (so S3 gets a multipart upload), copied first.
  await pg15.query(db, `CREATE TABLE blobs (id int PRIMARY KEY, v text);
    INSERT INTO blobs SELECT g, (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 8) i) FROM generate_series(1, 120000) g;
    CREATE TABLE small AS SELECT g AS id FROM generate_series(1, 100) g; ANALYZE;`);
  source = pg15.url(db);
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

/** Polls (never a fixed sleep) until `check` holds, failing if the CLI exits first. */
async function until(what: string, check: () => boolean | Promise<boolean>, exited: () => boolean): Promise<void> {
  while (!(await check())) {
    if (exited()) throw new Error(`the backup exited before: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every entry (files and directories, hidden ones too) under `dir`. */
const entriesUnder = (dir: string): string[] => (existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).map((p) => p.split(sep).join("/")).sort() : []);

const code = { SIGINT: 130, SIGTERM: 143 } as const;

/** The one error line, naming the signal and that what was written was deleted; the rest are JSON events. */
function expectOneLine(r: CliRun, signal: string): void {
  const lines = r.stderr.trim().split("\n");
  const errors = lines.filter((l) => l.startsWith("cobalt-backup: error: "));
  expect(errors, r.stderr).toEqual([expect.stringMatching(new RegExp(`interrupted by ${signal}: what the backup had written was deleted`))]);
  expect(lines[lines.length - 1]).toBe(errors[0]);
  for (const l of lines.slice(0, -1)) expect(() => JSON.parse(l), l).not.toThrow();
}

describe("file://", () => {
  /**
   * Starts a backup and waits until the big table streams into a temporary file (and, with
   * `planned`, until the plan is stored too: the big table starts before the rest of the schema is read).
   */
  async function interruptedBackup(dest: string, planned = false) {
    const run = startCli(["backup", "--source", source, "--dest", pathToFileURL(dest).href, "--json"]);
    let exited = false;
    void run.done.then(() => (exited = true));
    // blobs, created first, is data/0001: its COPY takes a while, so it is still streaming when the signal comes.
    const partial = () => entriesUnder(dest).some((e) => /\/data\/0001\.copy\.zst\.partial-/.test(e) && statSync(join(dest, e), { throwIfNoEntry: false })?.size! > 0);
    const plan = () => !planned || entriesUnder(dest).some((e) => e.endsWith("/plan.json"));
    await until("the big table streams into its .partial- file", () => partial() && plan(), () => exited);
    return run;
  }

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: uploads stop, what was written is deleted, ${code[signal]}`, async () => {
      const dest = join(mkdtempSync(join(tmpdir(), "cobalt-int-")), "store");
      const { child, done } = await interruptedBackup(dest);
      child.kill(signal);
      const r = await done;
      expect(r.code, r.stderr).toBe(code[signal]);
      expectOneLine(r, signal);
      expect(r.json).toMatchObject({ ok: false, error: { tag: "Interrupted" } });
      expect(entriesUnder(dest)).toEqual([]);
    });
  }

  it("SIGKILL: leftovers stay, and prune --grace-hours 0 removes them all", async () => {
    const dest = join(mkdtempSync(join(tmpdir(), "cobalt-int-")), "store");
    const { child, done } = await interruptedBackup(dest, true);
    child.kill("SIGKILL");
    await done;
    const left = entriesUnder(dest);
    expect(left.some((e) => e.endsWith("/schema.json.zst"))).toBe(true);
    expect(left.some((e) => e.includes(".partial-"))).toBe(true);
    const list = await runCli(["list", "--from", dest, "--json"]);
    expect(list.json!.backups).toEqual([]);

    const pruned = await runCli(["prune", "--from", dest, "--grace-hours", "0", "--json"]);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(pruned.json!.decisions.map((d: { action: string }) => d.action)).toEqual(["remove"]);
    expect(pruned.json!.unfinished.some((u: { key: string; action: string }) => u.key.includes(".partial-") && u.action === "remove")).toBe(true);
    expect(entriesUnder(dest)).toEqual([]);
  });
});

describe("s3:// (s3rver, through the proxy)", () => {
  const isPart = (r: { method: string; url: string }) => r.method === "PUT" && /[?&]partNumber=/.test(r.url);
  const uploadId = (url: string) => new URL(url, "http://x").searchParams.get("uploadId");
  const objects = async (prefix: string) => ((await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}/` }))).Contents ?? []).map((o) => o.Key);

  /**
   * Starts a backup and holds the response to its first part upload: the part is stored, the
   * client waits, deterministically mid-upload (with `planned`, also until the plan is stored).
   */
  async function interruptedBackup(prefix: string, planned = false) {
    proxy.requests.length = 0;
    let first = true;
    proxy.setFault((r) => (isPart(r) && first ? ((first = false), "hold") : undefined));
    const run = startCli(["backup", "--source", source, "--dest", `s3://${s3.bucket}/${prefix}`, "--endpoint", proxy.endpoint, "--json"], s3.env);
    let exited = false;
    void run.done.then(() => (exited = true));
    await until("a part was stored and its upload is in flight", () => proxy.held() > 0, () => exited);
    if (planned) await until("the plan is stored", async () => (await objects(prefix)).some((k) => k?.endsWith("/plan.json")), () => exited);
    // One upload under way with a part stored (a second part may have gone through beside the held one).
    const pending = s3.pendingUploads();
    expect(pending).toEqual([expect.objectContaining({ key: expect.stringMatching(new RegExp(`^${prefix}/.*/data/0001\\.copy\\.zst$`)) })]);
    expect(pending[0]!.parts).toBeGreaterThanOrEqual(1);
    return run;
  }

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal}: the upload under way is aborted (or, fully read, completed) and everything written is deleted, ${code[signal]}`, async () => {
      const prefix = `int-${signal.toLowerCase()}`;
      const { child, done } = await interruptedBackup(prefix);
      const started = s3.pendingUploads().map((u) => u.uploadId);
      child.kill(signal);
      proxy.release();
      const r = await done;
      proxy.setFault(undefined);
      expect(r.code, r.stderr).toBe(code[signal]);
      expectOneLine(r, signal);
      // As S3 saw it: AbortMultipartUpload for the upload under way, or, when its whole body had
      // already been read into the upload's buffers, CompleteMultipartUpload and then the deletion
      // of everything written. Either way no parts and no objects remain.
      const aborted = proxy.requests.filter((q) => q.method === "DELETE" && uploadId(q.url)).map((q) => uploadId(q.url));
      const completed = proxy.requests.filter((q) => q.method === "POST" && uploadId(q.url)).map((q) => uploadId(q.url));
      expect(started.every((id) => aborted.includes(id) || completed.includes(id))).toBe(true);
      expect(s3.pendingUploads()).toEqual([]);
      expect(await objects(prefix)).toEqual([]);
    });
  }

  it("SIGKILL: the upload and its parts stay, and prune --grace-hours 0 aborts it and removes the rest", async () => {
    const prefix = "int-sigkill";
    const { child, done } = await interruptedBackup(prefix, true);
    child.kill("SIGKILL");
    await done;
    proxy.release();
    proxy.setFault(undefined);
    const stranded = s3.pendingUploads();
    expect(stranded).toHaveLength(1);
    expect(await objects(prefix)).toEqual(expect.arrayContaining([expect.stringMatching(/\/schema\.json\.zst$/)]));

    proxy.requests.length = 0;
    const pruned = await runCli(["prune", "--from", `s3://${s3.bucket}/${prefix}`, "--endpoint", proxy.endpoint, "--grace-hours", "0", "--json"], s3.env);
    expect(pruned.code, pruned.stderr).toBe(0);
    // ListMultipartUploads under the store's prefix, then AbortMultipartUpload for the stranded upload.
    expect(proxy.requests.some((q) => q.method === "GET" && /[?&]uploads(=|&|$)/.test(q.url) && q.url.includes(`prefix=${prefix}`))).toBe(true);
    expect(proxy.requests.filter((q) => q.method === "DELETE" && uploadId(q.url)).map((q) => uploadId(q.url))).toEqual([stranded[0]!.uploadId]);
    expect(s3.pendingUploads()).toEqual([]);
    expect(await objects(prefix)).toEqual([]);
  });
});
