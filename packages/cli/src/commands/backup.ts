import type { Command } from "commander";
import { streamDump } from "@cobalt-backup/core";
import { encryptionFlags, encryptionKeys } from "../adapters/age-keys.js";
import { awsFlags, tlsFlags } from "../adapters/aws-flags.js";
import { postgresTarget } from "../adapters/postgres-url.js";
import { UsageError } from "../usage-error.js";
import type { RdsBackupOptions } from "./backup-rds.js";

type RdsFlagsInput = Omit<RdsBackupOptions, "rdsInstance" | "dest" | "jobs" | "compression" | "lockUntil"> & { rdsInstance?: string };
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import { bytes, count } from "../output.js";
import { TOOL } from "../version.js";
import { dumpProgress, parseCompression, parseDays, parseJobs, peakRssBytes, runCommand } from "./common.js";

export function registerBackup(program: Command): void {
  tlsFlags(awsFlags(encryptionFlags(storeFlags(program.command("backup").description("take a consistent, checksummed backup of a PostgreSQL database into a store")))))
    .option("--source <database>", "database to back up, as psql -d takes it: postgresql://user@host:5432/db, host=... dbname=..., or a name (PG* variables and ~/.pgpass apply)")
    .option("--rds-instance <id>", "back up this RDS instance from its snapshot, through a temporary instance, instead of --source")
    .option("--snapshot <id>", "with --rds-instance: latest (newest available automated or manual) or a snapshot id", "latest")
    .option("--database <name>", "with --rds-instance: the database to back up (default: the instance's DBName, else postgres)")
    .option("--instance-class <class>", "with --rds-instance: class of the temporary instance (default db.t4g.medium)")
    .option("--temp-instance <id>", "with --rds-instance: name of the temporary instance (default cobalt-tmp-<instance>)")
    .option("--subnet-group <name>", "with --rds-instance: DB subnet group (default: the source's)")
    .option("--security-group-ids <ids>", "with --rds-instance: comma-separated VPC security groups (default: the source's)")
    .option("--open-ingress <sg[=cidr]>", "with --rds-instance: allow this runner on this security group while the backup runs (cidr default: this host's public IP /32)")
    .option("--storage-type <type>", "with --rds-instance: storage of the temporary instance (gp3, gp2, io1, io2); default the snapshot's")
    .option("--master-password-env <VAR>", "with --rds-instance: use the snapshot's master password from this variable (an existing secret) instead of resetting it")
    .option("--wait-minutes <n>", "with --rds-instance: give up on each RDS state change after n minutes", (v) => Number(v), 120)
    .requiredOption("--dest <store-url>", "where to store it: file:///path/to/dir, a plain directory path, or s3://bucket/prefix")
    .option("--jobs <n>", "tables read in parallel", parseJobs, 2)
    .option("--compression <kind>", "zstd, gzip or none", parseCompression, "zstd")
    .option("--lock-days <n>", "S3 Object Lock: keep every object of the backup for n days (ransomware protection)", parseDays)
    .option("--json", "print the result as one JSON object, logs as JSON lines on stderr")
    .action((opts: StoreFlags & RdsFlagsInput & { lockDays?: number; recipient?: string[]; recipientsFile?: string; passphraseEnv?: string; source?: string; dest: string; jobs: number; compression: "zstd" | "gzip" | "none"; json?: boolean }) =>
      runCommand(opts, async (out, signal) => {
        if (Boolean(opts.source) === Boolean(opts.rdsInstance)) throw new UsageError("give either --source <database> or --rds-instance <id>");
        const lockUntil = opts.lockDays ? new Date(Date.now() + opts.lockDays * 86_400_000) : undefined;
        if (opts.rdsInstance) return (await import("./backup-rds.js")).backupFromRds(out, { ...opts, rdsInstance: opts.rdsInstance, ...(lockUntil ? { lockUntil } : {}) }, signal);
        const source = postgresTarget(opts.source!, "--source");
        const store = await storeFromUrl(opts.dest, "--dest", { ...opts, ...(lockUntil ? { lockUntil } : {}) });
        const encryption = encryptionKeys(opts);
        out.event("backup.start", { source: source.display, dest: store.location, jobs: opts.jobs, compression: opts.compression, encrypted: Boolean(encryption) });
        const result = await streamDump(
          { connect: source.connect, store, tool: TOOL, onProgress: dumpProgress(out, `backup ${source.database}`), signal },
          { jobs: opts.jobs, compression: opts.compression, ...(encryption ? { encryption } : {}), ...(lockUntil ? { lockUntil } : {}), source: { kind: "postgres-url", host: source.host, port: source.port, database: source.database, user: source.user } },
        );
        if (result.isErr()) return out.failWith(result.error, "backup failed");
        const { id, manifest: m } = result.value;
        out.result(
          { id, location: store.location, tables: m.totals.tables, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, largeObjects: m.largeObjects?.count ?? 0, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes(), ...(store.describe ? { store: store.describe() } : {}) },
          `backup ${id} complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.rawBytes)} read, ${bytes(m.totals.storedBytes)} stored in ${(m.timings.totalMs / 1000).toFixed(1)} s`,
        );
      }, { interruptible: true }),
    );
}
