import { once } from "node:events";
import type { Writable } from "node:stream";
import { openBackup, openChecked, type BackupReadError } from "../catalog/open-backup.js";
import { readLargeObjectRecords } from "../object/large-object-records.js";
import { corruptObject } from "../object/read-object.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { copyFromSql } from "../pg/copy-sql.js";
import { setvalSql } from "../pg/sequences.js";
import type { Manifest } from "../manifest/manifest.js";
import { SESSION_SETTINGS } from "../pg/session.js";
import { dollarQuote, literal, qname } from "../pg/sql.js";
import { Failure, failWith, type Fail, settle, unexpected, type ResultAsync, type Unexpected } from "../result.js";
import type { DdlItem } from "../schema/model.js";
import { createRolesScript, type CreateRolesOptions } from "../schema/roles.js";
import type { BackupStore } from "../store/backup-store.js";
import { causeMessage } from "../util/errors.js";

/** Why an export stopped. Errors before `ObjectCorrupt`/`WriteFailed` mid-stream wrote nothing. */
export type ExportError = BackupReadError | { _tag: "WriteFailed"; message: string } | Unexpected;

export interface ExportDeps {
  store: BackupStore;
  /** age identities or passphrase, for encrypted backups. */
  decryption?: DecryptionKeys;
  onProgress?: (p: ExportProgress) => void;
}

export interface ExportInput {
  /** A committed backup id (resolve `latest` first with `resolveBackupId`). */
  id: string;
  /** Emit owners (ALTER ... OWNER TO); default true. Like pg_dump's no-owner option when false. */
  owners?: boolean;
  /** Emit GRANTs, REVOKEs and default privileges; default true. Like pg_dump's no-privileges option when false. */
  privileges?: boolean;
  /** Emit, first, the creation of the roles the backup uses where the target lacks them. */
  createRoles?: CreateRolesOptions;
}

export interface ExportProgress {
  phase: "pre-data" | "data" | "large-objects" | "post-data" | "finish";
  tablesTotal: number;
  tablesDone: number;
  rows: number;
  table?: string;
}

export interface ExportOutput {
  id: string;
  tables: number;
  rows: number;
  largeObjects: number;
  /** Bytes of SQL written. */
  bytes: number;
  /** The backup was encrypted: the script holds its data in the clear. */
  decrypted: boolean;
}

/** Raw bytes per `lo_put` call: 256 KiB of hex text per line. */
const LO_CHUNK = 128 * 1024;

const fail: Fail<ExportError> = failWith();

/**
 * Writes one plain SQL script that stock `psql -v ON_ERROR_STOP=1 -f script.sql` restores into an
 * empty database, in restore's order: session settings, pre-data DDL, each table as
 * `COPY ... FROM stdin` with its COPY text inline, large objects (`lo_create` + `lo_put` in
 * chunks), post-data DDL in dependency order, sequence states, materialized view refreshes, then owners and
 * privileges, each in a DO block that skips it (with a WARNING) when a role it names is missing
 * or the statement is refused.
 *
 * Streamed object by object: no table is held in memory. Every object is checked against the
 * manifest's sha256 as it is read; the whole script is one transaction, so a script cut short (a
 * failed export, a truncated file) restores nothing. When an object fails its check mid-stream,
 * the script ends with a statement that raises an error, so psql never commits it.
 * `out` is not ended: the caller owns it.
 */
export function exportSql(deps: ExportDeps, input: ExportInput, out: Writable): ResultAsync<ExportOutput, ExportError> {
  return settle(runExport(deps, input, out), (e) => unexpected(e, "export failed"));
}

/** Writes with backpressure; remembers the stream's first error and rejects every later write. */
function sqlWriter(out: Writable) {
  let error: Error | undefined;
  const onError = (e: Error) => {
    error ??= e;
  };
  out.on("error", onError);
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    get failed() {
      return error !== undefined;
    },
    async write(chunk: string | Buffer): Promise<void> {
      if (error) throw error;
      bytes += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      if (!out.write(chunk)) {
        if (error) throw error;
        const stop = new AbortController();
        try {
          await Promise.race([
            once(out, "drain", { signal: stop.signal }),
            once(out, "close", { signal: stop.signal }).then(() => Promise.reject(error ?? new Error("the output was closed"))),
          ]);
        } finally {
          stop.abort();
        }
      }
      if (error) throw error;
    },
    release() {
      out.off("error", onError);
    },
  };
}
type SqlWriter = ReturnType<typeof sqlWriter>;

/** A name on one comment line: comments never span lines. */
const commentText = (s: string): string => s.replace(/[\r\n]+/g, " ");

/** `SET name = value`, like pg_dump's preamble; search_path via set_config, as pg_dump does. */
export function sessionPreamble(): string {
  return Object.entries(SESSION_SETTINGS)
    .map(([k, v]) =>
      k === "search_path" ? `SELECT pg_catalog.set_config('search_path', ${literal(v)}, false);` : `SET ${k} = ${/^[A-Za-z0-9_]+$/.test(v) ? v : literal(v)};`,
    )
    .join("\n");
}

/** A statement ending in `;` and a newline, whatever the item's text ends with. */
const statement = (sql: string): string => {
  const t = sql.replace(/\s+$/, "");
  return t.endsWith(";") ? `${t}\n` : `${t};\n`;
};

/**
 * An owner or privilege item as a DO block: runs the statements only when every role they name
 * exists, in a subtransaction whose failure (e.g. an ALTER OWNER the user may not do) is a
 * WARNING, never an aborted script. The same rule restore applies.
 */
export function guardedPrivilegeSql(item: Pick<DdlItem, "kind" | "name" | "sql" | "roles">): string {
  const roles = [...new Set(item.roles ?? [])];
  const what = literal(`${item.kind} ${commentText(item.name)}`);
  const exec = `EXECUTE ${literal(item.sql)};`;
  const body = roles.length
    ? [
        `  IF (SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = ANY (ARRAY[${roles.map(literal).join(", ")}]::pg_catalog.text[])) = ${roles.length} THEN`,
        `    ${exec}`,
        `  ELSE`,
        `    RAISE WARNING 'cobalt-backup: skipped %: a role it names (%) does not exist', ${what}, ${literal(roles.join(", "))};`,
        `  END IF;`,
      ].join("\n")
    : `  ${exec}`;
  const block = `BEGIN\n${body}\nEXCEPTION WHEN OTHERS THEN\n  RAISE WARNING 'cobalt-backup: skipped %: %', ${what}, SQLERRM;\nEND\n`;
  const tag = dollarQuote(block);
  return `DO ${tag}\n${block}${tag};\n`;
}

async function runExport(deps: ExportDeps, input: ExportInput, out: Writable): Promise<ExportOutput> {
  const { store, id } = { store: deps.store, id: input.id };
  // Everything about the backup is checked before a byte of the script is written.
  const { manifest, items, roles } = await openBackup(store, id, deps.decryption);

  const w = sqlWriter(out);
  const progress: ExportProgress = { phase: "pre-data", tablesTotal: manifest.tables.length, tablesDone: 0, rows: 0 };
  /** Set while COPY data is being written: a failure then must end the COPY before the error. */
  let inCopy = false;
  let largeObjects = 0;
  try {
    await w.write(header(manifest));
    await w.write(`${sessionPreamble()}\n\n-- One transaction: a script cut short restores nothing.\nBEGIN;\n\n`);

    deps.onProgress?.({ ...progress });
    if (input.createRoles && roles.length) {
      await w.write(`--\n-- roles the backup uses, created where missing (${input.createRoles.login ? "LOGIN where the source's could log in" : "NOLOGIN"}, no password); each skipped, with a WARNING, where refused\n--\n\n`);
      for (const sql of createRolesScript(roles, input.createRoles)) await w.write(`${sql}\n`);
    }
    await w.write("--\n-- pre-data\n--\n\n");
    for (const item of items.filter((i) => i.section === "pre-data")) await writeItem(w, item);

    progress.phase = "data";
    deps.onProgress?.({ ...progress });
    await w.write("\n--\n-- table data\n--\n\n");
    for (const table of manifest.tables) {
      const display = `${table.schema}.${table.table}`;
      await w.write(`-- ${commentText(display)}: ${table.rows} rows (${table.parts.map((p) => p.key).join(", ")})\n${copyFromSql(table)};\n`);
      inCopy = true;
      let last = 10;
      // One COPY block per table: its parts, in order, are one stream of rows.
      for (const part of table.parts) {
        const data = await openChecked(store, manifest, part, deps.decryption);
        try {
          for await (const chunk of data as AsyncIterable<Buffer>) {
            if (chunk.length === 0) continue;
            last = chunk[chunk.length - 1]!;
            await w.write(chunk);
          }
        } catch (cause) {
          if (w.failed) throw cause;
          fail({ ...corruptObject(part.key, cause), message: `${corruptObject(part.key, cause).message} (table ${display})` });
        }
      }
      await w.write(last === 10 ? "\\.\n\n" : "\n\\.\n\n");
      inCopy = false;
      progress.tablesDone++;
      progress.rows += table.rows;
      deps.onProgress?.({ ...progress, table: display });
    }

    if (manifest.largeObjects) {
      progress.phase = "large-objects";
      deps.onProgress?.({ ...progress });
      const lo = manifest.largeObjects;
      await w.write(`\n--\n-- large objects (${lo.count})\n--\n\n`);
      const data = await openChecked(store, manifest, lo, deps.decryption);
      try {
        largeObjects = await writeLargeObjects(w, data);
      } catch (cause) {
        if (w.failed) throw cause;
        fail(corruptObject(lo.key, cause));
      }
    }

    progress.phase = "post-data";
    deps.onProgress?.({ ...progress });
    await w.write("\n--\n-- post-data\n--\n\n");
    for (const item of items.filter((i) => i.section === "post-data")) await writeItem(w, item);

    progress.phase = "finish";
    deps.onProgress?.({ ...progress });
    if (manifest.sequences.length) {
      await w.write("\n--\n-- sequence states\n--\n\n");
      for (const s of manifest.sequences) await w.write(`${setvalSql(s)}\n`);
    }
    const populated = manifest.matviews.filter((v) => v.populated);
    if (populated.length) {
      await w.write("\n--\n-- materialized views that were populated\n--\n\n");
      for (const mv of populated) await w.write(`REFRESH MATERIALIZED VIEW ${qname(mv.schema, mv.name)};\n`);
    }
    const owners = input.owners ?? true;
    const privileges = input.privileges ?? true;
    const wanted = items.filter((i) => i.section === "privileges" && (i.kind === "owner" ? owners : privileges));
    if (wanted.length) {
      await w.write("\n--\n-- owners and privileges: each skipped, with a WARNING, where a role it names is missing\n--\n\n");
      for (const item of wanted) await w.write(`-- ${commentText(`${item.kind} ${item.name}`)}\n${guardedPrivilegeSql(item)}\n`);
    }
    await w.write("COMMIT;\n");
    return { id, tables: manifest.tables.length, rows: progress.rows, largeObjects, bytes: w.bytes, decrypted: manifest.encryption !== null };
  } catch (e) {
    // Make a partial script fail loudly in psql: end an open COPY, then raise. It never commits.
    if (!w.failed) {
      const reason = e instanceof Error ? e.message : String(e);
      await w
        .write(`${inCopy ? "\n\\.\n" : "\n"}DO $cobalt$ BEGIN RAISE EXCEPTION 'cobalt-backup export-sql failed: %', ${literal(commentText(reason))}; END $cobalt$;\n`)
        .catch(() => {});
    }
    if (w.failed && !(e instanceof Failure)) fail({ _tag: "WriteFailed", message: `writing the SQL script failed: ${causeMessage(e)}` });
    throw e;
  } finally {
    w.release();
  }
}

function header(m: Manifest): string {
  const s = m.source;
  return [
    `-- cobalt-backup export-sql: backup ${commentText(m.id)}`,
    `-- source ${commentText(`${s.host}:${s.port}/${s.database}`)}, PostgreSQL ${commentText(s.serverVersion)}, snapshot at ${commentText(s.snapshotTime)}`,
    `-- ${m.tables.length} tables, ${m.totals.rows} rows, ${m.largeObjects?.count ?? 0} large objects`,
    "--",
    "-- Restore into an empty database (create it first, with the source's encoding):",
    "--   psql -v ON_ERROR_STOP=1 -d <target> -f <this file>",
    "",
    "",
  ].join("\n");
}

async function writeItem(w: SqlWriter, item: DdlItem): Promise<void> {
  await w.write(`-- ${commentText(`${item.kind} ${item.name}`)}\n${statement(item.sql)}\n`);
}

/** The large-object records as `lo_create` with the original oid and `lo_put` calls of at most LO_CHUNK bytes each. */
function writeLargeObjects(w: SqlWriter, input: AsyncIterable<Buffer>): Promise<number> {
  return readLargeObjectRecords(input, {
    begin: (oid) => w.write(`SELECT pg_catalog.lo_create('${oid}'::pg_catalog.oid);\n`),
    write: (oid, offset, chunk) => w.write(`SELECT pg_catalog.lo_put('${oid}'::pg_catalog.oid, ${offset}, '\\x${chunk.toString("hex")}'::pg_catalog.bytea);\n`),
  }, LO_CHUNK);
}
