import { backupIdsIn } from "../catalog/backup-catalog.js";
import type { FilesVerification } from "../manifest/files-manifest.js";
import { VERIFIED_KEY, type Verification } from "../manifest/manifest.js";
import { backupPrefix } from "../object/backup-id.js";
import { okAsync, type ResultAsync } from "../result.js";
import type { BackupStore, StoreError, StoredObject } from "../store/backup-store.js";
import { readableOf } from "../util/readable.js";
import { describeReadData, type BackupCheck, type CheckReport } from "./check-backups.js";

/** A backup's last check: when, how deep, and the damage found. Its time in the listing schedules the next one. */
export const CHECKED_KEY = "checked.json";

const DAY_MS = 86_400_000;

/**
 * Records each backup's verdict as `checked.json` next to its manifest. A damaged backup's
 * verification is recorded as failed too (`verified.json`), so `list` shows it FAILED and
 * retention no longer counts it as a good copy: the policy keeps others in its place.
 */
export function recordChecks(store: BackupStore, report: CheckReport, at: Date): ResultAsync<void, StoreError> {
  const put = (key: string, value: unknown) => store.put(key, readableOf(JSON.stringify(value, null, 2))).map(() => undefined);
  const one = (b: BackupCheck): ResultAsync<void, StoreError> => {
    const prefix = backupPrefix(b.id);
    const checked = put(`${prefix}${CHECKED_KEY}`, { checkedAt: at.toISOString(), depth: describeReadData(report.readData), ...b });
    if (b.ok || b.kind === "unknown") return checked;
    const common = { verifiedAt: at.toISOString(), ok: false, target: `check of the stored objects in ${report.location}`, problem: b.damage.map((d) => d.message).join("; ") };
    const failed: Verification | FilesVerification = b.kind === "database" ? { ...common, tables: 0, rows: 0 } : { ...common, files: 0, bytes: 0 };
    return checked.andThen(() => put(`${prefix}${VERIFIED_KEY}`, failed));
  };
  return report.backups.reduce<ResultAsync<void, StoreError>>((done, b) => done.andThen(() => one(b)), okAsync(undefined));
}

/**
 * The backups a nightly run checks, from a listing of the whole store: committed backups other
 * than `except` whose last check is missing or at least `everyDays` old; never-checked ones
 * first (oldest first), then those checked longest ago; at most `count`.
 */
export function dueForCheck(objects: readonly StoredObject[], opts: { count: number; everyDays: number; now: Date; except?: string }): string[] {
  const checkedAt = new Map(objects.filter((o) => o.key.endsWith(`/${CHECKED_KEY}`)).map((o) => [o.key.slice(0, -(CHECKED_KEY.length + 1)), o.modified.getTime()]));
  const due = backupIdsIn(objects).filter((id) => {
    if (id === opts.except) return false;
    const at = checkedAt.get(id);
    return at === undefined || opts.now.getTime() - at >= opts.everyDays * DAY_MS;
  });
  // A stable sort keeps never-checked backups (time -1) oldest first.
  return due.sort((a, b) => (checkedAt.get(a) ?? -1) - (checkedAt.get(b) ?? -1)).slice(0, opts.count);
}

/** One line naming every damaged backup and object of a report. */
export const damageSummary = (report: CheckReport): string => {
  const damaged = report.backups.filter((b) => !b.ok);
  return `${damaged.length} of ${report.backups.length} backup(s) checked are damaged: ${damaged.flatMap((b) => b.damage.map((d) => d.message)).join("; ")}`;
};
