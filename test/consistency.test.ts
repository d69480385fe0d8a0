/**
 * Acceptance 2 (issue 2), and issue 12's with chunks: while a --jobs 4 backup runs, a writer moves
 * money between two tables in transactions; the restored data must be one single point in time,
 * also when every table is read in chunks by different workers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { startCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";

const dir = mkdtempSync(join(tmpdir(), "cobalt-consistency-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ACCOUNTS = 100_000;
const OPENING = 1000;

it("a backup taken under concurrent transfers, in chunks, restores to one point in time", async () => {
  const pgc = cluster(15);
  const db = await pgc.newDatabase("bank");
  // Three padding tables larger than `checking` keep three workers busy, so `savings` is read
  // well after `checking`: with per-worker snapshots, transfers in between would show.
  await pgc.query(db, `
    CREATE TABLE checking (id int PRIMARY KEY, balance bigint NOT NULL, memo text);
    CREATE TABLE savings (id int PRIMARY KEY, balance bigint NOT NULL, memo text);
    CREATE TABLE transfers (n int PRIMARY KEY, account int NOT NULL);
    INSERT INTO checking SELECT g, ${OPENING}, repeat('c', 120) FROM generate_series(1, ${ACCOUNTS}) g;
    INSERT INTO savings SELECT g, ${OPENING}, repeat('s', 60) FROM generate_series(1, ${ACCOUNTS}) g;
    CREATE TABLE pad1 AS SELECT g AS id, repeat('x', 300) AS filler FROM generate_series(1, 120000) g;
    CREATE TABLE pad2 AS SELECT * FROM pad1;
    CREATE TABLE pad3 AS SELECT * FROM pad1;
  `);

  const writer = new pg.Client({ connectionString: pgc.url(db) });
  await writer.connect();
  let transfers = 0;
  let running = true;
  const writing = (async () => {
    while (running) {
      const n = transfers + 1;
      const account = ((n * 7919) % ACCOUNTS) + 1;
      await writer.query("BEGIN");
      await writer.query("UPDATE checking SET balance = balance - 1 WHERE id = $1", [account]);
      await writer.query("UPDATE savings SET balance = balance + 1 WHERE id = $1", [account]);
      await writer.query("INSERT INTO transfers VALUES ($1, $2)", [n, account]);
      await writer.query("COMMIT");
      transfers = n;
    }
  })();
  while (transfers < 20) await new Promise((r) => setTimeout(r, 10));
  const before = transfers;
  // 1 MiB chunks: each money table is read in about ten pieces, interleaved with the padding's.
  const backup = await startCli(["backup", "--source", pgc.url(db), "--dest", pathToFileURL(dir).href, "--jobs", "4", "--split-larger-than", "1MiB", "--json"]).done;
  const after = transfers;
  running = false;
  await writing;
  await writer.end();
  expect(backup.code, backup.stderr).toBe(0);
  expect(backup.json!.units).toBeGreaterThan(40);
  // The writer really ran during the backup, so an inconsistent read would have shown.
  expect(after - before).toBeGreaterThan(20);

  const target = await pgc.newDatabase("bank_restored");
  const restore = await startCli(["restore", "--from", pathToFileURL(dir).href, "--backup", backup.json!.id, "--target", pgc.url(target), "--jobs", "4"]).done;
  expect(restore.code, restore.stderr).toBe(0);
  const [r] = await pgc.query<{ checking: string; savings: string; logged: string }>(target, `
    SELECT (SELECT sum(balance) FROM checking) AS checking, (SELECT sum(balance) FROM savings) AS savings,
           (SELECT count(*) FROM transfers) AS logged`);
  const logged = Number(r!.logged);
  expect(Number(r!.checking) + Number(r!.savings)).toBe(2 * ACCOUNTS * OPENING);
  // Each transfer moved exactly 1 and logged itself: all three tables agree on how many happened.
  expect(Number(r!.savings) - ACCOUNTS * OPENING).toBe(logged);
  expect(OPENING * ACCOUNTS - Number(r!.checking)).toBe(logged);
  expect(logged).toBeGreaterThanOrEqual(before);
  expect(logged).toBeLessThanOrEqual(after);
});
