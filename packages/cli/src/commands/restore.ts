import type { Command } from "commander";
import { resolveBackupId, restoreBackup } from "@cobalt-backup/core";
import { postgresTarget } from "../adapters/postgres-url.js";
import { decryptionFlags, decryptionKeys } from "../adapters/age-keys.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { count } from "../output.js";
import { createRolesOption, parseJobs, restoreProgress, roleFlags, runCommand, selectBackup } from "./common.js";

export function registerRestore(program: Command): void {
  roleFlags(decryptionFlags(storeFlags(selectBackup(program.command("restore").description("restore a backup into an empty database (or, with --clean, replace its contents)")))))
    .requiredOption("--target <database>", "database to restore into, as psql -d takes it: postgresql://user@host/db, host=... dbname=..., or a name (PG* variables and ~/.pgpass apply)")
    .option("--jobs <n>", "tables loaded and indexes built in parallel", parseJobs, 2)
    .option("--clean", "drop what the target database holds before restoring")
    .option("--no-owner", "do not restore object owners (objects belong to the restoring user)")
    .option("--no-privileges", "do not restore GRANTs and default privileges")
    .option("--json", "print the result as one JSON object, logs as JSON lines on stderr")
    .action((opts: StoreFlags & { identity?: string[]; passphraseEnv?: string; from: string; backup: string; target: string; jobs: number; clean?: boolean; owner: boolean; privileges: boolean; createRoles?: boolean; rolesLogin?: boolean; json?: boolean }) =>
      runCommand(opts, async (out, signal) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const target = postgresTarget(opts.target, "--target");
        const roleOption = createRolesOption(opts);
        const id = await resolveBackupId(store, opts.backup);
        if (id.isErr()) return out.failWith(id.error);
        out.event("restore.start", { id: id.value, from: store.location, target: target.display });
        const r = await restoreBackup(
          { connect: target.connect, store, decryption: decryptionKeys(opts), onProgress: restoreProgress(out, `restore ${id.value}`), signal },
          { id: id.value, jobs: opts.jobs, clean: Boolean(opts.clean), targetName: `${target.host}:${target.port}/${target.database}`, owners: opts.owner, privileges: opts.privileges, ...roleOption },
        );
        if (r.isErr()) return out.failWith(r.error, "restore failed");
        const skipped = r.value.skippedPrivileges;
        const roles = r.value.roles;
        if (roles) out.event("roles.created", { created: roles.created, existing: roles.existing.length, memberships: roles.memberships, skipped: roles.skipped });
        if (skipped.length) out.event("privileges.skipped", { count: skipped.length, first: skipped.slice(0, 5) });
        out.result(
          { id: r.value.id, tables: r.value.tables, rows: r.value.rows, largeObjects: r.value.largeObjects, skippedPrivileges: skipped, ...(roles ? { roles } : {}), durationMs: r.value.durationMs },
          `restored ${r.value.id} into ${target.database}: ${r.value.tables} tables, ${count(r.value.rows)} rows in ${(r.value.durationMs / 1000).toFixed(1)} s` +
            (roles?.created.length ? `\ncreated roles ${roles.created.join(", ")} (${opts.rolesLogin ? "LOGIN where the source's could log in" : "NOLOGIN"}, no password: ALTER ROLE ... LOGIN PASSWORD ... for those that connect)` : "") +
            (roles?.skipped.length ? `\nwarning: ${roles.skipped.length} role(s) or membership(s) not created (e.g. ${roles.skipped[0]!.object}: ${roles.skipped[0]!.reason})` : "") +
            (skipped.length ? `\nwarning: ${skipped.length} owner/privilege statement(s) not applied (e.g. ${skipped[0]!.object}: ${skipped[0]!.reason}); see --json for all` : ""),
        );
      }, { interruptible: true }),
    );
}
