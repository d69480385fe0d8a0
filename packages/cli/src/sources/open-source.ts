import type { BackupStore, OpenedSource } from "@cobalt-backup/core";
import { postgresTarget } from "../adapters/postgres-url.js";
import type { Config } from "../config/config-schema.js";
import type { Output } from "../output.js";

/**
 * The source of a dump, from its settings (`run`'s configuration, or `backup`'s flags as the same
 * shape): a database URL, or an RDS instance whose snapshot is restored to a temporary instance
 * (the RDS code loads only then). `what` names the setting in messages (`source.url`, `--source`).
 * The store is where an interrupted backup of the same snapshot is looked for, to continue it.
 */
export async function openSource(out: Output, src: Config["source"], signal: AbortSignal, store: BackupStore, what = "source.url"): Promise<OpenedSource> {
  if (src.url) {
    const t = postgresTarget(src.url, what);
    return { connect: t.connect, describe: { kind: "postgres-url", host: t.host, port: t.port, database: t.database, user: t.user }, close: async () => {} };
  }
  return (await import("./rds-source.js")).openRdsSource(out, src, signal, store);
}
