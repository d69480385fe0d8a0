/**
 * `pnpm bench`: cobalt-backup against pg_dump / pg_restore on an embedded PostgreSQL 15, at two
 * database sizes, to show speed and output size side by side and that the backup's peak RSS stays
 * flat as the database grows. A measurement, not a test: timings never fail the run, but any
 * failing command (or a restore that does not reproduce the source) exits non-zero.
 *
 * Env: COBALT_BENCH_SCALE (default 1: ~100 MiB and ~400 MiB of table data; at the larger size one
 *      table holds about 90 % of it: the dominant-table shape of an application database),
 *      COBALT_BENCH_JOBS (default 2), COBALT_BENCH_SMALL_TABLES (default 200),
 *      COBALT_BENCH_REPEAT (default 1: each timed command runs this many times, in rounds of one run of
 *      each tool, so a slow stretch of the machine slows all of them; the median counts),
 *      COBALT_BENCH_RSS=proc (poll /proc instead of using /usr/bin/time),
 *      COBALT_BENCH_SIZES (default "small,large": which sizes run),
 *      COBALT_BENCH_RESTORE_ONLY=1 (each backup runs once, the S3 one not at all: only restores repeat).
 * The report goes to stdout, ending with one JSON line; progress goes to stderr.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { startCluster, type Cluster } from "../support/postgres.ts";
import { startS3, type S3Server } from "../support/s3-server.ts";
import { fingerprint, generateDatabase, type GeneratedDatabase } from "./generate.ts";

const ROOT = resolve(import.meta.dirname, "../..");
/** The built CLI, and the command users run: its node flags are in the command's shebang. */
const CLI = join(ROOT, "packages/cli/dist/main.js");
const COMMAND = join(ROOT, "packages/cli/bin/cobalt-backup.js");
const MiB = 2 ** 20;

const SCALE = envNumber("COBALT_BENCH_SCALE", 1);
const JOBS = envNumber("COBALT_BENCH_JOBS", 2);
const SMALL_TABLES = envNumber("COBALT_BENCH_SMALL_TABLES", 200);
const REPEAT = Math.round(envNumber("COBALT_BENCH_REPEAT", 1));
const RESTORE_ONLY = process.env.COBALT_BENCH_RESTORE_ONLY === "1";
const SIZES = [
  { label: "small", targetBytes: Math.round(100 * MiB * SCALE) },
  { label: "large", targetBytes: Math.round(400 * MiB * SCALE) },
].filter((s) => (process.env.COBALT_BENCH_SIZES ?? "small,large").split(",").includes(s.label));

// GNU time sees the whole process (and, for pg_dump -j, the largest of its workers) from the
// kernel's rusage; /proc polling is the fallback when it is missing or is not GNU time.
const GNU_TIME = "/usr/bin/time";
const useGnuTime = process.env.COBALT_BENCH_RSS !== "proc" && existsSync(GNU_TIME) && spawnSync(GNU_TIME, ["-f", "%M", "-o", "/dev/null", "true"]).status === 0;
const RSS_SOURCE = useGnuTime ? "GNU time %M (max RSS of the process or its largest child)" : "polled /proc/<pid>/status VmHWM (main process only)";

interface Run {
  command: string;
  seconds: number;
  peakRssBytes: number | null;
  stdout: string;
  stderr: string;
}

interface SizeResult {
  label: string;
  database: Omit<GeneratedDatabase, "url">;
  backup: {
    pgDumpFc: Measured & { outputBytes: number };
    pgDumpFd: Measured & { outputBytes: number };
    cobalt: Measured & { outputBytes: number; id: string; reported: Record<string, unknown> };
    /** The same backup streamed to an S3 server (s3rver): multipart upload memory. */
    cobaltS3: Measured & { reported: Record<string, unknown> };
  };
  restore: {
    pgRestore: Measured;
    cobalt: Measured & { reported: Record<string, unknown> };
  };
  ratios: { backupVsFc: number; backupVsFd: number; restoreVsPgRestore: number; storedVsFc: number; storedVsFd: number };
}

type Measured = Pick<Run, "seconds" | "peakRssBytes">;

class CommandFailed extends Error {}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
// Connection URLs carry the cluster's password; keep it out of anything printed.
const redact = (s: string) => s.replace(/(postgres(?:ql)?:\/\/[^:/@]+):[^@]*@/g, "$1:***@");
const mib = (b: number | null | undefined) => (b == null ? "n/a" : `${(b / MiB).toFixed(1)} MiB`);
const ratio = (a: number, b: number) => (b > 0 ? a / b : Number.NaN);
const x = (r: number) => `${r.toFixed(2)}x`;

const children = new Set<ChildProcess>();
let runCounter = 0;

/** Runs a command to completion, timing it and measuring its peak RSS; throws on a non-zero exit. */
async function measure(work: string, cmd: string, args: string[]): Promise<Run> {
  const command = redact([cmd, ...args].join(" "));
  const rssFile = join(work, `rss-${++runCounter}.txt`);
  const [file, argv] = useGnuTime ? [GNU_TIME, ["-f", "%M", "-o", rssFile, cmd, ...args]] : [cmd, args];
  log(`  $ ${command}`);
  const started = performance.now();
  const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));

  let polledHwm = 0;
  const poll = useGnuTime
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
          if (m) polledHwm = Math.max(polledHwm, Number(m[1]) * 1024);
        } catch {
          // exited between polls: VmHWM only grows, so the last reading stands
        }
      }, 20);

  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done, fail) => {
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal }));
  }).finally(() => {
    clearInterval(poll);
    children.delete(child);
  });
  const seconds = (performance.now() - started) / 1000;

  if (code !== 0) {
    throw new CommandFailed(
      `command failed (${signal ?? `exit ${code}`}): ${command}\n--- stderr ---\n${redact(stderr.slice(-8000))}\n--- stdout ---\n${redact(stdout.slice(-2000))}`,
    );
  }
  let peakRssBytes: number | null = polledHwm || null;
  if (useGnuTime) {
    const kb = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
    peakRssBytes = Number.isFinite(kb) && kb > 0 ? kb * 1024 : null;
  }
  return { command, seconds, peakRssBytes, stdout, stderr };
}

/** One command of a comparison: what it runs, and what must happen before each run. */
interface Timed {
  cmd: string;
  args: () => string[];
  prepare?: () => Promise<void> | void;
}

/**
 * Runs the commands in rounds, each once per round, `repeat` rounds, and returns each command's
 * run of median wall time (its RSS and output with it). Rounds, not one command's runs in a row:
 * a slow stretch of a shared machine then slows every tool compared, not whichever ran during it.
 * Each run starts after `sync`: what earlier runs wrote (dumps, stores, s3rver's files) is on
 * disk by then, so no run pays for the write-back of another's output. What a tool syncs itself
 * (pg_dump fsyncs its output) stays in its own time.
 */
async function measureRounds(work: string, commands: Record<string, Timed>, repeat = REPEAT): Promise<Record<string, Run>> {
  const runs = new Map(Object.keys(commands).map((k) => [k, [] as Run[]]));
  for (let i = 0; i < repeat; i++) {
    for (const [k, c] of Object.entries(commands)) {
      await c.prepare?.();
      spawnSync("sync");
      const run = await measure(work, c.cmd, c.args());
      log(`    round ${i + 1}, ${k}: ${run.seconds.toFixed(2)} s`);
      runs.get(k)!.push(run);
    }
  }
  const median = (r: Run[]) => [...r].sort((a, b) => a.seconds - b.seconds)[Math.floor(r.length / 2)]!;
  return Object.fromEntries([...runs].map(([k, r]) => [k, median(r)]));
}

/** The CLI's --json result: its last stdout line. */
function cliResult(run: Run): Record<string, unknown> {
  const last = run.stdout.trim().split("\n").pop() ?? "";
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(last);
  } catch {
    json = undefined;
  }
  if (!json || json.ok !== true) {
    throw new CommandFailed(`no successful JSON result from: ${run.command}\n--- stdout ---\n${redact(run.stdout.slice(-2000))}\n--- stderr ---\n${redact(run.stderr.slice(-8000))}`);
  }
  return json;
}

function diskBytes(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, entry) => sum + diskBytes(join(path, entry)), 0);
}

const pick = ({ seconds, peakRssBytes }: Run): Measured => ({ seconds, peakRssBytes });

async function benchSize(cluster: Cluster, work: string, size: (typeof SIZES)[number], s3: S3Server): Promise<SizeResult> {
  log(`\n[${size.label}] generating ~${mib(size.targetBytes)} of table data`);
  const genStarted = performance.now();
  const db = await generateDatabase(cluster, `bench_${size.label}`, { targetBytes: size.targetBytes, smallTables: SMALL_TABLES, log });
  log(`[${size.label}] generated in ${((performance.now() - genStarted) / 1000).toFixed(1)} s: database ${mib(db.databaseBytes)}`);
  const source = await fingerprint(cluster, db.name);

  const dir = mkdtempSync(join(work, `${size.label}-`));
  const fcFile = join(dir, "dump.fc");
  const fdDir = join(dir, "dump.fd");
  const storeDir = join(dir, "store");
  mkdirSync(storeDir);

  log(`[${size.label}] backups`);
  const fresh = (path: string) => () => rmSync(path, { recursive: true, force: true });
  // Each run its own store, so the median run's backup is the one restored and measured.
  let storeRun = 0;
  let s3Run = 0;
  const ourBackup: Timed = { cmd: COMMAND, args: () => ["backup", "--source", db.url, "--dest", pathToFileURL(join(storeDir, String(++storeRun))).href, "--jobs", String(JOBS), "--json"] };
  const backups = await measureRounds(
    work,
    {
      fc: { cmd: "pg_dump", args: () => ["-Fc", "-f", fcFile, "-d", db.url], prepare: fresh(fcFile) },
      fd: { cmd: "pg_dump", args: () => ["-Fd", "-j", String(JOBS), "-f", fdDir, "-d", db.url], prepare: fresh(fdDir) },
      ours: ourBackup,
      ...(RESTORE_ONLY ? {} : { oursS3: { cmd: COMMAND, args: () => ["backup", "--source", db.url, "--dest", `s3://${s3.bucket}/${size.label}-${++s3Run}`, "--endpoint", s3.endpoint, "--jobs", String(JOBS), "--json"] } }),
    },
    RESTORE_ONLY ? 1 : REPEAT,
  );
  const [fc, fd, ours] = [backups.fc!, backups.fd!, backups.ours!];
  const backupResult = cliResult(ours);
  const id = String(backupResult.id);
  const oursStore = String(backupResult.location);
  const oursS3 = backups.oursS3 ?? ours;
  const s3Result = RESTORE_ONLY ? {} : cliResult(oursS3);

  log(`[${size.label}] restores`);
  const pgTarget = `restore_pg_${size.label}`;
  const ourTarget = `restore_ours_${size.label}`;
  const recreate = (name: string) => async () => {
    await cluster.query("postgres", `DROP DATABASE IF EXISTS "${name}"`);
    await cluster.createDatabase(name);
  };
  const restores = await measureRounds(work, {
    pr: { cmd: "pg_restore", args: () => ["-j", String(JOBS), "-d", cluster.url(pgTarget), fdDir], prepare: recreate(pgTarget) },
    or: { cmd: COMMAND, args: () => ["restore", "--from", oursStore, "--backup", id, "--target", cluster.url(ourTarget), "--jobs", String(JOBS), "--json"], prepare: recreate(ourTarget) },
  });
  const [pr, or] = [restores.pr!, restores.or!];
  const restoreResult = cliResult(or);

  // Timings of a restore that lost data would be meaningless.
  for (const target of [`restore_pg_${size.label}`, `restore_ours_${size.label}`]) {
    const got = await fingerprint(cluster, target);
    if (JSON.stringify(got) !== JSON.stringify(source)) {
      throw new CommandFailed(`${target} does not match bench_${size.label}: expected ${JSON.stringify(source)}, got ${JSON.stringify(got)}`);
    }
  }

  const backup = {
    pgDumpFc: { ...pick(fc), outputBytes: diskBytes(fcFile) },
    pgDumpFd: { ...pick(fd), outputBytes: diskBytes(fdDir) },
    cobalt: { ...pick(ours), outputBytes: diskBytes(fileURLToPath(oursStore)), id, reported: backupResult },
    cobaltS3: { ...pick(oursS3), reported: s3Result },
  };
  const result: SizeResult = {
    label: size.label,
    database: (({ url: _url, ...rest }) => rest)(db),
    backup,
    restore: { pgRestore: pick(pr), cobalt: { ...pick(or), reported: restoreResult } },
    ratios: {
      backupVsFc: ratio(ours.seconds, fc.seconds),
      backupVsFd: ratio(ours.seconds, fd.seconds),
      restoreVsPgRestore: ratio(or.seconds, pr.seconds),
      storedVsFc: ratio(backup.cobalt.outputBytes, backup.pgDumpFc.outputBytes),
      storedVsFd: ratio(backup.cobalt.outputBytes, backup.pgDumpFd.outputBytes),
    },
  };

  // Free the disk before the next, larger size.
  for (const name of [db.name, `restore_pg_${size.label}`, `restore_ours_${size.label}`]) await cluster.query("postgres", `DROP DATABASE "${name}"`);
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** The multipart memory bound the CLI reports: part size x queue size x parallel uploads. */
function uploadBound(reported: Record<string, unknown>): string {
  const store = reported.store as { minPartSize?: number; queueSize?: number } | undefined;
  if (!store?.minPartSize || !store.queueSize) return "n/a";
  return `${mib(store.minPartSize)} x ${store.queueSize} x ${JOBS} = ${mib(store.minPartSize * store.queueSize * JOBS)}`;
}

function printSize(r: SizeResult): void {
  const d = r.database;
  const row = (step: string, tool: string, m: Measured, output?: number, note = "") =>
    `  ${step.padEnd(8)} ${tool.padEnd(20)} ${m.seconds.toFixed(2).padStart(8)} ${mib(m.peakRssBytes).padStart(12)} ${(output === undefined ? "" : mib(output)).padStart(12)}${note}`;
  const reportedRss = (rep: Record<string, unknown>) => (typeof rep.peakRssBytes === "number" ? `   (CLI reports ${mib(rep.peakRssBytes)})` : "");
  console.log(`
${r.label}: database ${mib(d.databaseBytes)} = table data ${mib(d.tableBytes)} (events ${mib(d.bigTableBytes)}, ${d.bigTableRows.toLocaleString("en-US")} rows, ${((100 * d.bigTableBytes) / d.tableBytes).toFixed(0)} % of it${d.bigTableBytes >= 0.7 * d.tableBytes ? ": the dominant-table shape" : ""}; ${d.smallTables} small tables, ${d.smallTableRows.toLocaleString("en-US")} rows) + indexes ${mib(d.indexBytes)} + catalogs
  ${"step".padEnd(8)} ${"tool".padEnd(20)} ${(REPEAT > 1 ? `median ${REPEAT}` : "wall s").padStart(8)} ${"peak RSS".padStart(12)} ${"output".padStart(12)}
${row("backup", "pg_dump -Fc", r.backup.pgDumpFc, r.backup.pgDumpFc.outputBytes)}
${row("backup", `pg_dump -Fd -j${JOBS}`, r.backup.pgDumpFd, r.backup.pgDumpFd.outputBytes)}
${row("backup", `cobalt --jobs ${JOBS}`, r.backup.cobalt, r.backup.cobalt.outputBytes, reportedRss(r.backup.cobalt.reported))}
${row("backup", `cobalt -> s3rver`, r.backup.cobaltS3, undefined, reportedRss(r.backup.cobaltS3.reported))}
${row("restore", `pg_restore -j${JOBS}`, r.restore.pgRestore)}
${row("restore", `cobalt --jobs ${JOBS}`, r.restore.cobalt, undefined, reportedRss(r.restore.cobalt.reported))}
  backup time:  ${x(r.ratios.backupVsFc)} of pg_dump -Fc, ${x(r.ratios.backupVsFd)} of pg_dump -Fd -j${JOBS}
  backup size:  ${x(r.ratios.storedVsFc)} of pg_dump -Fc, ${x(r.ratios.storedVsFd)} of pg_dump -Fd (cobalt zstd vs pg_dump's default gzip)
  restore time: ${x(r.ratios.restoreVsPgRestore)} of pg_restore -j${JOBS} (both restores verified: same tables, indexes, row counts)${phases(r.restore.cobalt.reported)}`);
}

/** The restore's own per-phase timings (its --json `timings`), when it reports them. */
function phases(reported: Record<string, unknown>): string {
  const t = reported.timings as Record<string, unknown> | undefined;
  if (!t) return "";
  const phase = Object.entries(t).flatMap(([k, v]) => (typeof v === "number" ? [`${k.replace(/Ms$/, "")} ${(v / 1000).toFixed(2)} s`] : []));
  const work = Object.entries((t as { taskMs?: Record<string, number> }).taskMs ?? {}).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)} s`);
  return `\n  restore phases (cobalt, median run): ${phase.join(", ")}${work.length ? `; work summed over connections: ${work.join(", ")}` : ""}`;
}

function toolVersion(tool: string): string {
  const r = spawnSync(tool, ["--version"], { encoding: "utf8" });
  if (r.status !== 0) throw new CommandFailed(`${tool} is not runnable (${r.error?.message ?? `exit ${r.status}`}); the benchmark needs PostgreSQL 15 client tools on PATH`);
  return r.stdout.trim();
}

async function main(): Promise<number> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build first`);
  const work = mkdtempSync(join(tmpdir(), "cobalt-bench-"));
  let cluster: Cluster | undefined;
  let s3: S3Server | undefined;
  let cleaned: Promise<void> | undefined;
  const cleanup = () =>
    (cleaned ??= (async () => {
      for (const child of children) child.kill("SIGTERM");
      rmSync(work, { recursive: true, force: true });
      await cluster?.stop();
      await s3?.stop();
    })());
  const onSignal = (sig: NodeJS.Signals) => void cleanup().finally(() => process.exit(sig === "SIGINT" ? 130 : 143));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    const pgDumpVersion = toolVersion("pg_dump");
    toolVersion("pg_restore");
    log(`starting embedded PostgreSQL 15 (${pgDumpVersion}; peak RSS from ${RSS_SOURCE})`);
    cluster = await startCluster(15);
    s3 = await startS3("bench");
    Object.assign(process.env, s3.env);
    const serverVersion = String((await cluster.query("postgres", "SHOW server_version"))[0]!.server_version);

    const results: SizeResult[] = [];
    for (const size of SIZES) results.push(await benchSize(cluster, work, size, s3));

    console.log(`cobalt-backup benchmark: PostgreSQL ${serverVersion} (embedded, fsync off), ${pgDumpVersion}, node ${process.version}, jobs ${JOBS}, scale ${SCALE}`);
    console.log(`wall times in seconds; peak RSS: ${RSS_SOURCE}; the server's own memory is not counted for any tool`);
    results.forEach(printSize);

    // With one size (COBALT_BENCH_SIZES), the growth figures compare it with itself.
    const [small, large] = [results[0]!, results.at(-1)!];
    const rssGrowth = ratio(large.backup.cobalt.peakRssBytes ?? Number.NaN, small.backup.cobalt.peakRssBytes ?? Number.NaN);
    const dbGrowth = ratio(large.database.databaseBytes, small.database.databaseBytes);
    const restoreRssGrowth = ratio(large.restore.cobalt.peakRssBytes ?? Number.NaN, small.restore.cobalt.peakRssBytes ?? Number.NaN);
    console.log(`
backup peak RSS vs database size: ${small.label} ${mib(small.backup.cobalt.peakRssBytes)} -> ${large.label} ${mib(large.backup.cobalt.peakRssBytes)}: ${x(rssGrowth)} for a ${x(dbGrowth)} larger database (restore: ${x(restoreRssGrowth)})
backup to S3 peak RSS: ${small.label} ${mib(small.backup.cobaltS3.peakRssBytes)} -> ${large.label} ${mib(large.backup.cobaltS3.peakRssBytes)}; upload buffers are bounded by part size x queue size x jobs = ${uploadBound(large.backup.cobaltS3.reported)}, for a ${mib(large.database.tableBytes)} table-data database`);
    console.log(
      JSON.stringify({
        bench: "cobalt-backup",
        server: serverVersion,
        pgDump: pgDumpVersion,
        node: process.version,
        jobs: JOBS,
        scale: SCALE,
        rssSource: RSS_SOURCE,
        results,
        backupPeakRssGrowth: rssGrowth,
        restorePeakRssGrowth: restoreRssGrowth,
        databaseGrowth: dbGrowth,
      }),
    );
    return 0;
  } catch (e) {
    console.error(`\nbenchmark failed: ${e instanceof CommandFailed ? e.message : redact(e instanceof Error ? (e.stack ?? e.message) : String(e))}`);
    return 1;
  } finally {
    await cleanup();
  }
}

process.exit(await main());
