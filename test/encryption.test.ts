/**
 * Issue 4, acceptance 3: an encrypted backup's objects are age files (the library and the stock
 * `age` tool decrypt them to COPY text); restore works with the right identity and fails closed,
 * with a clear message and the target untouched, with a wrong or missing one.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { zstdDecompressSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { decryptedStream, generateX25519Identity, identityToRecipient } from "@cobalt-backup/core";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest } from "./support/oracle.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
});
afterAll(() => s3?.stop());

const keyFile = (dir: string, name: string, identity: string) => {
  const path = join(dir, name);
  writeFileSync(path, `# created by the test\n${identity}\n`);
  return path;
};

it("encrypts every object for the recipient, restores with its identity, and fails closed without it", async () => {
  const pg15 = cluster(15);
  const source = await pg15.newDatabase("enc", "pagila_tpl");
  const dir = mkdtempSync(join(tmpdir(), "cobalt-age-"));
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const right = keyFile(dir, "right.txt", identity);
  const wrong = keyFile(dir, "wrong.txt", await generateX25519Identity());
  const dest = `s3://${s3.bucket}/encrypted`;
  const flags = ["--endpoint", s3.endpoint];

  const b = await runCli(["backup", "--source", pg15.url(source), "--dest", dest, "--recipient", recipient, ...flags, "--json"], s3.env);
  expect(b.code, b.stderr).toBe(0);

  // In the bucket: every object but the manifest and the unit bookkeeping (the plan, the units
  // list, the markers: names, sizes and digests, as the manifest holds) is an age file.
  const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: "encrypted/" }));
  const keys = (listed.Contents ?? []).map((o) => o.Key!);
  const get = async (key: string) => Buffer.from(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToByteArray());
  const manifestKey = keys.find((k) => k.endsWith("/manifest.json"))!;
  const manifest = JSON.parse((await get(manifestKey)).toString());
  expect(manifest.encryption).toEqual({ format: "age", recipients: [recipient], passphrase: false });
  expect(JSON.stringify(manifest)).not.toContain("AGE-SECRET-KEY");
  const bookkeeping = (k: string) => k === manifestKey || /\/(plan|units)\.json$|\/units\/\d+\.json$/.test(k);
  // A live backup keeps its unit markers in memory: the plan, the units list and the manifest.
  expect(keys.filter(bookkeeping).map((k) => k.split("/").pop()).sort()).toEqual(["manifest.json", "plan.json", "units.json"]);
  for (const k of keys.filter(bookkeeping)) {
    const text = (await get(k)).toString();
    expect(text).not.toContain("AGE-SECRET-KEY");
    expect(text).not.toContain("PENELOPE");
  }
  for (const k of keys.filter((k) => !bookkeeping(k))) {
    expect(k).toMatch(/\.age$/);
    expect((await get(k)).subarray(0, 21).toString()).toBe("age-encryption.org/v1");
  }

  // The actor table, decrypted with the library and with the stock age tool, is COPY text.
  const actor = manifest.tables.find((t: { table: string }) => t.table === "actor");
  const ciphertext = await get(`encrypted/${b.json!.id}/${actor.parts[0].key}`);
  const plain = Buffer.concat(await (await decryptedStream(Readable.from([ciphertext]), { identities: [identity] })).toArray());
  expect(zstdDecompressSync(plain).toString()).toContain("PENELOPE\tGUINESS");
  const file = join(dir, "actor.age");
  writeFileSync(file, ciphertext);
  const byAge = execFileSync("sh", ["-c", `age -d -i ${right} ${file} | zstd -dc`], { encoding: "utf8" });
  expect(byAge).toContain("PENELOPE\tGUINESS");

  const relations = (db: string) => pg15.query(db, `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'`);
  for (const [label, extra, message] of [
    ["missing", [], /is encrypted for age1.*pass --identity/],
    ["wrong", ["--identity", wrong], /cannot decrypt schema\.json\.zst\.age .*encrypted for age1/],
  ] as const) {
    const target = await pg15.newDatabase(`enc_${label}`);
    const r = await runCli(["restore", "--from", dest, "--backup", "latest", "--target", pg15.url(target), ...extra, ...flags], s3.env);
    expect(r.code, label).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(await relations(target)).toEqual([{ n: 0 }]);
  }

  const target = await pg15.newDatabase("enc_right");
  const ok = await runCli(["restore", "--from", dest, "--backup", "latest", "--target", pg15.url(target), "--identity", right, ...flags, "--json"], s3.env);
  expect(ok.code, ok.stderr).toBe(0);
  expect(await dataDigest(pg15.url(target))).toEqual(await dataDigest(pg15.url(source)));
  const v = await runCli(["verify", "--from", dest, "--target", pg15.url(), "--identity", right, ...flags, "--json"], s3.env);
  expect(v.code, v.stderr).toBe(0);
});
