import type { CheckError } from "./check/check-backups.js";
import type { DumpError } from "./dump/stream-dump.js";
import type { ExportError } from "./export/export-sql.js";
import type { MediaError } from "./media/media-archive.js";
import type { PruneError } from "./retention/prune.js";
import type { SnapshotError } from "./snapshot/errors.js";
import type { StoreError } from "./store/backup-store.js";
import type { VerifyError } from "./verify/verify-restore.js";

/**
 * Tags a failure can carry beyond the stages' own errors: a verification that ran to a verdict of
 * "different", a check that found backups damaged, anything thrown that was not one of ours, a
 * run stopped by a signal.
 */
export type RunFailureTag = "VerifyMismatch" | "DamageFound" | "Unexpected" | "Interrupted";

/** Every error tag core produces. */
export type CoreErrorTag = DumpError["_tag"] | CheckError["_tag"] | VerifyError["_tag"] | ExportError["_tag"] | MediaError["_tag"] | PruneError["_tag"] | SnapshotError["_tag"] | StoreError["_tag"] | RunFailureTag;

/**
 * What a failure means for the operator:
 * - `input`: the input or configuration is wrong or out of reach (wrong password, port or
 *   database, no such bucket, refused credentials, unknown backup id, a key that does not open
 *   the backup, a non-empty target); nothing was changed; a person must fix it.
 * - `backup-defect`: the backup itself is proven bad (a difference, a corrupt or missing object).
 * - `instance-left`: the temporary RDS instance could not be deleted and may still run.
 * - `interrupted`: stopped by a signal, after cleaning up.
 * - `runtime`: something failed while the work ran (a connection dropped, a disk filled).
 */
export type FailureKind = "input" | "backup-defect" | "instance-left" | "interrupted" | "runtime";

const KINDS: Record<CoreErrorTag, FailureKind> = {
  // input and configuration
  SourceConnectFailed: "input",
  TargetConnectFailed: "input",
  StoreUnwritable: "input",
  StoreUnavailable: "input",
  BackupNotFound: "input",
  NotAFilesBackup: "input",
  TargetNotEmpty: "input",
  TargetMissing: "input",
  TriggersNotOwned: "input",
  SelectionInvalid: "input",
  DecryptionFailed: "input",
  KeysMissing: "input",
  EmptyPolicy: "input",
  SourceNotFound: "input",
  NameInUse: "input",
  SourceInstanceNotFound: "input",
  NoSnapshot: "input",
  SnapshotNotFound: "input",
  NotTemporary: "input",
  PlanMissing: "input",
  ResumeRefused: "input",
  // the backup is bad
  VerifyMismatch: "backup-defect",
  DamageFound: "backup-defect",
  ObjectCorrupt: "backup-defect",
  ObjectMissing: "backup-defect",
  ManifestInvalid: "backup-defect",
  IntegrityFailed: "backup-defect",
  EntryMismatch: "backup-defect",
  UnsafeEntry: "backup-defect",
  // the temporary instance
  CleanupFailed: "instance-left",
  Interrupted: "interrupted",
  // at run time
  SnapshotFailed: "runtime",
  UnitsMissing: "runtime",
  AwsUnavailable: "runtime",
  InsufficientCapacity: "runtime",
  InstanceBusy: "runtime",
  SchemaCaptureFailed: "runtime",
  CopyFailed: "runtime",
  LargeObjectsFailed: "runtime",
  StoreFailed: "runtime",
  StoreIOFailed: "runtime",
  ObjectNotFound: "runtime",
  SchemaApplyFailed: "runtime",
  LoadFailed: "runtime",
  ReadBackFailed: "runtime",
  WriteFailed: "runtime",
  ReadFailed: "runtime",
  RestoreCheckFailed: "runtime",
  RestoreFailed: "runtime",
  WaitTimedOut: "runtime",
  AwsCallFailed: "runtime",
  Unexpected: "runtime",
};

/** The kind of a core error tag; an unknown tag (a port's own) is a run-time failure. */
export const failureKind = (tag: string): FailureKind => (KINDS as Record<string, FailureKind>)[tag] ?? "runtime";

/**
 * The tag of anything a stage or port failed with: a tagged error's `_tag` (or a `Failure`'s),
 * with a store's own error under `StoreFailed` (what went wrong, not where), else `Unexpected`.
 */
export function tagOf(e: unknown): string {
  const tagged = (x: unknown) => (typeof (x as { _tag?: unknown } | null)?._tag === "string" ? (x as { _tag: string; storeError?: { _tag?: unknown } }) : undefined);
  const t = tagged(e) ?? tagged((e as { error?: unknown } | null)?.error);
  if (!t) return "Unexpected";
  return t._tag === "StoreFailed" && typeof t.storeError?._tag === "string" ? t.storeError._tag : t._tag;
}
