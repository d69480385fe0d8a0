import { MANIFEST_KEY, VERIFIED_KEY } from "../manifest/manifest.js";
import { ResultAsync } from "../result.js";
import { backupTime } from "../store/backup-id.js";
import { readJson } from "../store/backup-catalog.js";
import type { BackupStore, StoreError } from "../store/backup-store.js";
import { planPrune, type BackupState, type PruneDecision } from "./plan-prune.js";
import type { RetentionPolicy } from "./policy.js";

/** Why prune stopped; a backup it could not delete is an error too (the report says which). */
export type PruneError =
  | { _tag: "EmptyPolicy"; message: string }
  | { _tag: "StoreFailed"; storeError: StoreError; message: string };

export interface PruneDeps {
  store: BackupStore;
  now: () => Date;
}

export interface PruneInput {
  policy: RetentionPolicy;
  /** Report what would be removed, remove nothing. */
  dryRun: boolean;
  /** How old an unfinished backup must be before it is garbage (default 24 h). */
  graceMs?: number;
}

export interface PruneReport {
  dryRun: boolean;
  decisions: PruneDecision[];
  removedObjects: number;
}

class PruneFailure extends Error {
  constructor(readonly error: PruneError) {
    super(error.message);
  }
}

/**
 * Applies a retention policy to a store: lists every backup prefix, reads which are complete,
 * verified and locked, decides with `planPrune`, and deletes what is to go, each backup's
 * manifest first so that a half-deleted backup is never listed as restorable.
 */
export function pruneBackups(deps: PruneDeps, input: PruneInput): ResultAsync<PruneReport, PruneError> {
  return ResultAsync.fromPromise(run(deps, input), (e) =>
    e instanceof PruneFailure ? e.error : { _tag: "StoreFailed", storeError: { _tag: "StoreIOFailed", key: "", message: String(e), retryable: false }, message: `prune failed: ${String(e)}` },
  );
}

async function run(deps: PruneDeps, input: PruneInput): Promise<PruneReport> {
  const { keepLast = 0, keepDaily = 0, keepWeekly = 0, keepMonthly = 0 } = input.policy;
  if (keepLast + keepDaily + keepWeekly + keepMonthly <= 0) {
    throw new PruneFailure({ _tag: "EmptyPolicy", message: "a policy that keeps nothing would remove every backup: give at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly" });
  }
  const listed = await deps.store.list("");
  if (listed.isErr()) throw new PruneFailure({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
  const objects = new Map<string, string[]>();
  for (const o of listed.value) {
    const parts = o.key.split("/");
    if (parts.length < 3) continue;
    const id = `${parts[0]}/${parts[1]}`;
    if (!backupTime(id)) continue; // not a backup of ours
    objects.set(id, [...(objects.get(id) ?? []), o.key]);
  }
  const states: BackupState[] = [];
  for (const [id, keys] of objects) {
    const complete = keys.includes(`${id}/${MANIFEST_KEY}`);
    const state: BackupState = { id, source: id.slice(0, id.indexOf("/")), time: backupTime(id)!, complete, verified: false };
    if (complete) {
      const m = await readJson(deps.store, `${id}/${MANIFEST_KEY}`, (v) => v as { lockUntil?: string | null });
      // A manifest prune cannot read is never grounds to delete: treat the backup as locked.
      if (m.isErr()) state.lockedUntil = new Date(8.64e15);
      else if (m.value.lockUntil) state.lockedUntil = new Date(m.value.lockUntil);
      if (keys.includes(`${id}/${VERIFIED_KEY}`)) {
        const v = await readJson(deps.store, `${id}/${VERIFIED_KEY}`, (x) => x as { ok?: boolean });
        state.verified = v.isOk() && v.value.ok === true;
      }
    }
    states.push(state);
  }
  const decisions = planPrune(states, input.policy, deps.now(), input.graceMs ?? 24 * 3_600_000);
  let removedObjects = 0;
  if (!input.dryRun) {
    for (const d of decisions.filter((x) => x.action === "remove")) {
      const keys = objects.get(d.id)!;
      const manifest = keys.filter((k) => k.endsWith(`/${MANIFEST_KEY}`));
      const rest = keys.filter((k) => !k.endsWith(`/${MANIFEST_KEY}`));
      for (const batch of [manifest, rest]) {
        if (!batch.length) continue;
        const r = await deps.store.delete(batch);
        if (r.isErr()) throw new PruneFailure({ _tag: "StoreFailed", storeError: r.error, message: `removing backup ${d.id} failed: ${r.error.message}` });
        removedObjects += batch.length;
      }
    }
  }
  return { dryRun: input.dryRun, decisions, removedObjects };
}
