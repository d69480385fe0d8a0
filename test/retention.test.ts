/**
 * Issue 4, acceptance 4: a history of backups with fake timestamps (complete and verified,
 * complete but unverified, unfinished, locked, two sources) and exactly what prune keeps for
 * --keep-last 2 --keep-daily 7 --keep-weekly 4 --keep-monthly 3 (restic's semantics).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { fileStore, newBackupId, pruneBackups, type BackupStore } from "@cobalt-backup/core";
import { runCli } from "./support/cli.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
const put = (store: BackupStore, key: string, text: string) => store.put(key, Readable.from([Buffer.from(text)]));

async function backup(store: BackupStore, source: string, at: string, kind: "verified" | "unverified" | "unfinished", lockUntil?: string): Promise<string> {
  const id = newBackupId(source, new Date(at));
  await put(store, `${id}/data/0001.copy.zst`, "data");
  if (kind !== "unfinished") await put(store, `${id}/manifest.json`, JSON.stringify({ id, lockUntil: lockUntil ?? null }));
  if (kind === "verified") await put(store, `${id}/verified.json`, JSON.stringify({ ok: true }));
  return id;
}

it("prune keeps exactly what the policy, verification and locks say, per source", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cobalt-prune-"));
  const store = fileStore(pathToFileURL(dir).href);
  const ids: Record<string, string> = {};
  for (let d = 6; d <= 25; d++) {
    const date = `2026-11-${String(d).padStart(2, "0")}`;
    ids[date] = await backup(store, "prod", `${date}T02:00:00Z`, d === 24 ? "unverified" : "verified");
  }
  ids["11-20 late"] = await backup(store, "prod", "2026-11-20T14:00:00Z", "verified");
  ids["11-25 pending"] = await backup(store, "prod", "2026-11-25T11:00:00Z", "unverified");
  ids["11-10 crashed"] = await backup(store, "prod", "2026-11-10T03:00:00Z", "unfinished");
  ids["11-25 running"] = await backup(store, "prod", "2026-11-25T11:30:00Z", "unfinished");
  for (const m of ["2026-10-15", "2026-09-15", "2026-08-15", "2026-07-15"]) ids[m] = await backup(store, "prod", `${m}T02:00:00Z`, "verified");
  ids["06-01 locked"] = await backup(store, "prod", "2026-06-01T02:00:00Z", "verified", "2027-01-01T00:00:00Z");
  for (const h of ["01", "03", "05", "07"]) ids[`other ${h}`] = await backup(store, "other", `2026-11-25T${h}:00:00Z`, "verified");

  const expectKept = [
    "2026-11-25", "2026-11-23", "2026-11-22", "2026-11-21", "11-20 late", "2026-11-19", "2026-11-18", // last 2 + daily 7
    "2026-11-15", "2026-11-08", // weekly: W48 (11-25), W47 (11-22), W46 (11-15), W45 (11-08)
    "2026-10-15", "2026-09-15", // monthly: 2026-11 (11-25), 2026-10, 2026-09
    "11-25 pending", "11-25 running", // newer than every verified backup / may still be running
    "other 07", "other 05", // the other source's own last 2
  ];
  const locked = ["06-01 locked"];
  const all = Object.keys(ids);
  const expectRemoved = all.filter((k) => !expectKept.includes(k) && !locked.includes(k));
  expect(expectRemoved).toEqual(expect.arrayContaining(["2026-11-24", "2026-11-20", "11-10 crashed", "2026-08-15", "other 01"]));

  const policy = { keepLast: 2, keepDaily: 7, keepWeekly: 4, keepMonthly: 3 };
  const dry = (await pruneBackups({ store, now: () => NOW }, { policy, dryRun: true }))._unsafeUnwrap();
  const byAction = (action: string) => dry.decisions.filter((d) => d.action === action).map((d) => d.id).sort();
  expect(byAction("keep")).toEqual(expectKept.map((k) => ids[k]).sort());
  expect(byAction("remove")).toEqual(expectRemoved.map((k) => ids[k]).sort());
  expect(byAction("locked")).toEqual([ids["06-01 locked"]]);
  expect(dry.removedObjects).toBe(0);
  expect((await store.list(""))._unsafeUnwrap().length).toBeGreaterThan(0);

  const real = (await pruneBackups({ store, now: () => NOW }, { policy, dryRun: false }))._unsafeUnwrap();
  expect(real.decisions).toEqual(dry.decisions);
  const remaining = new Set((await store.list(""))._unsafeUnwrap().map((o) => o.key.split("/").slice(0, 2).join("/")));
  expect([...remaining].sort()).toEqual([...expectKept, ...locked].map((k) => ids[k]).sort());
});

it("prune refuses a policy that keeps nothing, and --dry-run through the CLI removes nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cobalt-prune-cli-"));
  const store = fileStore(pathToFileURL(dir).href);
  await backup(store, "prod", "2026-01-01T00:00:00Z", "verified");
  await backup(store, "prod", "2026-01-02T00:00:00Z", "verified");
  const empty = await runCli(["prune", "--from", dir, "--keep-last", "0"]);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toMatch(/keeps nothing.*--keep-last/);
  const dry = await runCli(["prune", "--from", dir, "--keep-last", "1", "--dry-run", "--json"]);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.json!.decisions.map((d: { action: string }) => d.action)).toEqual(["remove", "keep"]);
  expect((await store.list(""))._unsafeUnwrap()).toHaveLength(6);
});

it("prune without a policy keeps every complete backup and removes only what unfinished runs left", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cobalt-prune-gc-"));
  const store = fileStore(pathToFileURL(dir).href);
  const kept = [await backup(store, "prod", "2026-01-01T00:00:00Z", "verified"), await backup(store, "prod", "2026-01-02T00:00:00Z", "unverified")];
  const crashed = await backup(store, "prod", "2026-01-03T00:00:00Z", "unfinished");
  const r = await runCli(["prune", "--from", dir, "--grace-hours", "0", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json!.decisions.map((d: { id: string; action: string }) => [d.id, d.action])).toEqual([[kept[0], "keep"], [kept[1], "keep"], [crashed, "remove"]]);
  expect([...new Set((await store.list(""))._unsafeUnwrap().map((o) => o.key.split("/").slice(0, 2).join("/")))]).toEqual(kept);
});

it("prune never removes a backup whose manifest cannot be read: it reports it damaged", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cobalt-prune-damaged-"));
  const store = fileStore(pathToFileURL(dir).href);
  const old = await backup(store, "prod", "2026-01-01T00:00:00Z", "verified");
  await backup(store, "prod", "2026-01-02T00:00:00Z", "verified");
  const newest = await backup(store, "prod", "2026-01-03T00:00:00Z", "verified");
  // The oldest backup's manifest, truncated: the policy would remove it, were it readable.
  writeFileSync(join(dir, ...old.split("/"), "manifest.json"), '{"id": "prod/2026');
  const r = await runCli(["prune", "--from", dir, "--keep-last", "1", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  const actions = Object.fromEntries(r.json!.decisions.map((d: { id: string; action: string }) => [d.id, d.action]));
  expect(actions[old]).toBe("damaged");
  expect(actions[newest]).toBe("keep");
  expect(r.stderr).toMatch(/"level":"warn","event":"backup.damaged".*manifest cannot be read/);
  expect((await store.list(`${old}/`))._unsafeUnwrap().map((o) => o.key)).toEqual([`${old}/data/0001.copy.zst`, `${old}/manifest.json`, `${old}/verified.json`]);
});
