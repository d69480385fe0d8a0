/**
 * Issue 10, point 1: the embedded PostgreSQL (demo, verify's scratch, the tests' clusters) runs
 * wherever its binaries sit, as root too (the server then runs as `postgres`, who cannot enter a
 * 0700 directory), keeps its password file to itself, and leaves nothing behind when it stops,
 * fails to start, or is interrupted.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { startEmbeddedPostgres } from "../packages/cli/src/adapters/embedded-postgres.ts";
import { startCli } from "./support/cli.ts";
import { queryOnce } from "./support/pg-query.ts";
import { binariesOf } from "./support/postgres.ts";

let scratch: string;
let privateDir: string;
const savedTmpdir = process.env.TMPDIR;

beforeEach(() => {
  // Where the servers' directories go: searchable by the postgres user, as /tmp is.
  scratch = mkdtempSync(join(tmpdir(), "cobalt-scratch-"));
  chmodSync(scratch, 0o755);
  // Where the binaries sit: private, like a clone in /root or an npm prefix in `mktemp -d`.
  privateDir = mkdtempSync(join(tmpdir(), "cobalt-private-"));
  process.env.TMPDIR = scratch;
});

afterEach(() => {
  if (savedTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmpdir;
  rmSync(scratch, { recursive: true, force: true });
  rmSync(privateDir, { recursive: true, force: true });
});

/**
 * A copy of PostgreSQL 15's native tree in the private directory as an unlucky install leaves it:
 * written under umask 027 (nothing readable by others) and without the library symlinks its
 * install script makes (npm --ignore-scripts).
 */
async function privateInstall(): Promise<{ initdb: string; postgres: string }> {
  const native = dirname(dirname((await binariesOf(15)).postgres));
  const copy = join(privateDir, "native");
  execFileSync("cp", ["-a", native, copy]);
  execFileSync("chmod", ["-R", "o-rwx", copy]);
  const links = JSON.parse(readFileSync(join(native, "pg-symlinks.json"), "utf8")) as { target: string }[];
  for (const { target } of links) rmSync(join(privateDir, target), { force: true });
  expect(existsSync(join(copy, "lib", "libicuuc.so.60"))).toBe(false);
  return { initdb: join(copy, "bin", "initdb"), postgres: join(copy, "bin", "postgres") };
}

it("starts from binaries below a private directory, installed under umask 027 without their library links, keeps no password file, and removes its directory on stop", async () => {
  expect(statSync(privateDir).mode & 0o777).toBe(0o700);
  const server = await startEmbeddedPostgres(await privateInstall(), { fast: true });
  const url = await server.createDatabase("probe");
  const [row] = await queryOnce<{ dir: string; v: string }>(url, "SELECT current_setting('data_directory') AS dir, current_setting('server_version_num') AS v");
  expect(Number(row!.v)).toBeGreaterThanOrEqual(150000);
  const base = dirname(row!.dir);
  expect(dirname(base)).toBe(scratch);
  // The data directory, and the linked binaries the server runs from; the password file is gone.
  expect(readdirSync(base).sort()).toEqual(["data", "pg"]);
  expect(statSync(row!.dir).mode & 0o077).toBe(0);
  await server.stop();
  expect(readdirSync(scratch)).toEqual([]);
});

it("a server that cannot start is one clear error, and leaves nothing behind", async () => {
  const bin = join(privateDir, "native", "bin");
  mkdirSync(bin, { recursive: true });
  mkdirSync(join(privateDir, "native", "lib"));
  mkdirSync(join(privateDir, "native", "share"));
  writeFileSync(join(bin, "postgres"), "#!/bin/sh\necho 'postgres (PostgreSQL) 15.0'\n", { mode: 0o755 });
  writeFileSync(join(bin, "initdb"), "#!/bin/sh\necho 'initdb: error: no space left on device' >&2\nexit 1\n", { mode: 0o755 });
  await expect(startEmbeddedPostgres({ initdb: join(bin, "initdb"), postgres: join(bin, "postgres") })).rejects.toThrow(
    /^the embedded PostgreSQL's initdb failed \(exit 1\): initdb: error: no space left on device$/,
  );
  expect(readdirSync(scratch)).toEqual([]);
});

it.each([
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const)("%s during the demo stops the embedded server, removes its files and exits %i", async (signal, code) => {
  const { child, done } = startCli(["demo", "--dest", join(privateDir, "demo-backups")], { TMPDIR: scratch });
  // Once the server runs (its pid file is written), interrupt.
  // The pid is read in the same look: the demo may stop that server and start another just after.
  let pidText: string | undefined;
  while (pidText === undefined && child.exitCode === null) {
    const dir = readdirSync(scratch).find((d) => d.startsWith("cobalt-pg-"));
    const candidate = dir && join(scratch, dir, "data", "postmaster.pid");
    let text = "";
    try {
      if (candidate) text = readFileSync(candidate, "utf8");
    } catch {
      // not written yet, or already gone with its server
    }
    if (text.includes("\n")) pidText = text;
    else await sleep(50);
  }
  expect(pidText, "the demo ended before its server started").toBeDefined();
  const serverPid = Number(pidText!.split("\n")[0]);
  child.kill(signal);
  const r = await done;
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toContain(`interrupted by ${signal}`);
  expect(readdirSync(scratch)).toEqual([]);
  expect(() => process.kill(serverPid, 0)).toThrow();
});
