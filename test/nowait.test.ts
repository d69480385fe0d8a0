/**
 * Issue 10, point 6: with --jobs 1, while table a is copied, `ALTER TABLE b` queues behind the
 * coordinator's ACCESS SHARE lock on b. A worker that then locked b plainly would queue behind the
 * ALTER, which waits for the end of the backup: both would wait until the ALTER's lock_timeout, or
 * forever (this test has none, and would time out). Workers lock with NOWAIT, as pg_dump's do, and
 * leave b to the coordinator, which holds its lock: the backup completes with b as it was, and
 * the ALTER runs afterwards.
 */
import pg from "pg";
import { expect, it } from "vitest";
import { startCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest } from "./support/oracle.ts";
import { restore, tempStore } from "./support/roundtrip.ts";

it("a DDL statement queued behind the backup does not stall it (--jobs 1)", async () => {
  const c = cluster(15);
  const db = await c.newDatabase("nowait");
  // a is copied first (largest first) and takes a while; b is small.
  await c.query(db, `CREATE TABLE a AS SELECT g AS id, md5(g::text) AS payload FROM generate_series(1, 300000) g;
    CREATE TABLE b (id int PRIMARY KEY, note text); INSERT INTO b SELECT g, 'before' FROM generate_series(1, 100) g; ANALYZE;`);
  const before = await dataDigest(c.url(db));
  const sql = (q: string, params?: unknown[]) => c.query(db, q, params);
  const ours = `a.application_name = 'cobalt-backup' AND a.datname = current_database()`;
  const bOid = (await sql(`SELECT 'public.b'::regclass::oid AS oid`))[0]!.oid;

  const dest = tempStore();
  const { child, done } = startCli(["backup", "--source", c.url(db), "--dest", dest, "--jobs", "1", "--json"]);
  let exited = false;
  void done.then(() => (exited = true));
  const until = async (what: string, check: () => Promise<boolean>) => {
    while (!(await check())) {
      if (exited) throw new Error(`the backup exited before: ${what}\n${(await done).stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const alter = new pg.Client({ connectionString: c.url(db) });
  await alter.connect();
  let stopped = false;
  try {
    // Once the coordinator holds ACCESS SHARE on b, freeze the CLI: the worker has at most begun a.
    const holdersOfB = () => sql(`SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE ${ours} AND l.relation = $1 AND l.mode = 'AccessShareLock' AND l.granted`, [bOid]);
    await until("the coordinator holds its lock on b", async () => (await holdersOfB()).length > 0);
    child.kill("SIGSTOP");
    stopped = true;
    expect(await holdersOfB()).toHaveLength(1);
    expect(await sql(`SELECT 1 FROM pg_stat_activity a WHERE ${ours} AND a.query LIKE '%COPY "public"."b"%'`)).toEqual([]);
    const altered = alter.query(`ALTER TABLE b ADD COLUMN added int DEFAULT 7`);
    await until("the ALTER queued behind the backup", async () =>
      (await sql(`SELECT 1 FROM pg_locks WHERE relation = $1 AND mode = 'AccessExclusiveLock' AND NOT granted`, [bOid])).length > 0,
    );
    child.kill("SIGCONT");
    stopped = false;

    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    await altered;
    expect(await sql(`SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'b' AND column_name = 'added'`)).toEqual([{ n: 1 }]);

    // The backup holds b as it was when the backup started, before the ALTER.
    const target = await c.newDatabase("nowait_restored");
    await restore(dest, r.json!.id, c.url(target));
    expect((await dataDigest(c.url(target))).tables).toEqual(before.tables);
  } finally {
    if (stopped) child.kill("SIGCONT");
    if (!exited) {
      child.kill("SIGKILL");
      await done;
    }
    await alter.end();
  }
});
