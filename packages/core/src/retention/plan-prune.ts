import { applyPolicy, type RetentionPolicy } from "./policy.js";

export interface BackupState {
  id: string;
  /** The source the backup is of: retention applies to each source's backups separately. */
  source: string;
  time: Date;
  complete: boolean;
  verified: boolean;
  /** Object Lock retention: no object of the backup can be deleted before this. */
  lockedUntil?: Date;
  /** Its manifest exists but cannot be read (truncated, not JSON): why. Such a backup is never removed. */
  damaged?: string;
}

export interface PruneDecision {
  id: string;
  /** `damaged`: kept, because a manifest that cannot be read is never a reason to delete; an operator must look. */
  action: "keep" | "remove" | "locked" | "damaged";
  reasons: string[];
}

/**
 * What prune does with each backup. Complete, verified backups follow the policy, and the newest
 * of each source is always kept. A complete backup not verified is kept while it is newer than
 * the newest verified one (its verification may be pending) and removed once a newer verified
 * backup supersedes it. An unfinished backup (no manifest) is removed once older than `graceMs`.
 * A backup still under Object Lock is never removed: it is reported as locked. A backup whose
 * manifest cannot be read is never removed: it is reported as damaged. Without a policy every
 * complete backup is kept and only unfinished ones are removed.
 */
export function planPrune(backups: readonly BackupState[], policy: RetentionPolicy | undefined, now: Date, graceMs: number): PruneDecision[] {
  const decisions: PruneDecision[] = [];
  const bySource = new Map<string, BackupState[]>();
  for (const b of backups) bySource.set(b.source, [...(bySource.get(b.source) ?? []), b]);
  for (const list of bySource.values()) {
    const verified = list.filter((b) => b.complete && b.verified && !b.damaged);
    const kept = policy ? applyPolicy(verified, policy) : new Map(verified.map((b) => [b.id, ["no retention policy given"]]));
    const newestVerified = verified.reduce<BackupState | undefined>((n, b) => (!n || b.time > n.time ? b : n), undefined);
    if (newestVerified) kept.set(newestVerified.id, [...new Set([...(kept.get(newestVerified.id) ?? []), "newest verified"])]);
    for (const b of list) {
      let action: PruneDecision["action"];
      let reasons: string[];
      if (b.damaged) {
        action = "damaged";
        reasons = [`its manifest cannot be read (${b.damaged}): kept; inspect it, then restore the manifest or delete the backup by hand`];
      } else if (b.complete && b.verified) {
        reasons = kept.get(b.id) ?? ["not kept by the policy"];
        action = kept.has(b.id) ? "keep" : "remove";
      } else if (b.complete) {
        const superseded = Boolean(policy && newestVerified && b.time < newestVerified.time);
        action = superseded ? "remove" : "keep";
        reasons = [superseded ? "not verified, and a newer verified backup exists" : policy ? "not verified yet, newer than every verified backup" : "no retention policy given"];
      } else {
        const old = now.getTime() - b.time.getTime() > graceMs;
        action = old ? "remove" : "keep";
        reasons = [old ? "unfinished (no manifest), older than the grace period" : "unfinished (no manifest), may still be running"];
      }
      if (action === "remove" && b.lockedUntil && b.lockedUntil > now) {
        action = "locked";
        reasons = [...reasons, `under Object Lock until ${b.lockedUntil.toISOString()}: skipped`];
      }
      decisions.push({ id: b.id, action, reasons });
    }
  }
  return decisions.sort((a, b) => (a.id < b.id ? -1 : 1));
}
