import { InvalidArgumentError, type Command } from "commander";
import { causeMessage, type DumpProgress, type RestoreProgress } from "@cobalt-backup/core";
import { UsageError } from "../adapters/postgres-url.js";
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

/** Runs a command body with one Output; input errors exit 2, anything unexpected exits 1. */
export async function runCommand(opts: { json?: boolean }, body: (out: Output) => Promise<void>): Promise<void> {
  const out = createOutput(opts);
  try {
    await body(out);
  } catch (e) {
    if (e instanceof UsageError) out.fail(e.message, EXIT.usage, { tag: "UsageError" });
    else out.fail(causeMessage(e), EXIT.failed, { tag: "Unexpected" });
  }
}

/** A progress callback that draws the TTY line and emits a structured event per finished table. */
export function dumpProgress(out: Output, label: string): (p: DumpProgress) => void {
  const t0 = Date.now();
  return (p) => {
    const secs = Math.max(0.001, (Date.now() - t0) / 1000);
    out.progress(`${label}: ${p.phase} · tables ${p.tablesDone}/${p.tablesTotal} · ${count(p.rows)} rows · ${bytes(p.rawBytes)} read · ${bytes(p.storedBytes)} stored · ${bytes(p.rawBytes / secs)}/s`);
    if (p.table || p.phase !== "data") {
      if (!process.stderr.isTTY || p.phase !== "data") out.event(p.table ? "table.dumped" : `phase.${p.phase}`, { ...(p.table ? { table: p.table } : {}), tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, rows: p.rows, rawBytes: p.rawBytes, storedBytes: p.storedBytes });
    }
  };
}

export function restoreProgress(out: Output, label: string): (p: RestoreProgress) => void {
  const t0 = Date.now();
  return (p) => {
    const secs = Math.max(0.001, (Date.now() - t0) / 1000);
    out.progress(`${label}: ${p.phase} · tables ${p.tablesDone}/${p.tablesTotal} · ${count(p.rows)} rows · ${count(Math.round(p.rows / secs))} rows/s`);
    if (!process.stderr.isTTY || !p.table) out.event(p.table ? "table.restored" : `phase.${p.phase}`, { ...(p.table ? { table: p.table } : {}), tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, rows: p.rows });
  };
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
