import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command } from "commander";
import { fileStore, type BackupStore } from "@cobalt-backup/core";
import { UsageError } from "../usage-error.js";

/** S3 connection flags, with the environment variables operators already use as fallbacks. */
export interface StoreFlags {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  profile?: string;
  /** Write every object under S3 Object Lock until then (backup only). */
  lockUntil?: Date;
}

/** Adds the S3 connection flags to a command that reads or writes a store. */
export const storeFlags = (command: Command): Command =>
  command
    .option("--endpoint <url>", "S3 endpoint for s3:// stores (Backblaze B2, MinIO); default $AWS_ENDPOINT_URL_S3 or AWS")
    .option("--region <region>", "S3 region; default $AWS_REGION")
    .option("--path-style", "path-style S3 addressing (default with --endpoint)")
    .option("--profile <name>", "AWS profile with the S3 credentials; default $AWS_PROFILE or the default chain");

/** Builds the store a `--dest` / `--from` value names: `file:///dir`, a plain path, or `s3://bucket/prefix`. */
export async function storeFromUrl(value: string, flag: string, flags: StoreFlags = {}): Promise<BackupStore> {
  if (flags.lockUntil && !value.startsWith("s3://")) throw new UsageError(`--lock-days needs an s3:// store with Object Lock enabled, not ${value}`);
  if (value.startsWith("file://")) return fileStore(value);
  if (value.startsWith("s3://")) {
    const u = new URL(value);
    if (!u.hostname) throw new UsageError(`${flag} ${value}: name a bucket, as s3://bucket/prefix`);
    const env = process.env;
    // Loaded only for s3:// stores: the AWS SDK is most of the CLI's startup time and memory.
    const [{ buildS3Client }, { s3Store }] = await Promise.all([import("./s3-client.js"), import("@cobalt-backup/core/s3")]);
    const client = buildS3Client({
      endpoint: flags.endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
      region: flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
      pathStyle: flags.pathStyle,
      profile: flags.profile ?? env.AWS_PROFILE,
    });
    return s3Store({ client, bucket: u.hostname, prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ""), ...(flags.lockUntil ? { lockUntil: flags.lockUntil } : {}) });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new UsageError(`${flag} ${value.replace(/\/\/[^@/]*@/, "//***@")}: unsupported store; use file:///path/to/dir or s3://bucket/prefix`);
  }
  return fileStore(pathToFileURL(resolve(value)).href);
}
