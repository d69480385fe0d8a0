import { randomBytes } from "node:crypto";

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
 * A fresh, empty database to restore into for verification: a new database on the server of
 * `--target` (dropped afterwards), or an embedded PostgreSQL started on demand.
 */
export async function openScratch(targetUrl: string | undefined, sourceMajor: number): Promise<ScratchDatabase> {
  const name = `cobalt_verify_${randomBytes(4).toString("hex")}`;
  if (!targetUrl) {
    if (sourceMajor > EMBEDDED_MAJOR) {
      throw new Error(`the backup comes from PostgreSQL ${sourceMajor}, newer than the embedded PostgreSQL ${EMBEDDED_MAJOR}; pass --target with a PostgreSQL ${sourceMajor} server`);
    }
    const server = await startEmbeddedPostgres(await embeddedPostgresBinaries());
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
