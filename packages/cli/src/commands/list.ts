import type { Command } from "commander";
import { listCatalog } from "@cobalt-backup/core";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, bytes, count, table } from "../output.js";
import { runCommand } from "./common.js";

export function registerList(program: Command): void {
  storeFlags(program.command("list").description("list the complete backups in a store, database and files (unfinished ones, without a manifest, are not backups)"))
    .requiredOption("--from <store-url>", "the store to list")
    .option("--json", "print the list as one JSON object")
    .action((opts: StoreFlags & { from: string; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const r = await listCatalog(store);
        if (r.isErr()) return out.fail(r.error.message, EXIT.failed, { tag: r.error._tag });
        const backups = r.value.map((e) =>
          e.kind === "database"
            ? {
                id: e.id,
                kind: e.kind,
                time: e.manifest.startedAt,
                source: `${e.manifest.source.host}:${e.manifest.source.port}/${e.manifest.source.database}`,
                serverVersion: e.manifest.source.serverVersion,
                tables: e.manifest.totals.tables,
                rows: e.manifest.totals.rows,
                storedBytes: e.manifest.totals.storedBytes,
                verified: e.verification?.ok === true,
                verifiedAt: e.verification?.ok ? e.verification.verifiedAt : null,
              }
            : {
                id: e.id,
                kind: e.kind,
                time: e.manifest.startedAt,
                source: e.manifest.source.dir,
                files: e.manifest.totals.files,
                bytes: e.manifest.totals.bytes,
                storedBytes: e.manifest.totals.storedBytes,
                encrypted: e.manifest.encryption !== null,
                verified: e.verification?.ok === true,
                verifiedAt: e.verification?.ok ? e.verification.verifiedAt : null,
              },
        );
        const human = backups.length
          ? table(
              ["id", "kind", "time", "source", "contents", "size", "verified"],
              backups.map((b) => [
                b.id,
                b.kind,
                b.time,
                b.source,
                "tables" in b ? `${b.tables} tables, ${count(b.rows ?? 0)} rows` : `${count(b.files ?? 0)} files, ${bytes(b.bytes ?? 0)}`,
                bytes(b.storedBytes),
                b.verified ? "yes" : "no",
              ]),
            )
          : `no backups in ${store.location}`;
        out.result({ location: store.location, backups }, human);
      }),
    );
}
