/**
 * Issue 16, point 4: the runbook hands out a read-only bucket key, and verify writes
 * verified.json. With a store that refuses every write (AccessDenied, through the fault proxy
 * in front of s3rver), verify still reports its verdict and exits by it: 0 for an identical
 * restore, 3 for a different one, saying that it could not record the verdict.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

let s3: S3Server;
let proxy: FaultProxy;
const PREFIX = "readonly";
let id: string;
const c = () => cluster(15);

beforeAll(async () => {
  s3 = await startS3();
  proxy = await startFaultProxy(s3.endpoint);
  const db = await c().newDatabase("verify_ro");
  await c().query(db, "CREATE TABLE public.t (id int PRIMARY KEY, v text); INSERT INTO public.t SELECT i, md5(i::text) FROM generate_series(1, 300) i");
  const b = await runCli(["backup", "--source", c().url(db), "--dest", `s3://${s3.bucket}/${PREFIX}`, "--endpoint", s3.endpoint, "--json"], s3.env);
  expect(b.code, b.stderr).toBe(0);
  id = b.json!.id;
  // From now on the key can read and list, never write.
  proxy.setFault((r) => (r.method === "PUT" || r.method === "POST" || r.method === "DELETE" ? "403" : undefined));
});
afterAll(async () => {
  await proxy?.stop();
  await s3?.stop();
});

const keys = async () => ((await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: PREFIX }))).Contents ?? []).map((o) => o.Key!);
const verify = (extra: string[] = []) => runCli(["verify", "--from", `s3://${s3.bucket}/${PREFIX}`, "--backup", id, "--endpoint", proxy.endpoint, "--target", c().url(), ...extra], s3.env);

it("an identical restore: verdict reported, exit 0, and a warning that verified.json could not be written", async () => {
  const r = await verify();
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^verified ${id}: 1 tables, 300 rows`, "m"));
  expect(r.stderr).toMatch(/warning: could not record the verdict as verified\.json in s3:\/\/.*\(a read-only key\?\): .*Access ?Denied.*the verdict stands/i);
  // The write was tried, refused, and nothing was written.
  expect(proxy.requests.some((q) => q.method === "PUT" && q.url.includes("verified.json"))).toBe(true);
  expect((await keys()).some((k) => k.endsWith("verified.json"))).toBe(false);

  const j = await verify(["--json"]);
  expect(j.code, j.stderr).toBe(0);
  expect(j.json).toMatchObject({ ok: true, recorded: false, recordError: expect.stringMatching(/denied/i), report: { ok: true } });
});

it("a different restore: verdict reported, exit 3, nothing written", async () => {
  // The manifest says one row more than the data holds (written past the proxy, as the backup's owner).
  const key = `${PREFIX}/${id}/manifest.json`;
  const manifest = JSON.parse(await (await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToString());
  manifest.tables[0].rows += 1;
  await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: JSON.stringify(manifest) }));

  const r = await verify();
  expect(r.code, r.stderr).toBe(3);
  expect(r.stdout).toMatch(/DIFFERENT/);
  expect(r.stderr).toMatch(/verification of .* FAILED/);
  expect((await keys()).some((k) => k.endsWith("verified.json"))).toBe(false);
});
