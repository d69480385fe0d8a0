import { MANIFEST_KEY, VERIFIED_KEY } from "../manifest/manifest.js";
import { readJson } from "../catalog/backup-catalog.js";
import { backupTime } from "../object/backup-id.js";
import { failWith, type Fail, settle, unexpected, type ResultAsync, type Unexpected } from "../result.js";
import type { BackupStore, StoreError, UnfinishedUpload } from "../store/backup-store.js";
import { planPrune, type BackupState, type PruneDecision } from "./plan-prune.js";
import type { RetentionPolicy } from "./policy.js";

/** Why prune stopped; a backup it could not delete is an error too (the report says which). */
export type PruneError =
  /** Every count of the policy is zero: it would remove every backup. */
  | { _tag: "EmptyPolicy"; message: string }
  | { _tag: "StoreFailed"; storeError: StoreError; message: string }
  | Unexpected;

export interface PruneDeps {
  store: BackupStore;
  now: () => Date;
}

export interface PruneInput {
  /** Without one, every complete backup is kept: prune only collects what unfinished runs left. */
  policy?: RetentionPolicy;
  /** Report what would be removed, remove nothing. */
  dryRun: boolean;
  /** How old an unfinished backup or upload must be before it is garbage (default 24 h). */
  graceMs?: number;
}

/** An upload a killed writer left (an S3 multipart upload and its parts, a `.partial-*` file, an empty directory). */
export interface UnfinishedDecision {
  key: string;
  started: string;
  action: "remove" | "keep";
}

export interface PruneReport {
  dryRun: boolean;
  decisions: PruneDecision[];
  removedObjects: number;
  unfinished: UnfinishedDecision[];
}

const fail: Fail<PruneError> = failWith();

/**
 * Applies a retention policy to a store: lists every backup prefix, reads which are complete,
 * verified, locked or damaged, decides with `planPrune`, and deletes what is to go, each backup's
 * manifest first so that a half-deleted backup is never listed as restorable. Then removes what
 * writers that were killed left and `list` never shows (unfinished multipart uploads and their
 * parts, temporary files, empty directories) once older than the grace period.
 */
export function pruneBackups(deps: PruneDeps, input: PruneInput): ResultAsync<PruneReport, PruneError> {
  return settle(run(deps, input), (e) => unexpected(e, "prune failed"));
}

async function run(deps: PruneDeps, input: PruneInput): Promise<PruneReport> {
  const { keepLast = 0, keepDaily = 0, keepWeekly = 0, keepMonthly = 0 } = input.policy ?? {};
  if (input.policy && keepLast + keepDaily + keepWeekly + keepMonthly <= 0) {
    fail({ _tag: "EmptyPolicy", message: "a policy that keeps nothing would remove every backup: keep at least one of the last, daily, weekly or monthly backups" });
  }
  const listed = await deps.store.list("");
  if (listed.isErr()) fail({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
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
      const m = await readJson(deps.store, `${id}/${MANIFEST_KEY}`, (v) => {
        if (typeof v !== "object" || v === null) throw new Error("not a JSON object");
        return v as { lockUntil?: string | null };
      });
      // A manifest prune cannot read is never grounds to delete: the backup is reported as damaged.
      if (m.isErr()) state.damaged = m.error.message;
      else if (m.value.lockUntil) state.lockedUntil = new Date(m.value.lockUntil);
      if (keys.includes(`${id}/${VERIFIED_KEY}`)) {
        const v = await readJson(deps.store, `${id}/${VERIFIED_KEY}`, (x) => x as { ok?: boolean });
        state.verified = v.isOk() && v.value.ok === true;
      }
    }
    states.push(state);
  }
  const graceMs = input.graceMs ?? 24 * 3_600_000;
  const decisions = planPrune(states, input.policy, deps.now(), graceMs);
  let removedObjects = 0;
  if (!input.dryRun) {
    for (const d of decisions.filter((x) => x.action === "remove")) {
      const keys = objects.get(d.id)!;
      const manifest = keys.filter((k) => k.endsWith(`/${MANIFEST_KEY}`));
      const rest = keys.filter((k) => !k.endsWith(`/${MANIFEST_KEY}`));
      for (const batch of [manifest, rest]) {
        if (!batch.length) continue;
        const r = await deps.store.delete(batch);
        if (r.isErr()) fail({ _tag: "StoreFailed", storeError: r.error, message: `removing backup ${d.id} failed: ${r.error.message}` });
        removedObjects += batch.length;
      }
    }
  }

  const leftovers = await deps.store.listUnfinished("");
  if (leftovers.isErr()) fail({ _tag: "StoreFailed", storeError: leftovers.error, message: leftovers.error.message });
  const old = (u: UnfinishedUpload) => deps.now().getTime() - u.started.getTime() >= graceMs;
  const unfinished = leftovers.value.map((u): UnfinishedDecision => ({ key: u.key, started: u.started.toISOString(), action: old(u) ? "remove" : "keep" }));
  if (!input.dryRun) {
    const r = await deps.store.abortUnfinished(leftovers.value.filter(old));
    if (r.isErr()) fail({ _tag: "StoreFailed", storeError: r.error, message: `removing unfinished uploads failed: ${r.error.message}` });
  }
  return { dryRun: input.dryRun, decisions, removedObjects, unfinished };
}
