import type { Command } from "commander";
import { listCatalog, type CatalogEntry } from "@cobalt-backup/core";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { bytes, count, table } from "../output.js";
import { runCommand } from "./common.js";

/** `passed`, `failed` (the last verification proved it bad) or `never`: "not verified" is not one thing. */
const verificationOf = (e: CatalogEntry) => ({
  verification: e.verification === null ? ("never" as const) : e.verification.ok ? ("passed" as const) : ("failed" as const),
  verified: e.verification?.ok === true,
  verifiedAt: e.verification?.verifiedAt ?? null,
  ...(e.verification?.problem ? { verificationProblem: e.verification.problem } : {}),
});

export function registerList(program: Command): void {
  storeFlags(program.command("list").description("list the complete backups in a store, database and files (unfinished ones, without a manifest, are not backups); damaged ones are reported"))
    .requiredOption("--from <store-url>", "the store to list")
    .option("--json", "print the list as one JSON object")
    .action((opts: StoreFlags & { from: string; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const r = await listCatalog(store);
        if (r.isErr()) return out.failWith(r.error);
        const backups = r.value.entries.map((e) =>
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
                ...verificationOf(e),
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
                ...verificationOf(e),
              },
        );
        const { damaged } = r.value;
        for (const d of damaged) out.event("backup.damaged", { id: d.id, problem: d.problem }, "warn");
        const shown = { passed: "yes", failed: "FAILED", never: "never" } as const;
        const rows = backups.map((b) => [
          b.id,
          b.kind,
          b.time,
          b.source,
          "tables" in b ? `${b.tables} tables, ${count(b.rows ?? 0)} rows` : `${count(b.files ?? 0)} files, ${bytes(b.bytes ?? 0)}`,
          bytes(b.storedBytes),
          shown[b.verification],
        ]);
        const human = backups.length || damaged.length
          ? [
              table(["id", "kind", "time", "source", "contents", "size", "verified"], [...rows, ...damaged.map((d) => [d.id, "DAMAGED", "", "", "its manifest cannot be read", "", ""])]),
              ...damaged.map((d) => `damaged: ${d.id}: ${d.problem}`),
            ].join("\n")
          : `no backups in ${store.location}`;
        out.result({ location: store.location, backups, damaged }, human);
      }),
    );
}
