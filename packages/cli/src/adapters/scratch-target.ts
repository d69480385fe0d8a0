import { randomBytes } from "node:crypto";
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { Failure, type ScratchNeeds } from "@cobalt-backup/core";
import { bytes } from "../output.js";
import { embeddedPostgresBinaries, startEmbeddedPostgres } from "./embedded-postgres.js";
import { postgresTarget, type PostgresTarget } from "./postgres-url.js";

export interface ScratchDatabase {
  target: PostgresTarget;
  /** Its URL with the throwaway credentials, for a post-restore hook; never printed. */
  url: string;
  /** Drops the scratch database, or stops the embedded server. */
  dispose(): Promise<void>;
}

/** The newest major the bundled embedded server runs; a newer source needs --target. */
export const EMBEDDED_MAJOR = 17;

/**
 * Fails, before anything starts, when `dir` has less free space than the restore needs, with an
 * error naming the directory and how to choose another.
 */
export async function checkScratchSpace(dir: string, needed: number): Promise<void> {
  const fs = await statfs(dir).catch((e: NodeJS.ErrnoException) => {
    throw new Failure({ _tag: "ScratchSpaceTooSmall", message: `the scratch directory ${dir} cannot be used (${e.code ?? e.message}): choose another with --scratch-dir <dir> (verify.scratchDir in the configuration)` });
  });
  const free = fs.bavail * fs.bsize;
  if (free < needed) {
    throw new Failure({
      _tag: "ScratchSpaceTooSmall",
      message: `verifying needs about ${bytes(needed)} free in ${dir} for the scratch PostgreSQL, which has ${bytes(free)} free: choose a directory with more room with --scratch-dir <dir> (verify.scratchDir in the configuration), or verify on a server with --target`,
    });
  }
}

/**
 * A fresh, empty database to restore into for verification: a new database on the server of
 * `--target` (dropped afterwards), or an embedded PostgreSQL started on demand in `scratchDir`
 * (default the system's temporary directory), once it is known to have room for the restore.
 */
export async function openScratch(targetUrl: string | undefined, needs: ScratchNeeds, scratchDir?: string): Promise<ScratchDatabase> {
  const name = `cobalt_verify_${randomBytes(4).toString("hex")}`;
  if (!targetUrl) {
    if (needs.sourceMajor > EMBEDDED_MAJOR) {
      throw new Failure({ _tag: "UsageError", message: `the backup comes from PostgreSQL ${needs.sourceMajor}, newer than the embedded PostgreSQL ${EMBEDDED_MAJOR}; pass --target with a PostgreSQL ${needs.sourceMajor} server` });
    }
    const parentDir = resolve(scratchDir ?? tmpdir());
    await checkScratchSpace(parentDir, needs.bytes);
    const server = await startEmbeddedPostgres(await embeddedPostgresBinaries(), { parentDir });
    try {
      const url = await server.createDatabase(name);
      return { target: postgresTarget(url, "scratch database"), url, dispose: () => server.stop() };
    } catch (e) {
      await server.stop();
      throw e;
    }
  }
  const admin = postgresTarget(targetUrl, "--target");
  const adminClient = await admin.connect();
  try {
    await adminClient.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await adminClient.end();
  }
  const target = admin.withDatabase(name);
  return {
    target,
    url: target.secretUrl(),
    dispose: async () => {
      const c = await admin.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
