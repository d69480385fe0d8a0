/**
 * Issue 15, acceptance 1: the CLI packs into one tarball that npm installs into an empty prefix,
 * and the installed command works from an unrelated directory with only node and npm on PATH
 * (no workspace, no pnpm): --version, demo, and a backup, verify and restore of a database on an
 * embedded server. Tests run as root here, with the prefix inside a 0700 directory (mkdtemp):
 * issue 10's "a private directory as root". The scratch server's directory is put on another file
 * system (/dev/shm) where there is one, so the binaries are copied rather than linked.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { cluster } from "./support/cluster.ts";
import { repoRoot } from "./support/corpus.ts";
import { dataDigest } from "./support/oracle.ts";

const cliDir = join(repoRoot, "packages/cli");
const manifest = JSON.parse(readFileSync(join(cliDir, "package.json"), "utf8")) as { name: string; version: string; dependencies: Record<string, string> };

let root: string;
let work: string;
let prefix: string;
let env: NodeJS.ProcessEnv;

/** The environment of a machine with node and npm and nothing else: no pnpm, no npm or pnpm variables of this run. */
function bareEnv(nodeBin: string): NodeJS.ProcessEnv {
  const kept = Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_|PNPM|INIT_CWD$|VITEST|NODE_OPTIONS$)/i.test(k));
  return { ...Object.fromEntries(kept), PATH: `${nodeBin}:/usr/bin:/bin` };
}

function run(command: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: work, env: { ...env, ...extraEnv }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A directory for the servers' temporary files that the postgres user can enter, on the given parent. */
function scratchIn(parent: string): string {
  const dir = mkdtempSync(join(parent, "cobalt-install-scratch-"));
  chmodSync(dir, 0o755);
  return dir;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "cobalt-install-"));
  const packDir = join(root, "pack");
  execFileSync("pnpm", ["pack", "--pack-destination", packDir], { cwd: cliDir, stdio: "ignore" });
  const nodeBin = join(root, "node-only");
  mkdirSync(nodeBin);
  symlinkSync(process.execPath, join(nodeBin, "node"));
  work = join(root, "elsewhere");
  mkdirSync(work);
  prefix = join(root, "prefix");
  env = bareEnv(nodeBin);
  expect(spawnSync("sh", ["-c", "command -v pnpm"], { env }).status, "pnpm must not be reachable").not.toBe(0);
  expect(spawnSync("sh", ["-c", "command -v npm"], { env }).status, "npm must be installed (Debian's npm package)").toBe(0);
  const tarball = join(packDir, `${manifest.name}-${manifest.version}.tgz`);
  console.log(`packed ${tarball.split("/").pop()}: ${statSync(tarball).size} bytes`);
  // --prefer-offline: what npm's cache already holds is not fetched again.
  const npm = await run("npm", ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", tarball]);
  expect(npm.code, npm.stderr).toBe(0);
  env.PATH = `${join(prefix, "bin")}:${env.PATH}`;
}, 600_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

it("the packed CLI imports only its declared dependencies and node's own modules", () => {
  const dist = join(cliDir, "dist");
  const specifiers = new Set<string>();
  for (const f of readdirSync(dist).filter((f) => f.endsWith(".js"))) {
    const code = readFileSync(join(dist, f), "utf8");
    // esbuild writes static imports one per line; dynamic ones are import("...") calls.
    for (const m of code.matchAll(/^(?:import|export)\b[^\n]*?"([^"\n]+)";?$|\bimport\(\s*"([^"\n]+)"\s*\)/gm)) {
      const s = m[1] ?? m[2]!;
      if (!s.startsWith(".")) specifiers.add(s);
    }
  }
  const packageOf = (s: string) => (s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]!);
  const undeclared = [...specifiers].map(packageOf).filter((p) => !builtinModules.includes(p) && !p.startsWith("node:") && !(p in manifest.dependencies));
  expect(specifiers.size).toBeGreaterThan(5);
  expect(undeclared).toEqual([]);
});

it("the installed command runs from any directory: --version, demo, backup, verify and restore", async () => {
  if (process.getuid?.() === 0) expect(statSync(root).mode & 0o777, "the prefix sits inside a private directory").toBe(0o700);
  expect(work.startsWith(repoRoot)).toBe(false);

  const version = await run("cobalt-backup", ["--version"]);
  expect(version.code, version.stderr).toBe(0);
  expect(version.stdout.trim()).toBe(manifest.version);

  const demoTmp = scratchIn(tmpdir());
  const demo = await run("cobalt-backup", ["demo"], { TMPDIR: demoTmp });
  expect(demo.code, demo.stderr).toBe(0);
  expect(demo.stdout).toMatch(/^demo OK: \S*pagila -> file:\/\/.*\/elsewhere\/demo-backups/);
  expect(demo.stdout).toMatch(/21 tables identical/);
  expect(readdirSync(demoTmp)).toEqual([]);
  rmSync(demoTmp, { recursive: true });

  const pg15 = cluster(15);
  const source = await pg15.newDatabase("installed", "pagila_tpl");
  const store = pathToFileURL(join(work, "store")).href;
  const backup = await run("cobalt-backup", ["backup", "--source", pg15.url(source), "--dest", store, "--json"]);
  expect(backup.code, backup.stderr).toBe(0);
  const id = JSON.parse(backup.stdout.trim().split("\n").pop()!).id as string;

  const verifyTmp = scratchIn(existsSync("/dev/shm") ? "/dev/shm" : tmpdir());
  const verify = await run("cobalt-backup", ["verify", "--from", store, "--backup", id], { TMPDIR: verifyTmp });
  expect(verify.code, verify.stderr).toBe(0);
  expect(verify.stdout).toMatch(new RegExp(`verified ${id.replace(/[.]/g, "\\.")}: 21 tables`));
  expect(readdirSync(verifyTmp)).toEqual([]);
  rmSync(verifyTmp, { recursive: true });

  const target = await pg15.newDatabase("installed_restored");
  const restore = await run("cobalt-backup", ["restore", "--from", store, "--backup", id, "--target", pg15.url(target)]);
  expect(restore.code, restore.stderr).toBe(0);
  expect(await dataDigest(pg15.url(target))).toEqual(await dataDigest(pg15.url(source)));

  const list = await run("cobalt-backup", ["list", "--from", store, "--json"]);
  expect(JSON.parse(list.stdout.trim().split("\n").pop()!).backups).toEqual([expect.objectContaining({ id, verified: true })]);
}, 600_000);
