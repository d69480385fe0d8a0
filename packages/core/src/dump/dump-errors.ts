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
  /** The signal fired: every upload was aborted and what was written deleted. */
  | { _tag: "Interrupted"; reason: string; message: string };

/** A DumpError carried through code that throws; converted back once, at the stage's edge. */
export class DumpFailure extends Error {
  constructor(readonly error: DumpError) {
    super(error.message);
    this.name = error._tag;
  }
}

export const fail = (error: DumpError): never => {
  throw new DumpFailure(error);
};
