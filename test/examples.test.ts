/** The examples are code users copy: the library example runs, the sample config is valid. */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../packages/cli/src/config/config-schema.ts";
import { cluster } from "./support/cluster.ts";
import { repoRoot } from "./support/corpus.ts";

it("examples/library-use.ts backs up and verifies through the library", async () => {
  const pg15 = cluster(15);
  const source = await pg15.newDatabase("lib", "chinook_tpl");
  const scratch = await pg15.newDatabase("lib_scratch");
  const out = execFileSync(process.execPath, ["--import", "tsx", join(repoRoot, "examples/library-use.ts")], {
    cwd: join(repoRoot, "examples"),
    env: { ...process.env, SOURCE_URL: pg15.url(source), SCRATCH_URL: pg15.url(scratch), BACKUP_DIR: mkdtempSync(join(tmpdir(), "cobalt-lib-")) },
    encoding: "utf8",
  });
  expect(JSON.parse(out.trim().split("\n").pop()!)).toMatchObject({ ok: true, tables: 11 });
});

it("examples/cobalt-backup.config.json is a valid configuration", () => {
  const parsed = configSchema.safeParse(JSON.parse(readFileSync(join(repoRoot, "examples/cobalt-backup.config.json"), "utf8")));
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
});

describe("examples/nightly.sh", () => {
  const script = join(repoRoot, "examples/nightly.sh");
  /** cron's environment: PATH=/usr/bin:/bin and little else. */
  const cron = (extra: Record<string, string>) => ({ HOME: "/root", LOGNAME: "root", SHELL: "/bin/sh", PATH: "/usr/bin:/bin", ...extra });
  const run = (env: Record<string, string>) => spawnSync("/bin/sh", [script], { env, encoding: "utf8" });

  it("runs the nightly job under cron's minimal PATH, silent on success, and says which outcome a failure was", async () => {
    const pg15 = cluster(15);
    const db = await pg15.newDatabase("nightly_sh", "chinook_tpl");
    const dir = mkdtempSync(join(tmpdir(), "cobalt-nightly-"));
    const config = join(dir, "config.json");
    writeFileSync(config, JSON.stringify({ source: { url: pg15.url(db) }, store: { url: `file://${dir}/store` }, verify: { target: pg15.url() } }));
    const env = cron({ COBALT_CONFIG: config, COBALT_LOG_DIR: join(dir, "log"), COBALT_LOCK: join(dir, "lock") });

    const ok = run(env);
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout + ok.stderr).toBe("");
    const [log] = readdirSync(join(dir, "log"));
    expect(JSON.parse(readFileSync(join(dir, "log", log!), "utf8").trim().split("\n").pop()!)).toMatchObject({ ok: true, report: { ok: true } });

    const broken = join(dir, "broken.json");
    writeFileSync(broken, JSON.stringify({ source: { url: pg15.url("no_such_database") }, store: { url: `file://${dir}/store` } }));
    const failed = run({ ...env, COBALT_CONFIG: broken });
    expect(failed.status).toBe(2);
    expect(failed.stdout).toMatch(/^cobalt-backup run exited 2 \(configuration or unreachable input\); log: .*\ncobalt-backup: error: dump: .*no_such_database/);
  });

  it("exits 75, doing nothing, while another run holds the lock", () => {
    const dir = mkdtempSync(join(tmpdir(), "cobalt-nightly-lock-"));
    const lock = join(dir, "lock");
    // Another run: holds the lock until its stdin closes.
    const holder = spawn("flock", [lock, "cat"], { stdio: ["pipe", "ignore", "ignore"] });
    try {
      let held = false;
      while (!held) held = spawnSync("flock", ["-n", lock, "true"]).status !== 0;
      const r = run(cron({ COBALT_CONFIG: join(dir, "never-read.json"), COBALT_LOG_DIR: join(dir, "log"), COBALT_LOCK: lock }));
      expect(r.status).toBe(75);
      expect(r.stdout).toBe(`cobalt-backup: another run still holds ${lock}; this one did nothing\n`);
    } finally {
      holder.stdin!.end();
    }
  });
});
