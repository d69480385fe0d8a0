/**
 * How long one btree index build takes, for docs/lambda.md's limits of verify in place (one
 * CREATE INDEX is the step no split bounds): a table of `rows` rows (bigint, 64-character text,
 * numeric) on an embedded PostgreSQL 15 with its default maintenance_work_mem.
 *
 *   npx tsx test/bench/index-build.ts [rows]
 */
import { startCluster } from "../support/postgres.ts";

const rows = Number(process.argv[2] ?? 4_000_000);
const c = await startCluster(15);
try {
  await c.query("postgres", "CREATE TABLE t (id bigint, v text, n numeric)");
  await c.query("postgres", `INSERT INTO t SELECT g, md5(g::text) || md5((g * 7)::text), g * 1.5 FROM generate_series(1, ${rows}) g`);
  await c.query("postgres", "VACUUM ANALYZE t");
  const { b, m } = (await c.query<{ b: string; m: string }>("postgres", "SELECT pg_relation_size('t') AS b, current_setting('maintenance_work_mem') AS m"))[0]!;
  const mib = Number(b) / 2 ** 20;
  for (const [label, sql] of [["bigint", "CREATE INDEX ON t (id)"], ["text (64 characters)", "CREATE INDEX ON t (v)"]] as const) {
    const t0 = performance.now();
    await c.query("postgres", sql);
    const s = (performance.now() - t0) / 1000;
    console.log(`${label}: heap ${mib.toFixed(0)} MiB, ${rows} rows, ${s.toFixed(1)} s: ${(mib / s).toFixed(0)} MiB of heap per second (maintenance_work_mem ${m})`);
  }
} finally {
  await c.stop();
}
