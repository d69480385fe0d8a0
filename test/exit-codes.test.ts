/**
 * Issue 10, point 7 and acceptance 5: every exit code means one thing, each is produced here by
 * the real CLI in the situation it stands for, and the README lists exactly the codes checked
 * here (and defined in packages/cli/src/exit-codes.ts). A wrong age identity and a scratch disk
 * too small are input problems (2), never "the backup is bad" (3).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateX25519Identity, identityToRecipient } from "@cobalt-backup/core";
import { freePort } from "../packages/cli/src/adapters/embedded-postgres.ts";
import { EXIT } from "../packages/cli/src/exit-codes.ts";
import { runCli, startCli, type CliRun } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { repoRoot } from "./support/corpus.ts";
import { startFaultProxy, type FaultProxy } from "./support/fault-proxy.ts";
import { startRdsEmulator, type RdsEmulator } from "./support/rds-emulator/index.ts";
import { startRecorder, type Recorder } from "./support/recorder.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

const root = mkdtempSync(join(tmpdir(), "cobalt-exit-"));
let dirs = 0;
const store = () => pathToFileURL(join(root, `store-${++dirs}`)).href;
let sourceUrl: string;
let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3();
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("exitcodes");
  await pg15.query(db, `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 2000) g;`);
  sourceUrl = pg15.url(db);
});
afterAll(() => s3?.stop());

/** The codes the tests below saw, each in the situation it stands for. */
const checked = new Set<number>();
function expectExit(r: CliRun, code: number): void {
  expect(r.code, r.stderr).toBe(code);
  checked.add(code);
}

async function backupTo(dest: string, extra: string[] = []): Promise<string> {
  const r = await runCli(["backup", "--source", sourceUrl, "--dest", dest, "--json", ...extra]);
  expectExit(r, EXIT.ok);
  return r.json!.id;
}

describe("0 success, 1 failed at run time", () => {
  it("0: a backup that completes", async () => {
    await backupTo(store());
  });

  it("1: a backup that fails while it runs (an object kind it cannot reproduce)", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("exitcodes_op");
    await pg15.query(db, `CREATE FUNCTION f(int, int) RETURNS boolean LANGUAGE sql AS 'SELECT true'; CREATE OPERATOR public.<~> (LEFTARG = int, RIGHTARG = int, FUNCTION = f)`);
    expectExit(await runCli(["backup", "--source", pg15.url(db), "--dest", store()]), EXIT.failed);
  });
});

describe("2: usage, configuration or unreachable input", () => {
  it("a wrong password, a wrong port, a missing database", async () => {
    const u = new URL(sourceUrl);
    const wrongPassword = sourceUrl.replace(`:${u.password}@`, ":not-the-password@");
    const wrongPort = sourceUrl.replace(`:${u.port}/`, `:${await freePort()}/`);
    const noDatabase = sourceUrl.replace(/\/[^/]+$/, "/no_such_database");
    for (const url of [wrongPassword, wrongPort, noDatabase]) {
      const r = await runCli(["backup", "--source", url, "--dest", store()]);
      expectExit(r, EXIT.usage);
    }
  });

  it("a bucket name with a typo, for backup and for list", async () => {
    const typo = `s3://${s3.bucket}-typo/prod`;
    const b = await runCli(["backup", "--source", sourceUrl, "--dest", typo, "--endpoint", s3.endpoint], s3.env);
    expectExit(b, EXIT.usage);
    expect(b.stderr).toMatch(/NoSuchBucket|does not exist/);
    const l = await runCli(["list", "--from", typo, "--endpoint", s3.endpoint], s3.env);
    expectExit(l, EXIT.usage);
    // The error names what it was doing, never an empty object key.
    expect(l.stderr).toMatch(/cobalt-backup: error: listing in s3:\/\/cobalt-test-typo\/prod\/: .*check the bucket name/);
    expect(l.stderr).not.toMatch(/error: {2}in /);
  });

  it("an unknown flag, an unknown backup id", async () => {
    expectExit(await runCli(["backup", "--no-such-flag"]), EXIT.usage);
    expectExit(await runCli(["verify", "--from", store(), "--backup", "db/20000101T000000.000Z"]), EXIT.usage);
  });

  it("a wrong or missing age identity is not a bad backup", async () => {
    const dest = store();
    const identity = await generateX25519Identity();
    await backupTo(dest, ["--recipient", await identityToRecipient(identity)]);
    const wrong = join(root, "wrong-key.txt");
    writeFileSync(wrong, `${await generateX25519Identity()}\n`);
    const target = ["--target", cluster(15).url()];
    const w = await runCli(["verify", "--from", dest, "--identity", wrong, ...target]);
    expectExit(w, EXIT.usage);
    expect(w.stderr).toMatch(/cannot decrypt/);
    expectExit(await runCli(["verify", "--from", dest, ...target]), EXIT.usage);
  });

  it("a scratch disk too small is not a bad backup", async () => {
    const dest = store();
    const id = await backupTo(dest);
    // The manifest says the restore needs far more than any disk here has.
    const manifestPath = join(root, `store-${dirs}`, ...id.split("/"), "manifest.json");
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    manifest.source.databaseBytes = 1e15;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const r = await runCli(["verify", "--from", dest, "--scratch-dir", root]);
    expectExit(r, EXIT.usage);
  });
});

describe("3: the backup is proven bad", () => {
  it("verify finds an object corrupt", async () => {
    const dest = store();
    const id = await backupTo(dest);
    const manifest = JSON.parse(readFileSync(join(root, `store-${dirs}`, ...id.split("/"), "manifest.json"), "utf8"));
    const file = join(root, `store-${dirs}`, ...id.split("/"), manifest.tables[0].parts[0].key);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);
    expectExit(await runCli(["verify", "--from", dest, "--target", cluster(15).url()]), EXIT.backupBad);
  });

  it("check finds an object missing", async () => {
    const dest = store();
    const id = await backupTo(dest);
    const manifest = JSON.parse(readFileSync(join(root, `store-${dirs}`, ...id.split("/"), "manifest.json"), "utf8"));
    rmSync(join(root, `store-${dirs}`, ...id.split("/"), manifest.schema.key));
    const r = await runCli(["check", "--from", dest]);
    expectExit(r, EXIT.backupBad);
    expect(r.stderr).toContain(`backup ${id}: object ${manifest.schema.key} is missing`);
  });
});

describe("4: the temporary RDS instance could not be deleted", () => {
  let emu: RdsEmulator;
  beforeAll(async () => {
    emu = await startRdsEmulator();
    const src = await emu.createSourceInstance({ id: "exit-blue", dbName: "app" });
    const { queryOnce } = await import("./support/pg-query.ts");
    await queryOnce(src.url("app"), "CREATE TABLE t AS SELECT 1 AS id");
    await emu.createAutomatedSnapshot("exit-blue", { createTime: new Date(Date.now() - 3_600_000) });
  }, 120_000);
  afterAll(() => emu?.stop());

  it("backup --rds-instance whose DeleteDBInstance is refused", async () => {
    // As when the IAM policy lacks rds:DeleteDBInstance.
    emu.faults.fail("DeleteDBInstance", "AccessDenied", { status: 403, times: 100, message: "User is not authorized to perform: rds:DeleteDBInstance" });
    const env = { AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "x", AWS_REGION: "us-east-1", COBALT_RDS_POLL_MS: "100" };
    const r = await runCli(["backup", "--rds-instance", "exit-blue", "--dest", store(), "--rds-endpoint", emu.endpoint, "--rds-region", "us-east-1", "--tls", "disable"], env);
    emu.faults.clear();
    expectExit(r, EXIT.instanceLeft);
    expect(r.stderr).toMatch(/cobalt-backup: error: backup \S+ is complete, but deleting temporary instance cobalt-tmp-exit-blue failed/);
  });
});

describe("5: done, but a notification could not be delivered", () => {
  let failing: Recorder;
  beforeAll(async () => {
    failing = await startRecorder({}, 503);
  });
  afterAll(() => failing?.stop());

  it("run whose webhook answers 503", async () => {
    const path = join(root, "notify.json");
    writeFileSync(path, JSON.stringify({ source: { url: sourceUrl }, store: { url: store() }, verify: { enabled: false }, notify: { webhook: `${failing.url}/hook` } }));
    expectExit(await runCli(["run", "--config", path]), EXIT.notifyFailed);
  });
});

describe("130, 143: interrupted, after deleting what was written", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(s3.endpoint);
  });
  afterAll(() => proxy?.stop());

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} while a table is being uploaded`, async () => {
      // The first data object's upload reaches the server; its answer is held, so the backup waits mid-upload.
      let first = true;
      proxy.setFault((q) => (q.method === "PUT" && q.url.includes("/data/") && first ? ((first = false), "hold") : undefined));
      const { child, done } = startCli(["backup", "--source", sourceUrl, "--dest", `s3://${s3.bucket}/${signal}`, "--endpoint", proxy.endpoint], s3.env);
      while (proxy.held() === 0) await new Promise((r) => setTimeout(r, 10));
      child.kill(signal);
      proxy.release();
      const r = await done;
      proxy.setFault(undefined);
      expectExit(r, signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm);
    });
  }
});

it("the README lists exactly the exit codes these tests check, which are the ones the CLI defines", () => {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Exit codes"), readme.indexOf("\n## ", readme.indexOf("## Exit codes") + 1));
  const documented = [...section.matchAll(/^\| ((?:`\d+`(?:, )?)+) \|/gm)].flatMap((m) => [...m[1]!.matchAll(/\d+/g)].map(Number));
  const sorted = (a: Iterable<number>) => [...new Set(a)].sort((x, y) => x - y);
  expect(sorted(documented)).toEqual([0, 1, 2, 3, 4, 5, 130, 143]);
  expect(sorted(checked)).toEqual(sorted(documented));
  expect(sorted(Object.values(EXIT))).toEqual(sorted(documented));
});
