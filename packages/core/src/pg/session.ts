import type pg from "pg";

/**
 * Value text depends on session settings; every connection that reads or writes data (dump,
 * restore, verify) fixes them, so a backup taken anywhere restores identically anywhere.
 * `search_path = ''` makes every name the server prints schema-qualified.
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: "ISO, YMD",
  IntervalStyle: "postgres",
  TimeZone: "UTC",
  extra_float_digits: "3",
  bytea_output: "hex",
  client_encoding: "UTF8",
  standard_conforming_strings: "on",
  search_path: "",
  statement_timeout: "0",
  lock_timeout: "0",
  idle_in_transaction_session_timeout: "0",
  check_function_bodies: "false",
  xmloption: "content",
  client_min_messages: "warning",
  row_security: "off",
};

/** A connected client. The port never owns pooling; callers `end()` what they connect. */
export type PgClient = pg.Client;

/**
 * Opens a new connection to one database. Injected by adapters (CLI, Lambda, tests); core never
 * reads URLs or environment itself. Rejects with the driver's error, which core classifies.
 */
export type PgConnect = () => Promise<PgClient>;

export async function applySessionSettings(client: PgClient, extra: Record<string, string> = {}): Promise<void> {
  const all = { ...SESSION_SETTINGS, ...extra };
  const sql = Object.entries(all)
    .map(([k, v]) => `SELECT pg_catalog.set_config('${k}', '${v.replace(/'/g, "''")}', false);`)
    .join("\n");
  await client.query(sql);
}
