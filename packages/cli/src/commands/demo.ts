import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Command } from "commander";
import { embeddedPostgresBinaries, startEmbeddedPostgres } from "../adapters/embedded-postgres.js";
import { postgresTarget } from "../adapters/postgres-url.js";
import { runSqlScript } from "../adapters/sql-script.js";
import { configSchema } from "../config/config-schema.js";
import { parseJobs, runCommand } from "./common.js";
import { reportRun, runWithConfig } from "./run.js";

/** The pagila sample, copied beside the built CLI (dist/pagila) so the installed package has it. */
const pagilaDir = () => resolve(dirname(fileURLToPath(import.meta.url)), "pagila");

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("no AWS, no database needed: the nightly pipeline on the pagila sample in an embedded PostgreSQL, into ./demo-backups, verified")
    .option("--dest <dir>", "where to keep the demo backups", "demo-backups")
    .option("--jobs <n>", "parallel jobs", parseJobs, 2)
    .option("--json", "print the report as one JSON object, logs as JSON lines on stderr")
    .action((opts: { dest: string; jobs: number; json?: boolean }) =>
      runCommand(opts, async (out, signal) => {
        out.event("demo.start", { step: "starting an embedded PostgreSQL and loading pagila" });
        const server = await startEmbeddedPostgres(await embeddedPostgresBinaries(), { fast: true });
        try {
          const sourceUrl = await server.createDatabase("pagila");
          const client = await postgresTarget(sourceUrl, "demo source").connect();
          try {
            for (const f of ["schema.sql", "data.sql"]) await runSqlScript(client, readFileSync(join(pagilaDir(), f), "utf8"));
          } finally {
            await client.end();
          }
          // The same pipeline as `run`, with the RDS stage skipped: the source URL is used directly.
          const config = configSchema.parse({
            source: { url: sourceUrl },
            store: { url: pathToFileURL(resolve(opts.dest)).href },
            backup: { jobs: opts.jobs },
            verify: { target: server.url() },
            retention: { keepLast: 3 },
          });
          reportRun(out, await runWithConfig(out, config, signal), "demo");
        } finally {
          await server.stop();
        }
      }, { interruptible: true }),
    );
}
