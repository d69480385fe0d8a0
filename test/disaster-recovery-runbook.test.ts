/**
 * Issue 16, acceptance 1: docs/disaster-recovery.md, executed as written. Its shell blocks run in
 * order in one bash per session, as root in a new directory, with an empty HOME and the PATH of a
 * fresh Debian 12 (test/support/debian-machine.ts: only the Essential and required packages'
 * commands, plus what the blocks' apt-get installs), against s3rver and a new PostgreSQL server
 * per path. Only these are replaced: the S3 endpoint, region and credentials, the bucket and
 * prefix, the key file pasted in step 2, the PostgreSQL server's address and password, and the
 * repository to clone. Every path ends with the database identical to the source by the oracle
 * (pg_dump --schema-only with owners and privileges, and every table, sequence, materialized view
 * and large object), roles included.
 *
 * Fenced blocks are chosen by their info string: ```sh always runs; `aws`/`rclone` are the two
 * ways to list and download (a session each); `server-elsewhere` names the new server;
 * `cli-install`, `path-a`, `path-b`, `path-c`, `path-c-file` are the ways to restore. The one
 * block not run, `server-here` (it installs a PostgreSQL service on the machine), is pinned: a
 * change to it fails this test until the pin is updated by someone who ran it.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateX25519Identity, identityToRecipient } from "@cobalt-backup/core";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { psqlFile, repoRoot } from "./support/corpus.ts";
import { freshDebianPath } from "./support/debian-machine.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { startCluster, type Cluster } from "./support/postgres.ts";
import { startS3, type S3Server } from "./support/s3-server.ts";

const RUNBOOK = join(repoRoot, "docs/disaster-recovery.md");
/** sha256 of the `server-here` block: update only after running the new text on a fresh Debian 12. */
const SERVER_HERE_SHA256 = "780305277cec67e1b3a346c28047c86a399dd26f538d91466a7418e8cd40d4cd";

interface Block {
  section: number;
  tags: string[];
  code: string;
}

/** The runbook's ```sh blocks, in order, with their section number and info-string tags. */
function runbookBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let section = 0;
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heading = /^## (\d+)\./.exec(lines[i]!);
    if (heading) section = Number(heading[1]);
    const fence = /^```sh(?: (.*))?$/.exec(lines[i]!);
    if (!fence) continue;
    const code: string[] = [];
    for (i++; lines[i] !== "```"; i++) code.push(lines[i]!);
    blocks.push({ section, tags: (fence[1] ?? "").split(/\s+/).filter(Boolean), code: code.join("\n") });
  }
  return blocks;
}

const c = () => cluster(15);
let s3: S3Server;
let work: string;
let keyFile: string;
let repo: string;
let source: string;
const PREFIX = "offsite/production";
const fresh: Cluster[] = [];

/** The current working tree (committed or not) as a repository to clone, as the operator would. */
function snapshotRepository(into: string): string {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of files) {
    const to = join(into, f);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(repoRoot, f), to);
    chmodSync(to, statSync(join(repoRoot, f)).mode);
  }
  const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=runbook test", "-c", "user.email=runbook@test", ...args], { cwd: into, stdio: "ignore" });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "snapshot for the runbook test");
  return into;
}

beforeAll(async () => {
  s3 = await startS3();
  work = mkdtempSync(join(tmpdir(), "cobalt-runbook-"));
  chmodSync(work, 0o755);
  const identity = await generateX25519Identity();
  keyFile = join(work, "offline-key.txt");
  writeFileSync(keyFile, `# the age identity kept offline\n${identity}\n`, { mode: 0o600 });

  // The source: the edge-case corpus with owners, grants, default privileges and roles on top.
  source = await c().newDatabase("runbook_src", "edge-cases_tpl");
  psqlFile(c().url(source), join(repoRoot, "test/corpus/privileges.sql"));
  const b = await runCli(["backup", "--source", c().url(source), "--dest", `s3://${s3.bucket}/${PREFIX}`, "--recipient", await identityToRecipient(identity), "--endpoint", s3.endpoint, "--json"], s3.env);
  expect(b.code, b.stderr).toBe(0);
  repo = snapshotRepository(join(work, "repository"));
  // One new server per path: none has the source's roles.
  fresh.push(...(await Promise.all([15, 15, 15, 15].map(() => startCluster(15)))));
}, 600_000);
afterAll(async () => {
  await Promise.all(fresh.map((f) => f.stop()));
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** One root shell on the fresh machine; each block is sourced in it, so variables and the directory carry over. */
class Session {
  private child: ChildProcess;
  private output = "";
  private done = 0;
  private waiting: { n: number; resolve: () => void; reject: (e: Error) => void } | undefined;
  private exited: number | null | undefined;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    const home = join(dir, "home");
    mkdirSync(home);
    const path = freshDebianPath(join(dir, "machine"));
    const cache = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" }).trim();
    const env = {
      PATH: path,
      HOME: home,
      USER: "root",
      LOGNAME: "root",
      SHELL: "/bin/bash",
      TMPDIR: tmpdir(),
      // The machine's package caches, so that installing from the npm registry does not download
      // everything again on every run; the registry still answers every lookup.
      npm_config_cache: cache("npm", ["config", "get", "cache"]),
      npm_config_store_dir: cache("pnpm", ["store", "path"]),
    };
    const cwd = join(dir, "root");
    mkdirSync(cwd);
    // The shell reads the names of the block files on fd 5 and gives its commands /dev/null as
    // stdin, so that a command reading stdin cannot eat the next block; fd 4 says when a block is done.
    const loop = `exec 5<&0 </dev/null; set -e; while IFS= read -r block <&5; do . "$block"; echo "@@done $((++n))" >&4; done`;
    this.child = spawn("bash", ["--noprofile", "--norc", "-c", loop], { cwd, env, stdio: ["pipe", "pipe", "pipe", "ignore", "pipe"] });
    this.child.stdin!.on("error", () => {});
    const log = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    this.child.stdout!.on("data", log);
    this.child.stderr!.on("data", log);
    (this.child.stdio[4] as NodeJS.ReadableStream).on("data", (d: Buffer) => {
      for (const m of d.toString().matchAll(/@@done (\d+)/g)) this.done = Math.max(this.done, Number(m[1]));
      if (this.waiting && this.done >= this.waiting.n) this.waiting.resolve();
    });
    this.child.on("close", (code) => {
      this.exited = code;
      this.waiting?.reject(new Error(`the runbook's shell stopped (exit ${code}) in the block below; its output:\n${this.output}`));
    });
  }

  /** Seconds each block took, for RUNBOOK_TIMINGS=1. */
  readonly timings: string[] = [];

  /** Runs one block; rejects with the shell's output when a command in it fails. */
  async run(code: string): Promise<void> {
    const t0 = Date.now();
    await this.runBlock(code);
    this.timings.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${code.split("\n")[0]}`);
  }

  private runBlock(code: string): Promise<void> {
    if (this.exited !== undefined) return Promise.reject(new Error("the shell has stopped"));
    const n = this.done + 1;
    const file = join(this.dir, `block-${n}.sh`);
    writeFileSync(file, `${code}\n`);
    const result = new Promise<void>((resolve, reject) => {
      this.waiting = { n, resolve, reject: (e) => reject(new Error(`${e.message}\n--- block ---\n${code}`)) };
    });
    this.child.stdin!.write(`${file}\n`);
    return result;
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    if (this.exited === undefined) await new Promise((r) => this.child.on("close", r));
  }
}

/** Exactly these strings of the runbook are replaced; each must occur, so a renamed placeholder fails here. */
function substitutions(server: Cluster): [string, string][] {
  const password = decodeURIComponent(new URL(server.url()).password);
  return [
    ["export AWS_ACCESS_KEY_ID='<keyID>'", `export AWS_ACCESS_KEY_ID='${s3.env.AWS_ACCESS_KEY_ID}'`],
    ["export AWS_SECRET_ACCESS_KEY='<applicationKey>'", `export AWS_SECRET_ACCESS_KEY='${s3.env.AWS_SECRET_ACCESS_KEY}'`],
    ["export ENDPOINT=https://s3.us-west-004.backblazeb2.com", `export ENDPOINT=${s3.endpoint}`],
    ["export AWS_DEFAULT_REGION=us-west-004 AWS_REGION=us-west-004", `export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1`],
    ["export BUCKET=cobalt-backups PREFIX=production", `export BUCKET=${s3.bucket} PREFIX=${PREFIX}`],
    [`cat > "$WORK/key.txt"`, `cat ${JSON.stringify(keyFile)} > "$WORK/key.txt"`],
    ["export PGHOST=db.example.net PGPORT=5432 PGUSER=postgres", `export PGHOST=127.0.0.1 PGPORT=${server.port} PGUSER=postgres`],
    ["export PGPASSWORD='<its password>'", `export PGPASSWORD='${password}'`],
    ["git clone <the cobalt-backup repository> cobalt-backup", `git clone -q ${JSON.stringify(repo)} cobalt-backup`],
  ];
}

function substitute(code: string, server: Cluster): string {
  for (const [from, to] of substitutions(server)) code = code.split(from).join(to);
  return code;
}

async function expectSameAsSource(server: Cluster): Promise<void> {
  expect(pgDumpSchema(server.url("restored"), { ownersAndPrivileges: true })).toEqual(pgDumpSchema(c().url(source), { ownersAndPrivileges: true }));
  expect(await dataDigest(server.url("restored"))).toEqual(await dataDigest(c().url(source)));
}

const blocks = () => runbookBlocks(readFileSync(RUNBOOK, "utf8"));
const untaggedOr = (b: Block, ...tags: string[]) => b.tags.length === 0 || b.tags.some((t) => tags.includes(t));

it("the runbook's blocks: every tag is known, every replaced string occurs, the server-here block is as pinned", () => {
  const all = blocks();
  const known = new Set(["aws", "rclone", "server-here", "server-elsewhere", "cli-install", "path-a", "path-b", "path-c", "path-c-file"]);
  for (const b of all) for (const t of b.tags) expect(known, `unknown tag ${t}`).toContain(t);
  const text = all.map((b) => b.code).join("\n");
  for (const [from] of substitutions(fresh[0]!)) expect(text, `the runbook no longer contains: ${from}`).toContain(from);
  expect(text).not.toMatch(/\bsudo\b/);
  const here = all.filter((b) => b.tags.includes("server-here"));
  expect(here).toHaveLength(1);
  expect(createHash("sha256").update(here[0]!.code).digest("hex"), `the server-here block changed:\n${here[0]!.code}`).toBe(SERVER_HERE_SHA256);
  // Its packages exist in Debian 12 for the source's major version.
  for (const pkg of ["postgresql-common", "postgresql-15"]) expect(execFileSync("apt-cache", ["policy", pkg], { encoding: "utf8" })).toMatch(/Candidate: (?!\(none\))/);
});

/**
 * Steps 1 to 4 with one download tool, then, per path, step 5 on a new server, the path, and
 * step 7; the restored database is compared with the source after each.
 */
describe.each([
  { tool: "aws", paths: ["path-a", "path-c", "path-c-file"] },
  { tool: "rclone", paths: ["path-b"] },
])("the runbook with $tool", ({ tool, paths }) => {
  it(
    `restores by ${paths.join(", ")}, each on a new server, identical to the source`,
    async () => {
      const session = new Session(join(work, `session-${tool}`));
      // Path B needs only the script kept next to the key (the runbook says so), copied there after step 2.
      const recovery = join(session.dir, "root", "recovery");
      try {
        const all = blocks();
        const servers = tool === "aws" ? fresh.slice(0, 3) : fresh.slice(3);
        for (const b of all.filter((x) => x.section <= 4 && untaggedOr(x, tool))) await session.run(substitute(b.code, servers[0]!));
        if (paths.includes("path-b")) copyFileSync(join(repoRoot, "docs/restore-without-cobalt.sh"), join(recovery, "restore-without-cobalt.sh"));
        for (const [i, path] of paths.entries()) {
          const server = servers[i]!;
          expect(await server.query("postgres", "SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'cobalt%'")).toEqual([{ n: 0 }]);
          for (const b of all.filter((x) => x.section === 5 && untaggedOr(x, "server-elsewhere"))) await session.run(substitute(b.code, server));
          const needsCli = path !== "path-b" && i === 0;
          for (const b of all.filter((x) => x.section === 6 && (x.tags.length === 0 || x.tags.includes(path) || (needsCli && x.tags.includes("cli-install"))))) await session.run(substitute(b.code, server));
          for (const b of all.filter((x) => x.section === 7)) await session.run(substitute(b.code, server));
          await expectSameAsSource(server);
        }
      } finally {
        await session.close();
        if (process.env.RUNBOOK_TIMINGS) console.log(`${tool}:\n${session.timings.join("\n")}`);
      }
    },
    1_200_000,
  );
});
