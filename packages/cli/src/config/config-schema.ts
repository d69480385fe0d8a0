import { parseReadData, parseSize } from "@cobalt-backup/core";
import { z } from "zod";

/**
 * The one configuration file of `cobalt-backup run` (cobalt-backup.config.json). Every object is
 * strict: an unknown or misspelt key is an error that names it. docs/configuration.md is
 * generated from this schema (`pnpm docs:config`).
 */
const source = z
  .object({
    url: z.string().optional().describe("A database to back up directly (no RDS stage), as psql takes it: postgresql://user@host:5432/db, key=value pairs or a database name; PG* variables and ~/.pgpass apply. Or use the RDS_HOSTNAME, RDS_PORT, RDS_DB_NAME, RDS_USERNAME, RDS_PASSWORD variables."),
    rdsInstance: z.string().optional().describe("The RDS instance whose snapshot is restored to a temporary instance and dumped."),
    snapshot: z.string().default("latest").describe("`latest` (newest automated or manual snapshot) or a snapshot id."),
    database: z.string().optional().describe("Database to back up on the temporary instance (default: the instance's DBName, else postgres)."),
    instanceClass: z.string().optional().describe("Class of the temporary instance (default db.t4g.medium)."),
    tempInstance: z.string().optional().describe("Name of the temporary instance (default cobalt-tmp-<instance>)."),
    subnetGroup: z.string().optional().describe("DB subnet group of the temporary instance (default: the source's)."),
    securityGroupIds: z.array(z.string()).optional().describe("VPC security groups of the temporary instance (default: the source's)."),
    storageType: z.string().optional().describe("Storage type of the temporary instance (gp3, gp2, io1, io2)."),
    openIngress: z.string().optional().describe("`sg-id` or `sg-id=cidr`: open the instance's port to this runner while it runs."),
    masterPasswordEnv: z.string().optional().describe("Use the snapshot's master password from this environment variable instead of resetting it."),
    waitMinutes: z.number().positive().default(120).describe("Give up on each RDS state change after this many minutes."),
    region: z.string().optional().describe("AWS region of the RDS instance (default $AWS_REGION)."),
    profile: z.string().optional().describe("AWS profile for RDS (default: the AWS default credential chain)."),
    endpoint: z.string().optional().describe("RDS/EC2 API endpoint (a VPC endpoint; default $AWS_ENDPOINT_URL_RDS)."),
    tls: z.enum(["verify", "require", "disable"]).default("require").describe("TLS to the temporary instance."),
    caBundle: z.string().optional().describe("RDS CA bundle (global-bundle.pem); implies tls verify."),
  })
  .strict()
  .refine((s) => Boolean(s.url) !== Boolean(s.rdsInstance), { message: "give exactly one of source.url or source.rdsInstance" });

export const configSchema = z
  .object({
    source,
    store: z
      .object({
        url: z.string().describe("`s3://bucket/prefix` (Backblaze B2, S3) or `file:///dir`."),
        endpoint: z.string().optional().describe("S3 endpoint, e.g. https://s3.us-west-004.backblazeb2.com (default $AWS_ENDPOINT_URL_S3)."),
        region: z.string().optional().describe("S3 region (default $AWS_REGION)."),
        profile: z.string().optional().describe("AWS profile holding the store's keys, e.g. `backblaze` (default $AWS_PROFILE)."),
        pathStyle: z.boolean().optional().describe("Path-style addressing (default true with an endpoint)."),
        lockDays: z.number().int().positive().optional().describe("S3 Object Lock: keep every object of a backup this many days."),
      })
      .strict(),
    backup: z
      .object({
        jobs: z.number().int().min(1).max(64).default(2).describe("Tables read (and restored) in parallel."),
        compression: z.enum(["zstd", "gzip", "none"]).default("zstd").describe("Compression of every data object."),
        splitLargerThan: z
          .union([z.number().int().positive(), z.string().refine((v) => parseSize(v) !== undefined, "a size such as 64MiB or 1GiB")])
          .optional()
          .describe("Tables larger than this (bytes, or a size such as 64MiB, 1GiB) are dumped in chunks that run in parallel (default: from jobs and the table sizes)."),
      })
      .strict()
      .default({ jobs: 2, compression: "zstd" }),
    encryption: z
      .object({
        recipients: z.array(z.string()).default([]).describe("age public keys (age1...) every object is encrypted for."),
        recipientsFile: z.string().optional().describe("A file of age public keys, one per line."),
        passphraseEnv: z.string().optional().describe("Environment variable with a passphrase to encrypt (and decrypt) with."),
        identityFile: z.string().optional().describe("age identity file (AGE-SECRET-KEY) used to verify; keep it off the backup host if you can."),
      })
      .strict()
      .optional(),
    verify: z
      .object({
        enabled: z.boolean().default(true).describe("Restore every backup into a scratch PostgreSQL and compare it with the manifest."),
        target: z.string().optional().describe("Server to create the scratch database on, as a connection string psql takes (default: an embedded PostgreSQL)."),
        scratchDir: z
          .string()
          .optional()
          .describe("Directory the embedded scratch PostgreSQL lives in while it verifies (default: the system's temporary directory, often a small tmpfs); it needs about the database's size free, checked before verification starts."),
        hook: z
          .object({
            sql: z.string().optional().describe("A SQL file run against the verified scratch copy (never the source)."),
            command: z.string().optional().describe("A shell command run with DATABASE_URL (and PG*) set to the scratch copy."),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({ enabled: true }),
    retention: z
      .object({
        keepLast: z.number().int().nonnegative().optional(),
        keepDaily: z.number().int().nonnegative().optional(),
        keepWeekly: z.number().int().nonnegative().optional(),
        keepMonthly: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional()
      .describe("restic's policy, applied after each successful run to complete, verified backups."),
    check: z
      .object({
        backups: z.number().int().min(1).default(1).describe("At most this many older backups are checked per run: those never checked first (oldest first), then those checked longest ago."),
        everyDays: z.number().positive().default(7).describe("A backup is checked again once its last check is this many days old."),
        readData: z
          .union([z.boolean(), z.string().refine((v) => parseReadData(v) !== undefined, "a percentage such as 10%")])
          .default(false)
          .describe("`false`: every object is in the store at its recorded size; `true`: every object is read and its sha256 compared; `\"10%\"`: a random tenth of the stored bytes is read."),
      })
      .strict()
      .optional()
      .describe("Check older backups on each run (after retention), so a deleted or rotten object is found while a good copy still exists; damage fails the run with exit code 3 and notifies."),
    notify: z
      .object({
        webhook: z.string().optional().describe("POST a JSON report (with a Slack-compatible `text`) here, on success and failure."),
        heartbeatUrl: z.string().optional().describe("GET this URL after a successful run only (dead man's switch)."),
        email: z
          .object({
            from: z.string(),
            to: z.array(z.string()).min(1),
            region: z.string().optional(),
            endpoint: z.string().optional(),
          })
          .strict()
          .optional()
          .describe("Send the report with Amazon SES (v2)."),
        onSuccess: z.boolean().default(true).describe("Also notify on success (failures always notify)."),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
