/**
 * Issue 10, point 10: progress moves inside a table. While a table streams, backup, restore and
 * verify report its rows and bytes so far: `table.progress` JSON lines (throttled; every chunk
 * with COBALT_PROGRESS_MS=0) and, on a terminal, the progress line.
 */
import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { throttle } from "../packages/cli/src/output.ts";
import { CLI, runCli, type CliRun } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { tempStore } from "./support/roundtrip.ts";

const ROWS = 100_000;

const events = (r: CliRun) => r.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, any>);

/** The table.progress events of `table` before the event that says it finished, and that event's index. */
function inTable(r: CliRun, table: string, finished: string, phase?: string) {
  const all = events(r);
  const end = all.findIndex((e) => e.event === finished && e.table === table);
  expect(end, r.stderr.slice(0, 2000)).toBeGreaterThan(0);
  return all.slice(0, end).filter((e) => e.event === "table.progress" && e.table === table && (!phase || e.phase === phase));
}

/** Rows grow while the table streams, strictly between none and all. */
function expectMoving(progress: Record<string, any>[]): void {
  const rows = progress.map((e) => e.tableRows as number);
  expect(rows.length).toBeGreaterThan(2);
  expect(rows.filter((n) => n > 0 && n < ROWS).length).toBeGreaterThan(1);
  expect(rows).toEqual([...rows].sort((a, b) => a - b));
  expect(progress.every((e) => e.tableRawBytes > 0)).toBe(true);
}

it("backup, restore and verify report rows and bytes while a table streams", async () => {
  const pg15 = cluster(15);
  const db = await pg15.newDatabase("progress");
  await pg15.query(db, `CREATE TABLE big AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, ${ROWS}) g; CREATE TABLE small AS SELECT 1 AS id`);
  const dest = tempStore();
  const every = { COBALT_PROGRESS_MS: "0" };

  const b = await runCli(["backup", "--source", pg15.url(db), "--dest", dest, "--jobs", "1", "--json"], every);
  expect(b.code, b.stderr).toBe(0);
  expectMoving(inTable(b, "public.big", "table.dumped"));

  const target = await pg15.newDatabase("progress_restored");
  const r = await runCli(["restore", "--from", dest, "--target", pg15.url(target), "--jobs", "1", "--json"], every);
  expect(r.code, r.stderr).toBe(0);
  const restoring = inTable(r, "public.big", "table.restored", "data");
  expectMoving(restoring);
  expect(restoring.every((e) => e.tableExpectedRows === ROWS)).toBe(true);

  const v = await runCli(["verify", "--from", dest, "--target", pg15.url(), "--jobs", "1", "--json"], every);
  expect(v.code, v.stderr).toBe(0);
  expectMoving(inTable(v, "public.big", "table.restored", "data"));
  expectMoving(inTable(v, "public.big", "table.checked", "read-back"));

  // Throttled by default: at most one line per 5 s (the first one opens the gate).
  const t0 = Date.now();
  const quiet = await runCli(["backup", "--source", pg15.url(db), "--dest", dest, "--jobs", "1", "--json"]);
  const elapsed = Date.now() - t0;
  expect(quiet.code, quiet.stderr).toBe(0);
  expect(events(quiet).filter((e) => e.event === "table.progress").length).toBeLessThanOrEqual(1 + Math.floor(elapsed / 5000));

  // On a terminal the progress line names the table and its rows so far.
  const tty = execFileSync("script", ["-q", "-e", "-c", `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} backup --source '${pg15.url(db)}' --dest '${dest}' --jobs 1`, "/dev/null"], { encoding: "utf8" });
  expect(tty).toMatch(/\r\x1b\[2Kbackup \S+: data · tables 0\/2 · [\d,]+ rows · .* · public\.big [\d,]+ rows [\d.]+ \w*B/);
});

it("the JSON progress gate opens at most once per interval", () => {
  let now = 0;
  const gate = throttle(5000, () => now);
  const opened = [0, 100, 4999, 5000, 5001, 9999, 10_000, 30_000].map((t) => ((now = t), gate()));
  expect(opened).toEqual([true, false, false, true, false, false, true, true]);
});
