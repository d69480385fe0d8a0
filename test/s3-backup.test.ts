/**
 * Issue 4, acceptance 1: pagila backed up to s3:// on a real S3 HTTP server (s3rver), listed,
 * verified and restored, indistinguishable from the source.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.stop());

it("backs up pagila to s3://, lists, verifies and restores it identically", async () => {
  const pg15 = cluster(15);
  const source = await pg15.newDatabase("s3src", "pagila_tpl");
  const dest = `s3://${s3.bucket}/nightly/prod`;
  const s3Flags = ["--endpoint", s3.endpoint];
  const b = await runCli(["backup", "--source", pg15.url(source), "--dest", dest, ...s3Flags, "--json"], s3.env);
  expect(b.code, b.stderr).toBe(0);
  const id = b.json!.id as string;

  const list = await runCli(["list", "--from", dest, ...s3Flags, "--json"], s3.env);
  expect(list.json!.backups).toEqual([expect.objectContaining({ id, tables: 21, verified: false })]);

  const v = await runCli(["verify", "--from", dest, "--backup", "latest", "--target", pg15.url(), ...s3Flags, "--json"], s3.env);
  expect(v.code, v.stderr).toBe(0);
  expect(v.json!.report.ok).toBe(true);
  const listed = await runCli(["list", "--from", dest, ...s3Flags, "--json"], s3.env);
  expect(listed.json!.backups[0].verified).toBe(true);

  const target = await pg15.newDatabase("s3dst");
  const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", pg15.url(target), ...s3Flags, "--json"], s3.env);
  expect(r.code, r.stderr).toBe(0);
  expect(pgDumpSchema(pg15.url(target))).toEqual(pgDumpSchema(pg15.url(source)));
  expect(await dataDigest(pg15.url(target))).toEqual(await dataDigest(pg15.url(source)));
});

it("takes credentials from a named profile (--profile), as the operators' scripts do", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cobalt-aws-"));
  const file = join(dir, "credentials");
  writeFileSync(file, "[backblaze]\naws_access_key_id = S3RVER\naws_secret_access_key = S3RVER\n[wrong]\naws_access_key_id = NOPE\naws_secret_access_key = NOPE\n");
  const env = { AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: join(dir, "config"), AWS_REGION: "us-east-1", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" };
  // Its own backup, written and listed with the profile's credentials: a small files backup needs no database.
  const dest = `s3://${s3.bucket}/profile-test`;
  const media = mkdtempSync(join(tmpdir(), "cobalt-profile-media-"));
  writeFileSync(join(media, "a.txt"), "written with the profile's credentials\n");
  const made = await runCli(["backup-files", "--dir", media, "--dest", dest, "--name", "media", "--endpoint", s3.endpoint, "--profile", "backblaze", "--json"], env);
  expect(made.code, made.stderr).toBe(0);
  const ok = await runCli(["list", "--from", dest, "--endpoint", s3.endpoint, "--profile", "backblaze", "--json"], env);
  expect(ok.code, ok.stderr).toBe(0);
  expect(ok.json!.backups).toEqual([expect.objectContaining({ id: made.json!.id, kind: "files" })]);
  const bad = await runCli(["list", "--from", dest, "--endpoint", s3.endpoint, "--profile", "wrong", "--json"], env);
  // Refused credentials are the configuration's to fix: exit 2.
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/cobalt-backup: error: .*(InvalidAccessKeyId|AWS Access Key Id)/);
});
