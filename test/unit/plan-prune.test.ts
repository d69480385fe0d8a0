/** What prune decides for each backup, from their states alone. */
import { describe, expect, it } from "vitest";
import { planPrune, type BackupState } from "@cobalt-backup/core";

const day = 86_400_000;
const now = new Date("2026-03-10T12:00:00Z");
const at = (daysAgo: number) => new Date(now.getTime() - daysAgo * day);
const b = (id: string, daysAgo: number, over: Partial<BackupState> = {}): BackupState => ({ id, source: id.split("/")[0]!, time: at(daysAgo), complete: true, verified: true, ...over });
const actions = (d: ReturnType<typeof planPrune>) => Object.fromEntries(d.map((x) => [x.id, x.action]));

describe("planPrune", () => {
  it("keeps what the policy keeps, per source, and always the newest verified", () => {
    const backups = [b("a/1", 3), b("a/2", 2), b("a/3", 1), b("z/1", 5)];
    expect(actions(planPrune(backups, { keepLast: 2 }, now, day))).toEqual({ "a/1": "remove", "a/2": "keep", "a/3": "keep", "z/1": "keep" });
  });

  it("keeps an unverified backup newer than every verified one; removes one a newer verified backup supersedes", () => {
    const backups = [b("a/old", 3, { verified: false }), b("a/v", 2), b("a/new", 1, { verified: false })];
    const d = planPrune(backups, { keepLast: 1 }, now, day);
    expect(actions(d)).toEqual({ "a/new": "keep", "a/old": "remove", "a/v": "keep" });
    expect(d.find((x) => x.id === "a/old")!.reasons).toEqual(["not verified, and a newer verified backup exists"]);
  });

  it("removes an unfinished backup only once older than the grace period", () => {
    const backups = [b("a/v", 5), b("a/stale", 2, { complete: false, verified: false }), b("a/running", 0.01, { complete: false, verified: false })];
    expect(actions(planPrune(backups, { keepLast: 1 }, now, day))).toEqual({ "a/running": "keep", "a/stale": "remove", "a/v": "keep" });
  });

  it("never removes a backup under Object Lock or one whose manifest cannot be read", () => {
    const backups = [b("a/locked", 3, { lockedUntil: at(-1) }), b("a/damaged", 2, { damaged: "not JSON" }), b("a/new", 1)];
    const d = planPrune(backups, { keepLast: 1 }, now, day);
    expect(actions(d)).toEqual({ "a/damaged": "damaged", "a/locked": "locked", "a/new": "keep" });
    expect(d.find((x) => x.id === "a/locked")!.reasons.at(-1)).toMatch(/under Object Lock until/);
  });

  it("without a policy keeps every complete backup and collects only unfinished ones", () => {
    const backups = [b("a/1", 30), b("a/2", 20, { verified: false }), b("a/x", 3, { complete: false, verified: false })];
    expect(actions(planPrune(backups, undefined, now, day))).toEqual({ "a/1": "keep", "a/2": "keep", "a/x": "remove" });
  });
});
