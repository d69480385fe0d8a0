import type { Command } from "commander";
import { causeMessage, streamDump, tagOf, type OpenedSource } from "@cobalt-backup/core";
import { encryptionFlags, encryptionKeys } from "../adapters/age-keys.js";
import { awsFlags, tlsFlags, type AwsFlags } from "../adapters/aws-flags.js";
import { lockUntilFor } from "../adapters/from-config.js";
import { storeFlags, storeFromUrl, type StoreFlags } from "../adapters/store-url.js";
import type { Config } from "../config/config-schema.js";
import { EXIT, bytes, count } from "../output.js";
import { openSource } from "../sources/open-source.js";
import { UsageError } from "../usage-error.js";
import { TOOL } from "../version.js";
import { dumpProgress, parseCompression, parseDays, parseJobs, parseSizeFlag, peakRssBytes, runCommand } from "./common.js";

interface BackupOptions extends StoreFlags, AwsFlags {
  source?: string;
  rdsInstance?: string;
  snapshot: string;
  database?: string;
  instanceClass?: string;
  tempInstance?: string;
  subnetGroup?: string;
  securityGroupIds?: string;
  openIngress?: string;
  storageType?: string;
  masterPasswordEnv?: string;
  waitMinutes: number;
  dest: string;
  jobs: number;
  compression: "zstd" | "gzip" | "none";
  lockDays?: number;
  splitLargerThan?: number;
  resume?: string;
  recipient?: string[];
  recipientsFile?: string;
  passphraseEnv?: string;
  json?: boolean;
}

/** The flags as `run`'s source settings: one way to open a source, whichever command asks. */
const sourceOf = (o: BackupOptions): Config["source"] => ({
  snapshot: o.snapshot,
  waitMinutes: o.waitMinutes,
  tls: o.rdsCaBundle ? "verify" : (o.tls ?? "require"),
  ...(o.source ? { url: o.source } : {}),
  ...(o.rdsInstance ? { rdsInstance: o.rdsInstance } : {}),
  ...(o.database ? { database: o.database } : {}),
  ...(o.instanceClass ? { instanceClass: o.instanceClass } : {}),
  ...(o.tempInstance ? { tempInstance: o.tempInstance } : {}),
  ...(o.subnetGroup ? { subnetGroup: o.subnetGroup } : {}),
  ...(o.securityGroupIds ? { securityGroupIds: o.securityGroupIds.split(",") } : {}),
  ...(o.storageType ? { storageType: o.storageType } : {}),
  ...(o.openIngress ? { openIngress: o.openIngress } : {}),
  ...(o.masterPasswordEnv ? { masterPasswordEnv: o.masterPasswordEnv } : {}),
  ...(o.rdsRegion ? { region: o.rdsRegion } : {}),
  ...(o.rdsProfile ? { profile: o.rdsProfile } : {}),
  ...(o.rdsEndpoint ? { endpoint: o.rdsEndpoint } : {}),
  ...(o.rdsCaBundle ? { caBundle: o.rdsCaBundle } : {}),
});

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
    .option("--jobs <n>", "tables (or chunks of them) read in parallel", parseJobs, 2)
    .option("--split-larger-than <size>", "dump tables larger than this in chunks that run in parallel: bytes or a size such as 64MiB, 1GiB (default: from --jobs and the table sizes; no split when the server runs on this machine)", parseSizeFlag)
    .option("--resume <id>", "continue this interrupted backup of a frozen source (an RDS snapshot): only its unfinished units run; backup --rds-instance finds it by itself")
    .option("--compression <kind>", "zstd, gzip or none", parseCompression, "zstd")
    .option("--lock-days <n>", "S3 Object Lock: keep every object of the backup for n days (ransomware protection)", parseDays)
    .option("--json", "print the result as one JSON object, logs as JSON lines on stderr")
    .action((opts: BackupOptions) =>
      runCommand(
        opts,
        async (out, signal) => {
          if (Boolean(opts.source) === Boolean(opts.rdsInstance)) throw new UsageError("give either --source <database> or --rds-instance <id>");
          if (opts.resume && !opts.rdsInstance) {
            throw new UsageError(`--resume continues a backup of a frozen source (--rds-instance); a backup of --source reads a live database through a snapshot that ended with the process that held it, so ${opts.resume} cannot be continued: start a new backup`);
          }
          const rds = opts.rdsInstance;
          const lockUntil = lockUntilFor(opts.lockDays);
          const store = await storeFromUrl(opts.dest, "--dest", { ...opts, ...(lockUntil ? { lockUntil } : {}) });
          const encryption = encryptionKeys(opts);
          let source: OpenedSource;
          try {
            source = await openSource(out, sourceOf(opts), signal, store, "--source");
          } catch (e) {
            // A source that cannot be opened (no snapshot, no capacity) is the backup's failure; bad input is the user's.
            if (e instanceof UsageError || !rds) throw e;
            return out.failWith({ _tag: tagOf(e), message: causeMessage(e) }, "backup failed");
          }
          const label = rds ?? source.describe.database;
          out.event("backup.start", rds ? { rdsInstance: rds, snapshot: opts.snapshot, dest: store.location, encrypted: Boolean(encryption) } : { source: `${source.describe.host}:${source.describe.port}/${source.describe.database}`, dest: store.location, jobs: opts.jobs, compression: opts.compression, encrypted: Boolean(encryption) });
          // A frozen source continues the backup it found (or the one named), else starts the one it was tagged with.
          const backup = opts.resume ? { id: opts.resume, resume: true } : source.backup;
          const result = await streamDump(
            { connect: source.connect, store, tool: TOOL, onProgress: dumpProgress(out, `backup ${label}`), signal },
            {
              jobs: opts.jobs,
              compression: opts.compression,
              source: source.describe,
              consistency: source.consistency ?? "live",
              ...(backup ? (backup.resume ? { resume: backup.id } : { id: backup.id }) : {}),
              ...(opts.splitLargerThan ? { splitLargerThan: opts.splitLargerThan } : {}),
              ...(encryption ? { encryption } : {}),
              ...(lockUntil ? { lockUntil } : {}),
            },
          );
          const closed = await source.close().then(() => undefined, (e: unknown) => e);
          // An instance left running outranks what failed before: it is billed until someone acts.
          if (closed) return out.fail(`${result.isOk() ? `backup ${result.value.id} is complete, but ` : `backup failed (${result.error.message}), and `}${causeMessage(closed)}`, EXIT.instanceLeft, { tag: "CleanupFailed" });
          if (result.isErr()) return out.failWith(result.error, "backup failed");
          const { id, manifest: m } = result.value;
          const units = { units: m.units.total, reusedUnits: m.units.reused };
          const continued = m.units.reused ? `, continuing an interrupted attempt (${m.units.reused} of ${m.units.total} units reused)` : "";
          if (rds) {
            return out.result(
              { id, location: store.location, snapshot: m.source.snapshotId, tables: m.totals.tables, ...units, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes() },
              `backup ${id} of ${rds} (snapshot ${m.source.snapshotId}) complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.storedBytes)} stored${continued}; temporary instance deleted`,
            );
          }
          out.result(
            { id, location: store.location, tables: m.totals.tables, ...units, rows: m.totals.rows, rawBytes: m.totals.rawBytes, storedBytes: m.totals.storedBytes, largeObjects: m.largeObjects?.count ?? 0, durationMs: m.timings.totalMs, peakRssBytes: peakRssBytes(), ...(store.describe ? { store: store.describe() } : {}) },
            `backup ${id} complete: ${m.totals.tables} tables, ${count(m.totals.rows)} rows, ${bytes(m.totals.rawBytes)} read, ${bytes(m.totals.storedBytes)} stored in ${(m.timings.totalMs / 1000).toFixed(1)} s`,
          );
        },
        { interruptible: true },
      ),
    );
}
