import { InvalidArgumentError, type Command } from "commander";
import { causeMessage, parseSize, tagOf, type DumpProgress, type RestoreProgress, type Sections, type Selection } from "@cobalt-backup/core";
import { interruptible } from "../adapters/interrupt.js";
import { UsageError } from "../usage-error.js";
import { EXIT, bytes, count, createOutput, type Output } from "../output.js";

export const parseJobs = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError("expected a whole number from 1 to 64");
  return n;
};

export const parseDays = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new InvalidArgumentError("expected a whole number of days from 1 to 36500");
  return n;
};

export const parseCompression = (v: string): "zstd" | "gzip" | "none" => {
  if (v === "zstd" || v === "gzip" || v === "none") return v;
  throw new InvalidArgumentError("expected zstd, gzip or none");
};

/**
 * Runs a command body with one Output; each failure exits with the code its tag means (usage
 * errors 2, anything unexpected 1). An `interruptible` command gets a signal that SIGINT/SIGTERM
 * (and a crash) abort, and exits 130/143 once it has cleaned up; the others exit on a signal at once.
 */
export async function runCommand(opts: { json?: boolean }, body: (out: Output, signal: AbortSignal) => Promise<void>, how: { interruptible?: boolean } = {}): Promise<void> {
  const out = createOutput(opts);
  const interrupt = how.interruptible
    ? interruptible((signal) => out.event("interrupt", { signal, action: "stopping: closing connections, aborting uploads and deleting what was written" }))
    : undefined;
  try {
    await body(out, interrupt?.signal ?? new AbortController().signal);
  } catch (e) {
    // A tagged error (a UsageError, a port's) exits by its tag; anything else is unexpected.
    out.failWith({ _tag: tagOf(e), message: causeMessage(e) });
  } finally {
    interrupt?.dispose();
  }
  // Interrupted and failed for it: the signal's own code, so that a shell sees what happened.
  const signalled = interrupt?.exitCode();
  if (signalled !== undefined && process.exitCode !== undefined && process.exitCode !== EXIT.ok) process.exitCode = signalled;
}

/**
 * A progress callback: the TTY line (with the table that is streaming, rows and bytes), a JSON
 * event per phase and per finished table, and throttled `table.progress` events while a table streams.
 */
export function dumpProgress(out: Output, label: string): (p: DumpProgress) => void {
  const t0 = Date.now();
  let shown: string | undefined;
  return (p) => {
    // A table (or chunk) that starts streaming is shown at once; the rest of the line is throttled.
    const current = p.streaming ? `${p.streaming.table} ${p.streaming.chunk ?? ""}` : undefined;
    const fresh = current !== undefined && current !== shown;
    if (current) shown = current;
    out.progress(() => {
      const secs = Math.max(0.001, (Date.now() - t0) / 1000);
      const inTable = p.streaming ? ` · ${p.streaming.table}${p.streaming.chunk ? ` chunk ${p.streaming.chunk}` : ""} ${count(p.streaming.rows)} rows ${bytes(p.streaming.rawBytes)}` : "";
      const units = p.unitsTotal > p.tablesTotal ? ` · units ${p.unitsDone}/${p.unitsTotal}${p.unitsReused ? ` (${p.unitsReused} reused)` : ""}` : "";
      return `${label}: ${p.phase} · tables ${p.tablesDone}/${p.tablesTotal}${units} · ${count(p.rows)} rows · ${bytes(p.rawBytes)} read · ${bytes(p.storedBytes)} stored · ${bytes(p.rawBytes / secs)}/s${inTable}`;
    }, fresh);
    const totals = { tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, unitsDone: p.unitsDone, unitsTotal: p.unitsTotal, unitsReused: p.unitsReused, rows: p.rows, rawBytes: p.rawBytes, storedBytes: p.storedBytes };
    if (p.streaming) out.tick("table.progress", { table: p.streaming.table, ...(p.streaming.chunk ? { chunk: p.streaming.chunk } : {}), tableRows: p.streaming.rows, tableRawBytes: p.streaming.rawBytes, ...totals });
    else if (!process.stderr.isTTY || p.phase !== "data" || !p.table) out.event(p.table ? "table.dumped" : `phase.${p.phase}`, { ...(p.table ? { table: p.table } : {}), ...totals });
  };
}

/** Likewise for restore and verify: rows (of those the manifest recorded) while a table loads or is read back. */
export function restoreProgress(out: Output, label: string): (p: RestoreProgress) => void {
  const t0 = Date.now();
  let shown: string | undefined;
  return (p) => {
    const s = p.streaming;
    const fresh = s !== undefined && `${p.phase} ${s.table}` !== shown;
    if (s) shown = `${p.phase} ${s.table}`;
    out.progress(() => {
      const secs = Math.max(0.001, (Date.now() - t0) / 1000);
      const inTable = s ? ` · ${s.table} ${count(s.rows)}/${count(s.expectedRows)} rows ${bytes(s.rawBytes)}` : "";
      return `${label}: ${p.phase} · tables ${p.tablesDone}/${p.tablesTotal} · ${count(p.rows)} rows · ${count(Math.round(p.rows / secs))} rows/s${inTable}`;
    }, fresh);
    const totals = { tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, rows: p.rows };
    if (s) out.tick("table.progress", { phase: p.phase, table: s.table, tableRows: s.rows, tableExpectedRows: s.expectedRows, tableRawBytes: s.rawBytes, ...totals });
    else if (!process.stderr.isTTY || !p.table) out.event(p.table ? (p.phase === "read-back" ? "table.checked" : "table.restored") : `phase.${p.phase}`, { ...(p.table ? { table: p.table } : {}), ...totals });
  };
}

/** Draws the TTY progress line and emits a structured event when the phase changes. */
export function filesProgress<P extends { phase: string; files: number; filesTotal: number; bytes: number; bytesTotal: number }>(out: Output, label: string): (p: P) => void {
  let phase = "";
  const t0 = Date.now();
  return (p) => {
    out.progress(() => `${label}: ${p.phase} · files ${count(p.files)}/${count(p.filesTotal)} · ${bytes(p.bytes)} of ${bytes(p.bytesTotal)} · ${bytes(p.bytes / Math.max(0.001, (Date.now() - t0) / 1000))}/s`);
    if (p.phase !== phase) {
      phase = p.phase;
      out.event(`phase.${p.phase}`, { files: p.files, filesTotal: p.filesTotal, bytes: p.bytes, bytesTotal: p.bytesTotal });
    }
  };
}

/** A byte count or a size with a unit (64MiB, 1GiB). */
export function parseSizeFlag(v: string): number {
  const n = parseSize(v);
  if (n === undefined) throw new InvalidArgumentError(`expected a size in bytes or with a unit such as 64MiB or 1GiB, got ${JSON.stringify(v)}`);
  return n;
}

export const peakRssBytes = (): number => process.resourceUsage().maxRSS * 1024;

/** `--create-roles` and `--roles-login`, shared by restore and export-sql. */
export const roleFlags = (command: Command): Command =>
  command
    .option("--create-roles", "first create the roles the backup uses that the target lacks (attributes and memberships; NOLOGIN, no password), so every owner and GRANT applies")
    .option("--roles-login", "with --create-roles: LOGIN for roles that could log in on the source (still no password)");

/** The core option those flags ask for. */
export function createRolesOption(opts: { createRoles?: boolean; rolesLogin?: boolean }): { createRoles?: { login: boolean } } {
  if (opts.rolesLogin && !opts.createRoles) throw new UsageError("--roles-login goes with --create-roles");
  return opts.createRoles ? { createRoles: { login: Boolean(opts.rolesLogin) } } : {};
}

/** `--from` and `--backup`, shared by the commands that read one backup. */
export const selectBackup = (command: Command): Command =>
  command
    .requiredOption("--from <store-url>", "the store holding the backup")
    .option("--backup <id>", "backup id, <source>/latest, or latest", "latest");

const collect = (v: string, previous: string[] = []): string[] => [...previous, v];

export interface SelectionFlags {
  table?: string[];
  schema?: string[];
  excludeTable?: string[];
  schemaOnly?: boolean;
  dataOnly?: boolean;
}

/** pg_restore's selection flags, for restore and export-sql. */
export function selectionFlags(cmd: Command): Command {
  return cmd
    .option("--table <schema.name>", "only this table (repeatable; a bare name is public.name), with what it needs that the target lacks, its indexes, constraints and triggers", collect)
    .option("--schema <name>", "only the objects of this schema (repeatable)", collect)
    .option("--exclude-table <schema.name>", "leave this table out, and the objects that need it (reported) (repeatable)", collect)
    .option("--schema-only", "definitions only, no rows")
    .option("--data-only", "rows (and sequence states) only, into tables the target already has");
}

/** The selection the flags ask for; contradictory flags are a usage error. */
export function selectionOf(opts: SelectionFlags & { clean?: boolean }): { selection: Selection; sections: Sections } {
  if (opts.schemaOnly && opts.dataOnly) throw new UsageError("--schema-only and --data-only exclude each other: leave both out for definitions and rows");
  if (opts.dataOnly && opts.clean) throw new UsageError("--clean drops objects, --data-only keeps the target's: use one of them");
  return {
    selection: { ...(opts.table ? { tables: opts.table } : {}), ...(opts.schema ? { schemas: opts.schema } : {}), ...(opts.excludeTable ? { excludeTables: opts.excludeTable } : {}) },
    sections: opts.schemaOnly ? "schema-only" : opts.dataOnly ? "data-only" : "all",
  };
}
