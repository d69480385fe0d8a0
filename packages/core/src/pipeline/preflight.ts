import { describeConnectError } from "../pg/connect-error.js";
import type { PgConnect } from "../pg/session.js";
import { ResultAsync } from "../result.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";

/**
 * Read-only checks a run (a CLI `config check`, a Lambda's first state) makes before any work:
 * nothing is written, created or deleted. Each says what it found, or the tagged error that
 * names what is wrong; the caller turns tags into hints in its own terms (flags, settings).
 */

/** The store answers a listing: it exists and the credentials may read it. */
export function checkStore(store: BackupStore): ResultAsync<string, StoreError> {
  return store.list(".cobalt-config-check/").map(() => `${store.location} is reachable and listable`);
}

export type SourceCheckError = { _tag: "SourceConnectFailed"; reason: string; message: string; retryable: boolean };

/** The source database accepts a connection and a query: its server version. */
export function checkSourceDatabase(connect: PgConnect, name: string): ResultAsync<string, SourceCheckError> {
  return ResultAsync.fromPromise(
    (async () => {
      const client = await connect();
      try {
        const r = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
        return `PostgreSQL ${r.rows[0]!.v} at ${name}`;
      } finally {
        await client.end().catch(() => {});
      }
    })(),
    (e): SourceCheckError => {
      const p = describeConnectError(e, name);
      return { _tag: "SourceConnectFailed", reason: p.reason, message: p.message, retryable: p.retryable };
    },
  );
}
