/**
 * Benchmark data: one wide table holding most of the volume plus many small ones, generated
 * server-side so a few hundred MB take seconds rather than minutes. Values are derived from the
 * row number (no random()) so every run dumps the same bytes.
 */
import type { Cluster } from "../support/postgres.ts";

export interface GeneratedDatabase {
  name: string;
  url: string;
  /** pg_database_size: heap, TOAST, indexes and catalogs. */
  databaseBytes: number;
  /** Heap + TOAST of user tables, the "table data" the sizes aim at. */
  tableBytes: number;
  indexBytes: number;
  bigTableBytes: number;
  bigTableRows: number;
  smallTables: number;
  smallTableRows: number;
}

/** A cheap fingerprint of what a restore must reproduce (checked on both restored copies). */
export interface Fingerprint {
  tables: number;
  indexes: number;
  rows: number;
  eventsIdSum: string;
}

const BIG_TABLE = `
  CREATE TABLE events (
    id          bigint PRIMARY KEY,
    account_id  integer NOT NULL,
    kind        text NOT NULL,
    note        text,
    amount      numeric(14,2) NOT NULL,
    created_at  timestamptz NOT NULL,
    attrs       jsonb NOT NULL,
    payload     bytea
  )`;

// md5 text compresses roughly 2:1 and md5 bytes not at all, so compressed sizes are neither
// trivially small nor incompressible.
const BIG_ROWS = `
  INSERT INTO events
  SELECT g,
         (g * 7919) % 50000,
         (ARRAY['view','click','purchase','refund','signup'])[1 + g % 5],
         CASE WHEN g % 7 = 0 THEN NULL ELSE 'order ' || g || ': ' || md5(g::text) || md5((g + 1)::text) END,
         ((g * 2654435761) % 10000000) / 100.0,
         timestamptz '2024-01-01 00:00:00+00' + g * interval '17 seconds',
         jsonb_build_object('session', md5((g * 3)::text), 'score', g % 1000,
                            'tags', jsonb_build_array('t' || g % 17, 'u' || g % 29), 'ok', g % 3 = 0),
         CASE WHEN g % 10 = 0 THEN NULL ELSE decode(md5(g::text) || md5((g * 7)::text), 'hex') END
  FROM generate_series($1::bigint, $2::bigint) g`;

// Row counts vary deterministically between 200 and 2000 per table.
const SMALL_TABLES = (count: number) => `
  DO $$
  DECLARE n_rows int;
  BEGIN
    FOR t IN 1..${count} LOOP
      n_rows := 200 + (t * 7919) % 1800;
      EXECUTE format('CREATE TABLE small_%s (
          id int PRIMARY KEY, code text NOT NULL, qty int NOT NULL, price numeric(10,2),
          updated_at timestamptz NOT NULL, meta jsonb)', lpad(t::text, 3, '0'));
      EXECUTE format('INSERT INTO small_%s
          SELECT g, %L || g, g %% 97, (g * 31 %% 100000) / 100.0,
                 timestamptz ''2024-06-01 00:00:00+00'' + g * interval ''1 minute'',
                 CASE WHEN g %% 4 = 0 THEN NULL ELSE jsonb_build_object(''v'', g, ''k'', md5(g::text)) END
          FROM generate_series(1, %s) g', lpad(t::text, 3, '0'), 'c' || t || '-', n_rows);
      IF t % 10 = 0 THEN
        EXECUTE format('CREATE INDEX ON small_%s (code)', lpad(t::text, 3, '0'));
      END IF;
    END LOOP;
  END $$`;

const FIRST_CHUNK_ROWS = 20_000;
const MAX_CHUNK_ROWS = 500_000;

/**
 * Creates `name` with `smallTables` small tables, then grows `events` in chunks until the table
 * data reaches `targetBytes`; secondary indexes come last (faster than maintaining them per insert).
 */
export async function generateDatabase(
  cluster: Cluster,
  name: string,
  opts: { targetBytes: number; smallTables: number; log: (line: string) => void },
): Promise<GeneratedDatabase> {
  const url = await cluster.createDatabase(name);
  const q = (sql: string, params?: unknown[]) => cluster.query(name, sql, params);
  const tableBytes = async () =>
    Number((await q(`SELECT coalesce(sum(pg_table_size(c.oid)), 0)::bigint AS b FROM pg_class c
                     JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = 'public' AND c.relkind = 'r'`))[0]!.b);

  await q(SMALL_TABLES(opts.smallTables));
  await q(BIG_TABLE);
  // The first chunk measures bytes per row; later chunks aim at the target, capped so each
  // statement stays short.
  let rows = 0;
  for (let have = await tableBytes(); have < opts.targetBytes; ) {
    const perRow = rows === 0 ? 0 : Number((await q(`SELECT pg_table_size('events')::bigint AS b`))[0]!.b) / rows;
    const chunk = perRow === 0 ? FIRST_CHUNK_ROWS : Math.min(MAX_CHUNK_ROWS, Math.max(1000, Math.ceil((opts.targetBytes - have) / perRow)));
    await q(BIG_ROWS, [rows + 1, rows + chunk]);
    rows += chunk;
    have = await tableBytes();
    opts.log(`  ${name}: ${rows.toLocaleString("en-US")} rows in events, ${(have / 2 ** 20).toFixed(1)} MiB of table data`);
  }
  await q(`CREATE INDEX events_account_created ON events (account_id, created_at)`);
  await q(`CREATE INDEX events_kind_amount ON events (kind, amount)`);
  // Sets hint bits and the visibility map now, so the first timed reader does not pay for it.
  await q(`VACUUM (FREEZE, ANALYZE)`);

  const [s] = await q(`
    SELECT pg_database_size(current_database())::bigint AS db,
           pg_table_size('events')::bigint AS big,
           (SELECT coalesce(sum(pg_indexes_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind = 'r')::bigint AS idx`);
  const fp = await fingerprint(cluster, name);
  return {
    name,
    url,
    databaseBytes: Number(s!.db),
    tableBytes: await tableBytes(),
    indexBytes: Number(s!.idx),
    bigTableBytes: Number(s!.big),
    bigTableRows: rows,
    smallTables: opts.smallTables,
    smallTableRows: fp.rows - rows,
  };
}

export async function fingerprint(cluster: Cluster, database: string): Promise<Fingerprint> {
  // query_to_xml counts every table's rows exactly in one round trip.
  const [r] = await cluster.query(database, `
    SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public')::int AS tables,
           (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public')::int AS indexes,
           (SELECT coalesce(sum((xpath('/row/c/text()',
                     query_to_xml(format('SELECT count(*) AS c FROM %I.%I', schemaname, tablename), false, true, '')))[1]::text::bigint), 0)
              FROM pg_tables WHERE schemaname = 'public')::bigint AS rows,
           (SELECT coalesce(sum(id), 0) FROM events)::text AS ids`);
  return { tables: r!.tables, indexes: r!.indexes, rows: Number(r!.rows), eventsIdSum: r!.ids };
}
