/**
 * Issue 10, acceptance 3 and points 2 and 8: any failure in any stage of the nightly run, an
 * unexpected exception included, ends in the failure webhook naming the stage and a stored report.
 * - Through the pipeline's ports: an exception that is not one of ours (a TypeError, a
 *   RangeError) is injected into each stage; the real CLI notifier posts to a recording webhook,
 *   the report goes to a real file store, the database is a real PostgreSQL.
 * - Through the real CLI: a crash from the event loop (an 'error' event nobody listens to) during
 *   verification; a configuration that cannot be turned into clients (`setup`).
 * - A notification that cannot be delivered is an error naming the channel, never its URL, and
 *   `run` exits 5.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileStore, runNightly, type BackupStore, type NightlyDeps, type NightlyInput, type StageName } from "@cobalt-backup/core";
import { freePort } from "../packages/cli/src/adapters/embedded-postgres.ts";
import { notify } from "../packages/cli/src/adapters/notify.ts";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { repoRoot } from "./support/corpus.ts";
import { startRecorder, type Recorder } from "./support/recorder.ts";

let webhook: Recorder;
let sourceUrl: string;
const root = mkdtempSync(join(tmpdir(), "cobalt-run-failures-"));
beforeAll(async () => {
  webhook = await startRecorder();
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("runfail");
  await pg15.query(db, `CREATE TABLE t (id serial PRIMARY KEY, v text); INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 1000) g;`);
  sourceUrl = pg15.url(db);
});
afterAll(() => webhook?.stop());

const connectTo = (url: string) => async () => {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
};

/** The ports of a run that succeeds: a URL source, a fresh scratch database, a hook, the CLI's webhook notifier. */
function ports(store: BackupStore, label: string): NightlyDeps {
  const u = new URL(sourceUrl);
  return {
    store,
    tool: { name: "cobalt-backup", version: "test" },
    sourceIsSnapshot: false,
    openSource: async () => ({
      connect: connectTo(sourceUrl),
      describe: { kind: "postgres-url", host: u.hostname, port: Number(u.port), database: u.pathname.slice(1), user: u.username },
      close: async () => {},
    }),
    openScratch: async () => {
      const db = await cluster(15).newDatabase("runfail_scratch");
      return { connect: connectTo(cluster(15).url(db)), name: `scratch ${db}`, dispose: async () => {} };
    },
    runHook: async () => "hook ran",
    notify: (report) => notify({ webhook: `${webhook.url}/${label}`, onSuccess: true }, report),
  };
}

const input: NightlyInput = { jobs: 2, compression: "zstd", verify: true, retention: { keepLast: 2 } };
/** Stages that run only when the input asks for them (the check of older backups; without retention, whose listing would fail first). */
const inputFor: Partial<Record<StageName, NightlyInput>> = { check: { jobs: 2, compression: "zstd", verify: true, check: { backups: 1, everyDays: 7, readData: { mode: "all" } } } };

/** Each stage, and how an exception that is not one of ours gets into it. */
const injections: Record<Exclude<StageName, "setup">, (d: NightlyDeps) => NightlyDeps> = {
  snapshot: (d) => ({ ...d, sourceIsSnapshot: true, openSource: async () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'Endpoint')")) }),
  dump: (d) => ({
    ...d,
    onProgress: (p) => {
      if (p.phase === "data") throw new RangeError("Invalid array length (injected into the dump)");
    },
  }),
  upload: (d) => ({
    ...d,
    store: {
      ...d.store,
      put: (key, body, opts) => {
        if (key.includes("/data/")) throw new TypeError("socket.write is not a function (injected into the upload)");
        return d.store.put(key, body, opts);
      },
    },
  }),
  cleanup: (d) => ({
    ...d,
    sourceIsSnapshot: true,
    openSource: async () => {
      const s = await d.openSource();
      return { ...s, describe: { ...s.describe, snapshotId: "rds:prod-2026" }, close: () => Promise.reject(new TypeError("instance.release is not a function")) };
    },
  }),
  verify: (d) => ({ ...d, openScratch: () => Promise.reject(new Error("spawn /opt/embedded/bin/initdb EACCES")) }),
  hook: (d) => ({ ...d, runHook: () => Promise.reject(new SyntaxError("Unexpected token in the hook")) }),
  retention: (d) => ({
    ...d,
    store: {
      ...d.store,
      list: (prefix) => {
        if (prefix === "") throw new TypeError("Cannot read properties of null (reading 'Contents')");
        return d.store.list(prefix);
      },
    },
  }),
  check: (d) => ({
    ...d,
    store: {
      ...d.store,
      list: (prefix) => {
        if (prefix === "") throw new TypeError("Cannot read properties of undefined (reading 'KeyCount')");
        return d.store.list(prefix);
      },
    },
  }),
};

describe("an unexpected exception in any stage, through the pipeline's ports", () => {
  it("control: without an injection the run passes every stage and notifies success", async () => {
    const store = fileStore(pathToFileURL(join(root, "control")).href);
    const outcome = (await runNightly(ports(store, "control"), input))._unsafeUnwrap();
    expect(outcome.report.stages.map((s) => `${s.stage}:${s.status}`), outcome.report.error).toEqual(["dump:ok", "verify:ok", "hook:ok", "retention:ok"]);
    const sent = webhook.received.filter((r) => r.url === "/control");
    expect(JSON.parse(sent[0]!.body).text).toMatch(/backed up and verified/);
  });

  for (const [stage, inject] of Object.entries(injections)) {
    it(`${stage}: the failure webhook names the stage, and the report is stored`, async () => {
      const dir = join(root, stage);
      const store = fileStore(pathToFileURL(dir).href);
      const outcome = (await runNightly(inject(ports(store, stage)), inputFor[stage as StageName] ?? input))._unsafeUnwrap();
      const { report } = outcome;
      expect(report.ok).toBe(false);
      expect(report.failedStage).toBe(stage);
      expect(report.error).toMatch(new RegExp(`^${stage}: .*injected|^${stage}: .*(Endpoint|release|EACCES|hook|Contents|KeyCount)`));

      const sent = webhook.received.filter((r) => r.url === `/${stage}`);
      expect(sent).toHaveLength(1);
      const body = JSON.parse(sent[0]!.body);
      expect(body.text).toMatch(new RegExp(`FAILED at ${stage}`));
      expect(body.report.failedStage).toBe(stage);
      expect(outcome.notifications).toEqual([{ channel: "webhook", ok: true }]);

      // The report is in the store: next to the backup when there is one, else under reports/.
      expect(outcome.reportKey).toMatch(report.id ? new RegExp(`^${report.id}/report\\.json$`) : /^reports\/\d{8}T\d{6}\.\d{3}Z\.json$/);
      const stored = JSON.parse(readFileSync(join(dir, ...outcome.reportKey!.split("/")), "utf8"));
      expect(stored).toMatchObject({ ok: false, failedStage: stage });
    });
  }
});

describe("through the real CLI", () => {
  const config = (name: string, extra: Record<string, unknown> = {}) => {
    const path = join(root, `${name}.json`);
    writeFileSync(path, JSON.stringify({ source: { url: sourceUrl }, store: { url: pathToFileURL(join(root, `cli-${name}`)).href }, verify: { target: cluster(15).url() }, notify: { webhook: `${webhook.url}/cli/${name}/SECRET-TOKEN` }, ...extra }));
    return path;
  };
  const sentTo = (name: string) => webhook.received.filter((r) => r.url === `/cli/${name}/SECRET-TOKEN`).map((r) => JSON.parse(r.body));

  it("a crash from the event loop during verification still notifies, naming verify, and stores the report", async () => {
    const r = await runCli(["run", "--config", config("crash"), "--json"], { COBALT_TEST_CRASH_AFTER: "dump" }, ["--import", join(repoRoot, "test/support/crash-after-stage.mjs")]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/cobalt-backup: error: verify: unexpected error: spawn \/opt\/injected\/bin\/initdb EACCES/);
    const [sent] = sentTo("crash");
    expect(sent.text).toMatch(/FAILED at verify/);
    expect(sent.report).toMatchObject({ failedStage: "verify", errorTag: "Unexpected" });
    const id = sent.report.id as string;
    expect(JSON.parse(readFileSync(join(root, "cli-crash", ...id.split("/"), "report.json"), "utf8"))).toMatchObject({ ok: false, failedStage: "verify" });
    expect(r.json).toMatchObject({ ok: false, error: { stage: "verify", reportKey: `${id}/report.json` } });
  });

  it("a configuration that cannot be turned into clients fails at setup, and notifies", async () => {
    const r = await runCli(["run", "--config", config("setup", { encryption: { recipientsFile: join(root, "no-such-recipients.txt") } }), "--json"]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/cobalt-backup: error: setup: --recipients-file .*no-such-recipients\.txt: cannot read it/);
    expect(sentTo("setup").map((b) => [b.report.failedStage, b.text.split("\n")[0]])).toEqual([["setup", expect.stringMatching(/FAILED at setup/)]]);
  });
});

describe("a notification that cannot be delivered", () => {
  let failing: Recorder;
  beforeAll(async () => {
    failing = await startRecorder({ error: "down" }, 500);
  });
  afterAll(() => failing?.stop());

  it("is an error naming the channel and why, never its URL, and run exits 5", async () => {
    const path = join(root, "undelivered.json");
    writeFileSync(path, JSON.stringify({
      source: { url: sourceUrl },
      store: { url: pathToFileURL(join(root, "cli-undelivered")).href },
      verify: { target: cluster(15).url() },
      notify: { webhook: `${failing.url}/hooks/T000/SECRET-TOKEN`, heartbeatUrl: `http://127.0.0.1:${await freePort()}/ping/SECRET-UUID` },
    }));
    for (const json of [true, false]) {
      const r = await runCli(["run", "--config", path, ...(json ? ["--json"] : [])]);
      expect(r.code, r.stderr).toBe(5);
      const output = r.stdout + r.stderr;
      expect(output).not.toContain("SECRET-TOKEN");
      expect(output).not.toContain("SECRET-UUID");
      expect(output).not.toContain("/ping/");
      const errors = r.stderr.split("\n").filter((l) => l.includes('"level":"error"')).map((l) => JSON.parse(l));
      expect(errors).toEqual([
        expect.objectContaining({ event: "notify.failed", channel: "webhook", reason: "the webhook answered HTTP 500" }),
        expect.objectContaining({ event: "notify.failed", channel: "heartbeat", reason: expect.stringMatching(/fetch failed.*ECONNREFUSED/) }),
      ]);
      expect(r.stderr).toMatch(/cobalt-backup: error: run succeeded, but its notification could not be delivered: webhook \(the webhook answered HTTP 500\), heartbeat \(fetch failed/);
      if (json) expect(r.json).toMatchObject({ ok: false, error: { tag: "NotifyFailed" } });
      else expect(r.stdout).toMatch(/^run OK: /);
    }
    expect(failing.received.filter((q) => q.method === "POST")).toHaveLength(2);
    expect(readdirSync(join(root, "cli-undelivered"))).toHaveLength(1);
  });
});
