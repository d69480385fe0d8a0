import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { finished } from "node:stream/promises";
import type { Writable } from "node:stream";
import type { Command } from "commander";
import { exportSql, resolveBackupId, type ExportProgress } from "@cobalt-backup/core";
import { decryptionFlags, decryptionKeys } from "../adapters/age-keys.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, bytes, count, type Output } from "../output.js";
import { createRolesOption, roleFlags, runCommand, selectBackup, selectionFlags, selectionOf, type SelectionFlags } from "./common.js";

type Opts = StoreFlags & SelectionFlags & { identity?: string[]; passphraseEnv?: string; from: string; backup: string; out?: string; owner: boolean; privileges: boolean; createRoles?: boolean; rolesLogin?: boolean; json?: boolean };

/**
 * `export-sql`: one plain SQL script of a backup, for stock `psql -f`. The script goes to stdout
 * (then the summary goes to stderr, never into the script) or to `--out`, written under a
 * temporary name and renamed only once complete and verified.
 */
export function registerExportSql(program: Command): void {
  selectionFlags(roleFlags(decryptionFlags(storeFlags(selectBackup(program.command("export-sql").description("write a backup, or part of it, as one plain SQL script that psql -f restores into an empty database"))))))
    .option("--out <file>", "write the script to this file instead of stdout. The file holds the whole database decrypted: prefer the stream, export-sql ... | psql -v ON_ERROR_STOP=1 -d <target> -f -")
    .option("--no-owner", "leave out object owners")
    .option("--no-privileges", "leave out GRANTs and default privileges")
    .option("--json", "logs as JSON lines on stderr; with --out, the result as one JSON object on stdout")
    .action((opts: Opts) =>
      runCommand(opts, async (out) => {
        const roleOption = createRolesOption(opts);
        const { selection, sections } = selectionOf(opts);
        const store = await storeFromUrl(opts.from, "--from", opts);
        const keys = decryptionKeys(opts);
        const id = await resolveBackupId(store, opts.backup);
        if (id.isErr()) return out.failWith(id.error);
        out.event("export.start", { id: id.value, from: store.location, out: opts.out ?? "stdout" });

        const file = opts.out ? resolve(opts.out) : undefined;
        const partial = file ? join(dirname(file), `.${basename(file)}.partial`) : undefined;
        // The script holds the whole database in the clear: readable by its owner only.
        const sink: Writable = partial ? createWriteStream(partial, { mode: 0o600 }) : process.stdout;
        const r = await exportSql({ store, decryption: keys, onProgress: progress(out, `export ${id.value}`) }, { id: id.value, owners: opts.owner, privileges: opts.privileges, ...roleOption, selection, sections }, sink);
        if (partial && file) {
          sink.end();
          const closed = await finished(sink).then(() => undefined, (e: unknown) => e);
          if (r.isErr() || closed) {
            await rm(partial, { force: true });
            if (r.isOk()) return out.fail(`export failed: cannot write ${file}: ${String(closed)}`, EXIT.failed, { tag: "WriteFailed" });
          } else {
            await rename(partial, file);
          }
        } else {
          // Flush what is buffered before the process exits.
          await new Promise<void>((done) => process.stdout.write("", () => done()));
        }
        if (r.isErr()) return out.failWith(r.error, "export failed");
        const v = r.value;
        const summary = { id: v.id, tables: v.tables, rows: v.rows, largeObjects: v.largeObjects, bytes: v.bytes, out: file ?? "stdout", ...(v.skipped ? { dependencies: v.dependencies, skipped: v.skipped } : {}) };
        const human = `exported ${v.id}: ${v.tables} tables, ${count(v.rows)} rows, ${v.largeObjects} large objects, ${bytes(v.bytes)} of SQL${file ? ` to ${file}` : ""}`;
        if (file) {
          process.stderr.write(`cobalt-backup: note: ${file} holds the whole database${v.decrypted ? " decrypted" : ""}; delete it once restored. To write nothing to disk, stream it: cobalt-backup export-sql ... | psql -v ON_ERROR_STOP=1 -d <target> -f -\n`);
          out.result(summary, human);
        }
        else out.event("export.done", summary);
      }),
    );
}

function progress(out: Output, label: string): (p: ExportProgress) => void {
  return (p) => {
    out.progress(`${label}: ${p.phase} · tables ${p.tablesDone}/${p.tablesTotal} · ${count(p.rows)} rows`);
    if (!process.stderr.isTTY || !p.table) out.event(p.table ? "table.exported" : `phase.${p.phase}`, { ...(p.table ? { table: p.table } : {}), tablesDone: p.tablesDone, tablesTotal: p.tablesTotal, rows: p.rows });
  };
}
