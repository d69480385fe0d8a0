/**
 * Issue 13, acceptance 1 to 3: whole nightly runs of the real state machine definition (its local
 * variant) in aws-local-stepfunctions, every Task bound to its real handler bundle in-process,
 * against the RDS emulator (pagila on PostgreSQL 15, restored from its snapshot), the Secrets
 * Manager emulator, s3rver (the store and the staging bucket) and recorders for the webhook and
 * SES. The only stand-in is the local Maps' item reader (`readingItems`: the items the real
 * handlers put in the staging bucket, read from there), and, where a test says so, a fault
 * injected in front of the real DumpUnit handler.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { POST_DATA_STEP, restoreBackup, scratchDatabase, type DumpPlan, type Manifest, type Verification } from "@cobalt-backup/core";
import { s3Store } from "@cobalt-backup/core/s3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cluster } from "./support/cluster.ts";
import { loadCorpus } from "./support/corpus.ts";
import { loadHandlers, NamedError, readingItems, runExecution, type Execution, type TaskHandler } from "./support/local-execution.ts";
import { dataDigest, pgDumpSchema, type DataDigest } from "./support/oracle.ts";
import { queryOnce } from "./support/pg-query.ts";
import { startLambdaWorld, useFunctionEnvironment, type LambdaWorld } from "./support/lambda-world.ts";

const STAGING = "cobalt-staging-test";
/** Small enough that pagila's rental table (about 1.2 MB of heap) is split into at least four chunks. */
const SPLIT = 256 * 1024;
const pg15 = cluster(15);

let handlers: Record<string, TaskHandler>;
let sourceUrl: string;
let snapshotId: string;
let asOfSnapshot: DataDigest;
let asOfSnapshotSchema: string;
/** The backup the nightly run made (the scratch-server test verifies it again). */
let nightlyId: string | undefined;

const readJson = async <T,>(bucket: string, key: string): Promise<T> => JSON.parse(await (await world.s3.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString()) as T;
const stored = async (prefix: string) => ((await world.s3.client.send(new ListObjectsV2Command({ Bucket: world.s3.bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key!);
let world: LambdaWorld;
const webhookTexts = () => world.webhookTexts();
const callsOf = (x: Execution, state: string) => x.calls.filter((c) => c.state === state);
/** The local Maps' item reader: the real handlers' output plus the items they put in the staging bucket. */
const itemReaders = () => {
  const read = (key: string) => readJson<unknown>(STAGING, key);
  return { Plan: readingItems(handlers.Plan!, read), PrepareVerify: readingItems(handlers.PrepareVerify!, read) };
};
const gone = (id: string) => world.gone(id);
const temporaries = () => world.temporaries();

beforeAll(async () => {
  world = await startLambdaWorld();
  await world.s3.client.send(new CreateBucketCommand({ Bucket: STAGING }));
  const src = await world.emu.createSourceInstance({ id: "production-green", masterPassword: "production-master-secret", dbName: "pagila" });
  sourceUrl = src.url("pagila");
  loadCorpus(sourceUrl, "pagila");
  // A large object too, so that the large-objects unit and its verification run.
  await queryOnce(sourceUrl, "SELECT pg_catalog.lo_from_bytea(0, convert_to(repeat('cobalt large object ', 5000), 'UTF8'))");
  snapshotId = (await world.emu.createAutomatedSnapshot("production-green", { createTime: new Date(Date.now() - 3_600_000) })).id;
  // Nothing writes to the source after the snapshot: the source is what the snapshot holds.
  asOfSnapshot = await dataDigest(sourceUrl);
  asOfSnapshotSchema = pgDumpSchema(sourceUrl);
  useFunctionEnvironment(world, {
    SOURCE_INSTANCE: "production-green",
    STAGING_BUCKET: STAGING,
    SPLIT_LARGER_THAN: String(SPLIT),
    // The emulator's servers have no TLS; RDS has (the default, require).
    DB_TLS: "disable",
  });
  handlers = await loadHandlers();
}, 180_000);
afterAll(() => world?.stop());

describe("a nightly run on Lambda and Step Functions (local execution of the real definition)", () => {
  it("backs up pagila from the snapshot in units (a table in four or more chunks, each its own invocation), verifies it in place, deletes the instance, stores the report and notifies; the backup restores identically", async () => {
    let scratchLeft: string[] | undefined;
    const x = await runExecution(handlers, {}, {
      name: "nightly",
      bind: {
        ...itemReaders(),
        // After the real FinishVerify: what databases the temporary instance still has.
        FinishVerify: async (input) => {
          const out = await handlers.FinishVerify!(input);
          const { instanceId } = (input as { instance: { instanceId: string } }).instance;
          scratchLeft = (await queryOnce<{ datname: string }>(world.emu.instance(instanceId)!.url("postgres"), "SELECT datname FROM pg_database WHERE datname LIKE 'cobalt_inplace%'")).map((r) => r.datname);
          return out;
        },
      },
    });
    expect(x.ok, JSON.stringify({ error: x.error, cause: x.cause, texts: webhookTexts().slice(-1) })).toBe(true);
    const id = (callsOf(x, "Plan")[0]!.input as { backupId: string }).backupId;
    nightlyId = id;
    const prefix = `lambda/${id}/`;

    // The plan split rental into chunks; each chunk was dumped by its own invocation of the DumpUnit handler.
    const plan = await readJson<DumpPlan>(world.s3.bucket, `${prefix}plan.json`);
    const partsOf = (t: number) => plan.units.filter((u) => u.kind === "table" && u.table === t).map((u) => u.unit);
    const biggest = plan.tables.map((_, t) => t).sort((a, b) => partsOf(b).length - partsOf(a).length)[0]!;
    expect(plan.tables[biggest]!.table).toBe("rental");
    expect(partsOf(biggest).length).toBeGreaterThanOrEqual(4);
    const dumps = callsOf(x, "DumpUnit");
    expect(dumps).toHaveLength(plan.units.length);
    const chunkCalls = dumps.filter((c) => partsOf(biggest).includes((c.input as { unit: number }).unit));
    expect(chunkCalls.length).toBeGreaterThanOrEqual(4);
    expect(new Set(chunkCalls.map((c) => (c.input as { unit: number }).unit)).size).toBe(chunkCalls.length);
    for (const c of chunkCalls) expect(c.output).toMatchObject({ reused: false, rows: expect.any(Number) });
    expect(chunkCalls.reduce((s, c) => s + (c.output as { rows: number }).rows, 0)).toBe(16044);
    expect(plan.units.some((u) => u.kind === "large-objects")).toBe(true);

    // Acceptance 3: every invocation names one unit, one part or one batch, never a list of them.
    for (const c of dumps) expect(Object.keys(c.input as object).sort()).toEqual(["attempt", "backupId", "database", "instance", "unit"]);
    const parts = callsOf(x, "VerifyPart");
    for (const c of parts) expect(Object.keys(c.input as object).sort()).toEqual(["backupId", "instance", "part"]);
    for (const c of callsOf(x, "VerifyPostData")) expect((c.output as { applied: number }).applied).toBeLessThanOrEqual(POST_DATA_STEP);
    expect(callsOf(x, "VerifyPostData").length).toBeGreaterThan(1);
    expect(callsOf(x, "PrepareVerify").length).toBeGreaterThanOrEqual(1);

    // The manifest: rental in its chunks, the units counted, none reused on a first run.
    const manifest = await readJson<Manifest>(world.s3.bucket, `${prefix}manifest.json`);
    expect(manifest.tables.find((t) => t.table === "rental")!.parts.length).toBe(partsOf(biggest).length);
    expect(manifest.units).toEqual({ total: plan.units.length, reused: 0 });
    expect(manifest.source).toMatchObject({ kind: "rds-snapshot", instance: "production-green", snapshotId, database: "pagila" });

    // Verified in place: each table part (and the large objects) once, every verdict good, verified.json recorded, the scratch database dropped.
    const partCount = manifest.tables.reduce((s, t) => s + t.parts.length, 0) + 1;
    expect(parts).toHaveLength(partCount);
    for (const c of parts) expect(c.output, JSON.stringify(c.output)).toMatchObject({ ok: true, reused: false });
    expect((await stored(`${prefix}verify/parts/`)).length).toBe(partCount);
    const verified = await readJson<Verification>(world.s3.bucket, `${prefix}verified.json`);
    expect(verified).toMatchObject({ ok: true, tables: manifest.tables.length, rows: manifest.totals.rows });
    expect(verified.target).toContain("temporary instance");
    expect(scratchLeft).toEqual([]);

    // The temporary instance and its password are gone.
    const instance = (callsOf(x, "DeleteInstance")[0]!.input as { instanceId: string }).instanceId;
    expect(await gone(instance)).toBe(true);
    expect(world.sm.names()).not.toContain(`cobalt-backup/${instance}`);
    expect(temporaries()).toEqual([]);

    // The instance's password appears in no payload, history event or notification.
    const password = world.emu.lastPasswordSetFor(instance)!;
    expect(password).toBeTruthy();
    expect(JSON.stringify([x.events, x.calls, world.webhook.received, world.ses.received])).not.toContain(password);

    // Reported and notified.
    const report = await readJson<{ ok: boolean; stages: { stage: string; detail: string }[] }>(world.s3.bucket, `${prefix}report.json`);
    expect(report.ok).toBe(true);
    expect(report.stages.map((s) => s.stage)).toEqual(["snapshot", "dump", "verify", "cleanup", "retention"]);
    expect(webhookTexts().at(-1)).toContain(`Backup ${id} of production-green is complete and verified.`);
    expect(world.ses.received.length).toBeGreaterThan(0);

    // The oracle: restored into a fresh PostgreSQL, the backup is the snapshot's database.
    const target = await pg15.newDatabase("lambda_restored");
    const store = s3Store({ client: world.s3.client, bucket: world.s3.bucket, prefix: "lambda" });
    const connect = async () => {
      const c = new pg.Client({ connectionString: pg15.url(target) });
      await c.connect();
      return c;
    };
    const restored = await restoreBackup({ connect, store }, { id, jobs: 2, clean: false, targetName: target });
    expect(restored.isOk(), restored.isErr() ? restored.error.message : "").toBe(true);
    expect(await dataDigest(pg15.url(target))).toEqual(asOfSnapshot);
    expect(pgDumpSchema(pg15.url(target))).toEqual(asOfSnapshotSchema);
  });

  it("a unit failing for good fails the run at DumpUnits (instance deleted, no manifest, the notification names the state), after Retry on a transient tag; a second execution with the same backup id redoes only the missing units", async () => {
    const FAILING = 3;
    let inFlight = 0;
    let transientThrown = 0;
    let mapFailed = false;
    const real = handlers.DumpUnit!;
    const first = await runExecution(handlers, {}, {
      name: "unit-fails",
      // One unit at a time: which units were done when the bad one failed is then the plan's order.
      substitutions: { MaxConcurrency: "1" },
      bind: {
        ...itemReaders(),
        DumpUnit: async (input) => {
          const { unit } = input as { unit: number };
          inFlight++;
          try {
            if (unit === 1 && transientThrown++ === 0) throw new NamedError("CopyFailed", "injected: connection reset during COPY");
            if (unit === FAILING || mapFailed) {
              // Once the Map has failed, no unit is dumped (see below).
              mapFailed = true;
              throw new NamedError("StoreFailed", "injected: the store refused the object");
            }
            return await real(input);
          } finally {
            inFlight--;
          }
        },
      },
    });
    for (let i = 0; i < 100 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(first).toMatchObject({ ok: false, error: "StoreFailed", cause: "DumpUnits" });
    // The transient error was retried by the definition's Retry on its tag, and the unit then succeeded.
    expect(first.events.filter((e) => e.type === "StateRetried").map((e) => e.state)).toContain("DumpUnit");
    expect(callsOf(first, "DumpUnit").filter((c) => (c.input as { unit: number }).unit === 1).map((c) => c.error ?? "ok")).toEqual(["CopyFailed", "ok"]);
    expect(first.calls.map((c) => c.state)).not.toContain("Commit");
    // (The local runner still starts the Map's queued iterations after one failed, where Step
    // Functions stops the Map run: the fault stand-in refuses those, so they dump nothing.)
    expect(first.calls.map((c) => c.state).filter((s) => s !== "DumpUnit").slice(-2)).toEqual(["DeleteAfterFailure", "NotifyFailure"]);
    const id = (callsOf(first, "Plan")[0]!.input as { backupId: string }).backupId;
    const instance = (callsOf(first, "DeleteAfterFailure")[0]!.input as { instanceId: string }).instanceId;
    expect(await gone(instance)).toBe(true);
    expect(await stored(`lambda/${id}/manifest.json`)).toEqual([]);
    // The run had a plan: its failure report is stored next to it.
    expect(await stored(`lambda/${id}/report.json`)).toEqual([`lambda/${id}/report.json`]);
    expect(webhookTexts().at(-1)).toMatch(/FAILED at dump[\s\S]*state DumpUnits failed: StoreFailed: injected: the store refused the object/);
    expect(webhookTexts().at(-1)).toContain(`to resume, start an execution with {"backupId":"${id}","snapshot":"${snapshotId}"}`);

    // What the first execution left: markers of the units it finished.
    const plan = await readJson<DumpPlan>(world.s3.bucket, `lambda/${id}/plan.json`);
    const markers = (await stored(`lambda/${id}/units/`)).length;
    expect(markers).toBeGreaterThan(0);
    expect(markers).toBeLessThan(plan.units.length);

    // Second execution, same backup id and snapshot: a fresh temporary instance, the stored plan, only the missing units dumped.
    const second = await runExecution(handlers, { backupId: id, snapshot: snapshotId }, { name: "resumed", bind: itemReaders() });
    expect(second.ok, JSON.stringify({ error: second.error, cause: second.cause })).toBe(true);
    expect(callsOf(second, "Plan")[0]!.output).toMatchObject({ resumed: true, units: plan.units.length });
    const dumped = callsOf(second, "DumpUnit").filter((c) => !(c.output as { reused: boolean }).reused);
    expect(dumped).toHaveLength(plan.units.length - markers);
    expect(dumped.map((c) => (c.input as { unit: number }).unit)).toContain(FAILING);
    expect(callsOf(second, "Commit")[0]!.output).toMatchObject({ units: plan.units.length, reusedUnits: markers });
    const manifest = await readJson<Manifest>(world.s3.bucket, `lambda/${id}/manifest.json`);
    expect(manifest.units).toEqual({ total: plan.units.length, reused: markers });
    expect(await readJson<Verification>(world.s3.bucket, `lambda/${id}/verified.json`)).toMatchObject({ ok: true });
    expect(await gone((callsOf(second, "DeleteInstance")[0]!.input as { instanceId: string }).instanceId)).toBe(true);
    expect(temporaries()).toEqual([]);
  });

  it("verifies on a configured scratch server instead of the temporary instance: the same steps, its URL only in Secrets Manager", async () => {
    expect(nightlyId).toBeDefined();
    const scratchUrl = pg15.url("postgres");
    await world.secrets.send(new CreateSecretCommand({ Name: "cobalt-backup/verify-scratch", SecretString: scratchUrl }));
    // A cold start of the verify functions with the construct's `verifyScratch` setting.
    process.env.VERIFY_SCRATCH_SECRET = "cobalt-backup/verify-scratch";
    const h = await loadHandlers("scratch");
    delete process.env.VERIFY_SCRATCH_SECRET;
    const instance = { instanceId: "cobalt-tmp-none", sourceInstance: "production-green", snapshotId };
    const outputs: unknown[] = [];
    const step = async (state: string, input: object) => {
      const out = await h[state]!({ backupId: nightlyId, instance, ...input });
      outputs.push(out);
      return out as { next: number; parts: number };
    };
    let prep = await step("PrepareVerify", { next: 0 });
    while (prep.next >= 0) prep = await step("PrepareVerify", { next: prep.next });
    for (let part = 0; part < prep.parts; part++) expect(await step("VerifyPart", { part })).toMatchObject({ ok: true, reused: false });
    let post = { next: 0 };
    do post = await step("VerifyPostData", { next: post.next });
    while (post.next >= 0);
    expect(await step("FinishVerify", {})).toMatchObject({ ok: true, differences: 0, target: expect.stringContaining("scratch server") });
    expect(await readJson<Verification>(world.s3.bucket, `lambda/${nightlyId}/verified.json`)).toMatchObject({ ok: true, target: expect.stringContaining("scratch server") });
    expect(await pg15.query("postgres", "SELECT 1 FROM pg_database WHERE datname = $1", [scratchDatabase(nightlyId!)])).toEqual([]);
    const password = new URL(scratchUrl).password;
    if (password) expect(JSON.stringify(outputs)).not.toContain(password);
  });
});
