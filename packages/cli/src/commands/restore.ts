import type { Command } from "commander";
import { resolveBackupId, restoreBackup } from "@cobalt-backup/core";
import { postgresTarget } from "../adapters/postgres-url.js";
import { decryptionFlags, decryptionKeys } from "../adapters/age-keys.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { count } from "../output.js";
import { createRolesOption, parseJobs, restoreProgress, roleFlags, runCommand, selectBackup, selectionFlags, selectionOf, type SelectionFlags } from "./common.js";

export function registerRestore(program: Command): void {
  selectionFlags(roleFlags(decryptionFlags(storeFlags(selectBackup(program.command("restore").description("restore a backup, or part of it, into an empty database (or, with --clean, replace its contents, or just the selected objects)"))))))
    .requiredOption("--target <database>", "database to restore into, as psql -d takes it: postgresql://user@host/db, host=... dbname=..., or a name (PG* variables and ~/.pgpass apply)")
    .option("--jobs <n>", "tables loaded and indexes built in parallel", parseJobs, 2)
    .option("--clean", "drop what the target database holds before restoring")
    .option("--no-owner", "do not restore object owners (objects belong to the restoring user)")
    .option("--no-privileges", "do not restore GRANTs and default privileges")
    .option("--no-analyze", "do not ANALYZE the restored tables at the end (the planner then has no statistics until autovacuum runs)")
    .option("--json", "print the result as one JSON object, logs as JSON lines on stderr")
    .action((opts: StoreFlags & SelectionFlags & { analyze: boolean; identity?: string[]; passphraseEnv?: string; from: string; backup: string; target: string; jobs: number; clean?: boolean; owner: boolean; privileges: boolean; createRoles?: boolean; rolesLogin?: boolean; json?: boolean }) =>
      runCommand(opts, async (out, signal) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const target = postgresTarget(opts.target, "--target");
        const roleOption = createRolesOption(opts);
        const { selection, sections } = selectionOf(opts);
        const id = await resolveBackupId(store, opts.backup);
        if (id.isErr()) return out.failWith(id.error);
        out.event("restore.start", { id: id.value, from: store.location, target: target.display });
        const r = await restoreBackup(
          { connect: target.connect, store, decryption: decryptionKeys(opts), onProgress: restoreProgress(out, `restore ${id.value}`), signal },
          { id: id.value, jobs: opts.jobs, clean: Boolean(opts.clean), targetName: `${target.host}:${target.port}/${target.database}`, owners: opts.owner, privileges: opts.privileges, ...roleOption, selection, sections, analyze: opts.analyze },
        );
        if (r.isErr()) return out.failWith(r.error, "restore failed");
        const skipped = r.value.skippedPrivileges;
        const roles = r.value.roles;
        if (roles) out.event("roles.created", { created: roles.created, existing: roles.existing.length, memberships: roles.memberships, skipped: roles.skipped });
        if (skipped.length) out.event("privileges.skipped", { count: skipped.length, first: skipped.slice(0, 5) });
        const part = r.value.selection;
        const t = r.value.timings;
        const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
        out.result(
          { id: r.value.id, tables: r.value.tables, rows: r.value.rows, largeObjects: r.value.largeObjects, analyzed: r.value.analyzed, skippedPrivileges: skipped, ...(roles ? { roles } : {}), ...(part ? { selection: part } : {}), timings: t, durationMs: r.value.durationMs },
          `restored ${r.value.id} into ${target.database}: ${r.value.tables} tables, ${count(r.value.rows)} rows in ${secs(r.value.durationMs)}` +
            `\nphases: check ${secs(t.checkMs)}, pre-data ${secs(t.preDataMs)}, data ${secs(t.dataMs)}, post-data ${secs(t.postDataMs)} more, analyze ${secs(t.analyzeMs)} more, finish ${secs(t.finishMs)}` +
            (part?.dependencies.length ? `\nalso created, because the selection needs them: ${part.dependencies.join(", ")}` : "") +
            (part?.skipped.length ? `\nnot created (each needs a table neither restored nor in the target): ${part.skipped.map((k) => `${k.object} (${k.missing.join(", ")})`).join("; ")}` : "") +
            (part?.uncheckedForeignKeys?.length ? `\nloaded without triggers; these foreign keys to tables not loaded were not checked: ${part.uncheckedForeignKeys.join(", ")}` : "") +
            (roles?.created.length ? `\ncreated roles ${roles.created.join(", ")} (${opts.rolesLogin ? "LOGIN where the source's could log in" : "NOLOGIN"}, no password: ALTER ROLE ... LOGIN PASSWORD ... for those that connect)` : "") +
            (roles?.skipped.length ? `\nwarning: ${roles.skipped.length} role(s) or membership(s) not created (e.g. ${roles.skipped[0]!.object}: ${roles.skipped[0]!.reason})` : "") +
            (skipped.length ? `\nwarning: ${skipped.length} owner/privilege statement(s) not applied (e.g. ${skipped[0]!.object}: ${skipped[0]!.reason}); see --json for all` : ""),
        );
      }, { interruptible: true }),
    );
}
