/** The dump settings from the function's environment (set by the CDK construct), the same for Plan and every DumpUnit. */
import type { DumpSettings, EncryptionKeys } from "@cobalt-backup/core";
import { z } from "zod";
import { parseEnv } from "./input.js";

/** The tool as manifests record it; verify compares object definitions only with backups the same version wrote. */
export const TOOL = { name: "cobalt-backup", version: process.env.COBALT_VERSION ?? "0.1.0" };

const env = parseEnv(
  z.object({
    COMPRESSION: z.enum(["zstd", "gzip", "none"]).default("zstd"),
    COMPRESSION_LEVEL: z.coerce.number().int().optional(),
    /** Split tables larger than this many bytes into chunks (default: core's, from the sizes). */
    SPLIT_LARGER_THAN: z.coerce.number().int().positive().optional(),
    /** age recipients (public keys), comma-separated: the objects' encryption. Never a private key. */
    AGE_RECIPIENTS: z.string().min(1).optional(),
    /** S3 Object Lock: every object kept this many days. */
    LOCK_DAYS: z.coerce.number().positive().optional(),
    /** The Map's MaxConcurrency: units dumped at once (the default split threshold is sized for it). */
    MAX_CONCURRENCY: z.coerce.number().int().positive().default(8),
  }),
);

export const encryptionKeys: EncryptionKeys | undefined = env.AGE_RECIPIENTS ? { recipients: env.AGE_RECIPIENTS.split(",") } : undefined;

export const dumpSettings = (now = new Date()): DumpSettings => ({
  compression: env.COMPRESSION,
  ...(env.COMPRESSION_LEVEL !== undefined ? { compressionLevel: env.COMPRESSION_LEVEL } : {}),
  ...(encryptionKeys ? { encryption: encryptionKeys } : {}),
  ...(env.LOCK_DAYS ? { lockUntil: new Date(now.getTime() + env.LOCK_DAYS * 86_400_000) } : {}),
  ...(env.SPLIT_LARGER_THAN ? { splitLargerThan: env.SPLIT_LARGER_THAN } : {}),
  // One unit per invocation: the Map's MaxConcurrency is the fan-out (and sizes the default split).
  jobs: env.MAX_CONCURRENCY,
});
