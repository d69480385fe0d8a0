/**
 * cobalt-backup as a library, from other Cobalt tooling: back up one database into a directory,
 * prove the backup by restoring it into a second database, and print what was checked. The
 * stages compose because each is `stage(deps, input) -> ResultAsync`; clients are ours to build.
 *
 *   SOURCE_URL=postgresql://... SCRATCH_URL=postgresql://.../empty_db BACKUP_DIR=/tmp/b \
 *     npx tsx examples/library-use.ts
 */
import { pathToFileURL } from "node:url";
import pg from "pg";
import { fileStore, streamDump, verifyRestore, type PgConnect } from "@cobalt-backup/core";

const connectTo = (url: string): PgConnect => async () => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
};

const { SOURCE_URL, SCRATCH_URL, BACKUP_DIR } = process.env;
if (!SOURCE_URL || !SCRATCH_URL || !BACKUP_DIR) throw new Error("set SOURCE_URL, SCRATCH_URL and BACKUP_DIR");

const store = fileStore(pathToFileURL(BACKUP_DIR).href);
const source = new URL(SOURCE_URL);

const result = await streamDump(
  { connect: connectTo(SOURCE_URL), store, tool: { name: "cobalt-tools", version: "1.0.0" } },
  { jobs: 2, compression: "zstd", source: { kind: "postgres-url", host: source.hostname, port: Number(source.port || 5432), database: source.pathname.slice(1), user: source.username } },
).andThen(({ id }) => verifyRestore({ connect: connectTo(SCRATCH_URL), store }, { id, jobs: 2, targetName: "scratch", toolVersion: "1.0.0" }));

result.match(
  (report) => console.log(JSON.stringify({ id: report.id, ok: report.ok, tables: report.tables.length })),
  (error) => {
    console.error(`${error._tag}: ${error.message}`);
    process.exitCode = 1;
  },
);
