/**
 * Issue 14, point 3 and acceptance 3: `check` finds what is wrong in the store without restoring.
 * In a store of five backups (one table in parts, large objects), one object deleted from the
 * oldest and one byte flipped in the second: `check --all --read-data` names both backups and
 * objects and exits 3, and passes the three healthy ones, on s3rver and on a directory. Without
 * --read-data only the missing object is found (the flip keeps the size). A files backup is
 * checked alike. `run` with a `check` key checks the older backups, fails with 3 and notifies.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { startRecorder, type Recorder } from "./support/recorder.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

const root = mkdtempSync(join(tmpdir(), "cobalt-check-"));
const dir = join(root, "five");
const storeUrl = pathToFileURL(dir).href;
let s3: S3Server;
let webhook: Recorder;
let sourceUrl: string;
const ids: string[] = [];
let deleted: string;
let flipped: string;

const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : [join(d, e.name)]));

/** The directory store's objects, as they are, under `prefix` of the bucket. */
async function copyToS3(prefix: string): Promise<void> {
  for (const f of files(dir)) await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${relative(dir, f)}`, Body: readFileSync(f) }));
}

beforeAll(async () => {
  [s3, webhook] = await Promise.all([startS3(), startRecorder()]);
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("checks");
  await pg15.query(db, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g; SELECT lo_from_bytea(0, 'a large object'::bytea);`);
  sourceUrl = pg15.url(db);
  for (let i = 0; i < 5; i++) {
    const r = await runCli(["backup", "--source", sourceUrl, "--dest", storeUrl, "--split-larger-than", "64KiB", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    ids.push(r.json!.id);
  }
  const manifest = (id: string) => JSON.parse(readFileSync(join(dir, id, "manifest.json"), "utf8"));
  const parts = manifest(ids[0]!).tables[0].parts;
  expect(parts.length).toBeGreaterThan(1);
  expect(manifest(ids[0]!).largeObjects).not.toBeNull();
  // The oldest loses a table part; the second has one byte flipped in another (same size).
  deleted = parts[1].key;
  rmSync(join(dir, ids[0]!, deleted));
  flipped = manifest(ids[1]!).tables[0].parts[0].key;
  const file = join(dir, ids[1]!, flipped);
  const bytes = readFileSync(file);
  bytes[bytes.length >> 1]! ^= 0x01;
  writeFileSync(file, bytes);
  await Promise.all([copyToS3("five"), copyToS3("nightly")]);
}, 180_000);
afterAll(async () => {
  await webhook?.stop();
  await s3?.stop();
});

const damagedIds = (report: { backups: { id: string; ok: boolean }[] }) => report.backups.filter((b) => !b.ok).map((b) => b.id);

describe("check", () => {
  it("--all --read-data on s3rver names the deleted and the flipped object, exits 3 and passes the three healthy backups", async () => {
    const r = await runCli(["check", "--from", `s3://${s3.bucket}/five`, "--endpoint", s3.endpoint, "--all", "--read-data", "--json"], s3.env);
    expect(r.code, r.stderr).toBe(3);
    const report = r.json!.error.report;
    expect(report.backups.map((b: { id: string }) => b.id)).toEqual(ids);
    expect(damagedIds(report)).toEqual([ids[0], ids[1]]);
    expect(report.backups[0].damage).toEqual([expect.objectContaining({ key: deleted, problem: "missing" })]);
    expect(report.backups[1].damage).toEqual([expect.objectContaining({ key: flipped, problem: "sha256" })]);
    for (const b of report.backups.slice(2)) expect(b).toMatchObject({ ok: true, damage: [] });
    // Every object of the healthy backups was read back.
    for (const b of report.backups.slice(2)) expect(b.objectsRead).toBe(b.objects);
    expect(r.stderr).toContain(`backup ${ids[0]}: object ${deleted} is missing`);
    expect(r.stderr).toContain(`backup ${ids[1]}: object ${flipped} has sha256`);
  });

  it("on a directory: sizes alone find the deleted object only; --read-data finds both; a healthy backup alone passes; list shows the damaged as FAILED", async () => {
    const sizes = await runCli(["check", "--from", storeUrl, "--json"]);
    expect(sizes.code, sizes.stderr).toBe(3);
    expect(damagedIds(sizes.json!.error.report)).toEqual([ids[0]]);

    const read = await runCli(["check", "--from", storeUrl, "--all", "--read-data"]);
    expect(read.code, read.stderr).toBe(3);
    const rows = read.stdout.split("\n").filter((l) => ids.some((id) => l.startsWith(id)));
    expect(rows.map((l) => l.trim().split(/\s+/).pop())).toEqual(["DAMAGED", "DAMAGED", "ok", "ok", "ok"]);
    expect(read.stdout).toContain(`damaged: backup ${ids[1]}: object ${flipped} has sha256`);

    const healthy = await runCli(["check", "--from", storeUrl, "--backup", ids[2]!, "--read-data-subset", "50%", "--json"]);
    expect(healthy.code, healthy.stderr).toBe(0);
    expect(healthy.json!.report.backups[0]).toMatchObject({ id: ids[2], ok: true });
    expect(healthy.json!.report.backups[0].objectsRead).toBeGreaterThan(0);

    const list = await runCli(["list", "--from", storeUrl, "--json"]);
    expect(list.json!.backups.map((b: { verification: string }) => b.verification)).toEqual(["failed", "failed", "never", "never", "never"]);
  });

  it("a files backup: its archive's size, and with --read-data its sha256", async () => {
    const media = join(root, "media");
    mkdirSync(join(media, "a"), { recursive: true });
    writeFileSync(join(media, "a/photo.raw"), Buffer.alloc(200_000, 7));
    const dest = join(root, "media-store");
    const b = await runCli(["backup-files", "--dir", media, "--dest", pathToFileURL(dest).href, "--json"]);
    expect(b.code, b.stderr).toBe(0);
    const archive = files(dest).find((f) => /files\.tar/.test(f))!;
    const bytes = readFileSync(archive);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(archive, bytes);
    expect((await runCli(["check", "--from", pathToFileURL(dest).href])).code).toBe(0);
    const r = await runCli(["check", "--from", pathToFileURL(dest).href, "--read-data"]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain(`backup ${b.json!.id}: object ${relative(join(dest, b.json!.id), archive)} has sha256`);
  });

  it("refuses --backup with --all and a percentage out of range", async () => {
    expect((await runCli(["check", "--from", storeUrl, "--all", "--backup", "latest"])).code).toBe(2);
    expect((await runCli(["check", "--from", storeUrl, "--read-data-subset", "0%"])).code).toBe(2);
  });
});

describe("run checks older backups", () => {
  it("fails with 3 naming the damaged backups and objects and notifies; the next run checks only what is due", async () => {
    const path = join(root, "nightly.json");
    writeFileSync(
      path,
      JSON.stringify({
        source: { url: sourceUrl },
        store: { url: `s3://${s3.bucket}/nightly`, endpoint: s3.endpoint },
        verify: { enabled: false },
        check: { backups: 5, readData: true },
        notify: { webhook: `${webhook.url}/hook` },
      }),
    );
    const first = await runCli(["run", "--config", path, "--json"], s3.env);
    expect(first.code, first.stderr).toBe(3);
    const report = first.json!.error.report;
    expect(report.stages.map((s: { stage: string; status: string }) => `${s.stage}:${s.status}`)).toEqual(["dump:ok", "verify:skipped", "check:failed"]);
    expect(report.failedStage).toBe("check");
    expect(report.check.checked).toEqual(ids);
    expect(report.check.damaged.map((d: { id: string }) => d.id)).toEqual([ids[0], ids[1]]);
    const sent = JSON.parse(webhook.received.at(-1)!.body).text as string;
    expect(sent).toContain(`backup ${ids[0]}: object ${deleted} is missing`);
    expect(sent).toContain(`backup ${ids[1]}: object ${flipped} has sha256`);

    // The five were checked just now; only the backup the first run made is due.
    const second = await runCli(["run", "--config", path, "--json"], s3.env);
    expect(second.code, second.stderr).toBe(0);
    expect(second.json!.report.check).toMatchObject({ checked: [report.id], damaged: [] });
  });
});
