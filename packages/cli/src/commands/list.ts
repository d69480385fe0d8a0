import type { Command } from "commander";
import { listBackups } from "@cobalt-backup/core";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { EXIT, bytes, count, table } from "../output.js";
import { runCommand } from "./common.js";

export function registerList(program: Command): void {
  storeFlags(program.command("list").description("list the complete backups in a store (unfinished ones, without a manifest, are not backups)"))
    .requiredOption("--from <store-url>", "the store to list")
    .option("--json", "print the list as one JSON object")
    .action((opts: StoreFlags & { from: string; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const store = await storeFromUrl(opts.from, "--from", opts);
        const r = await listBackups(store);
        if (r.isErr()) return out.fail(r.error.message, EXIT.failed, { tag: r.error._tag });
        const backups = r.value.map(({ id, manifest: m, verification: v }) => ({
          id,
          time: m.startedAt,
          source: `${m.source.host}:${m.source.port}/${m.source.database}`,
          serverVersion: m.source.serverVersion,
          tables: m.totals.tables,
          rows: m.totals.rows,
          storedBytes: m.totals.storedBytes,
          verified: v?.ok === true,
          verifiedAt: v?.ok ? v.verifiedAt : null,
        }));
        const human = backups.length
          ? table(
              ["id", "time", "source", "tables", "rows", "size", "verified"],
              backups.map((b) => [b.id, b.time, b.source, String(b.tables), count(b.rows), bytes(b.storedBytes), b.verified ? "yes" : "no"]),
            )
          : `no backups in ${store.location}`;
        out.result({ location: store.location, backups }, human);
      }),
    );
}
