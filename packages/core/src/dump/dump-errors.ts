import type { Readable } from "node:stream";
import { writeObject, type WriteObjectOptions, type WrittenObject } from "../object/write-object.js";
import { failWith, settle, unexpected, type Fail, type ResultAsync, type Unexpected } from "../result.js";
import type { BackupStore } from "../store/backup-store.js";
import { abortReason } from "../util/errors.js";
import type { SchemaError } from "../schema/errors.js";
import type { StoreError } from "../store/backup-store.js";

/** Why a dump stage stopped. Nothing is committed (no manifest) after any of these. */
export type DumpError =
  | { _tag: "SourceConnectFailed"; reason: string; message: string; retryable: boolean }
  | { _tag: "SnapshotFailed"; message: string }
  | { _tag: "SchemaCaptureFailed"; schemaError: SchemaError; message: string }
  | { _tag: "CopyFailed"; table: string; message: string; retryable: boolean }
  | { _tag: "LargeObjectsFailed"; message: string; retryable: boolean }
  | { _tag: "StoreFailed"; storeError: StoreError; message: string }
  /** `commitBackup` found units without a valid marker and object: run them, then commit again. */
  | { _tag: "UnitsMissing"; id: string; units: number[]; message: string }
  /** No plan under this backup id: plan it first (or it was removed). */
  | { _tag: "PlanMissing"; id: string; message: string }
  /** A stored plan that cannot be continued as asked: another snapshot, or a live source. */
  | { _tag: "ResumeRefused"; id: string; message: string }
  /** The signal fired: uploads were aborted (and, for a live source, what was written deleted). */
  | { _tag: "Interrupted"; reason: string; message: string }
  | Unexpected;

export const fail: Fail<DumpError> = failWith();

/**
 * A dump stage's work as its Result: a Failure's error, `Interrupted` once the signal fired, or
 * `Unexpected` for anything else thrown.
 */
export const settleDump = <T>(work: Promise<T>, signal?: AbortSignal, afterwards = "the units it finished are kept, so that it can be continued"): ResultAsync<T, DumpError> =>
  settle(
    work,
    (e): DumpError => {
      if (signal?.aborted) {
        const reason = abortReason(signal);
        return { _tag: "Interrupted", reason, message: `${reason}: ${afterwards}` };
      }
      return unexpected(e, "backup failed");
    },
    signal,
  );

/**
 * Writes one object of the backup, or throws: the store's refusal as `StoreFailed`, the source's
 * own failure as it came (a Failure of ours passes through; the caller names anything else).
 */
export async function writeOrThrow(store: BackupStore, key: string, source: Readable, opts: WriteObjectOptions): Promise<WrittenObject> {
  const r = await writeObject(store, key, source, opts);
  if (r.isOk()) return r.value;
  if (r.error._tag === "StoreFailed") return fail({ _tag: "StoreFailed", storeError: r.error.storeError, message: r.error.message });
  throw r.error.cause;
}
