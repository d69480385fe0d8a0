// NOT WIRED (phase 2): the dump settings from the function's environment. See README.md.
import type { EncryptionKeys } from "@cobalt-backup/core";
import { z } from "zod";
import { parseEnv } from "../lib/input.js";

export const TOOL = { name: "cobalt-backup", version: process.env.COBALT_VERSION ?? "0.1.0" };

const env = parseEnv(
  z.object({
    COMPRESSION: z.enum(["zstd", "gzip", "none"]).default("zstd"),
    COMPRESSION_LEVEL: z.coerce.number().int().optional(),
    /** Split tables larger than this many bytes into chunks (default: core's). */
    SPLIT_LARGER_THAN: z.coerce.number().int().positive().optional(),
    /** age recipients (public keys), comma-separated: the objects' encryption. */
    AGE_RECIPIENTS: z.string().optional(),
    LOCK_DAYS: z.coerce.number().positive().optional(),
  }),
);

export const encryptionKeys = (): EncryptionKeys | undefined => (env.AGE_RECIPIENTS ? { recipients: env.AGE_RECIPIENTS.split(",") } as EncryptionKeys : undefined);

export const dumpSettings = () => ({
  compression: env.COMPRESSION,
  ...(env.COMPRESSION_LEVEL !== undefined ? { compressionLevel: env.COMPRESSION_LEVEL } : {}),
  ...(encryptionKeys() ? { encryption: encryptionKeys() } : {}),
  ...(env.LOCK_DAYS ? { lockUntil: new Date(Date.now() + env.LOCK_DAYS * 86_400_000).toISOString() } : {}),
  ...(env.SPLIT_LARGER_THAN ? { splitLargerThan: env.SPLIT_LARGER_THAN } : {}),
  // One unit per invocation: a unit's own parallelism is 1; the Map's MaxConcurrency is the fan-out.
  jobs: 1,
});

