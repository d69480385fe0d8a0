/**
 * @cobalt-backup/core: pure, composable stages of a verified off-system PostgreSQL backup.
 * Every stage is `stage(deps, input) -> ResultAsync<Output, StageError>`; clients are injected.
 */
export * from "./result.js";
export { SESSION_SETTINGS, applySessionSettings, type PgClient, type PgConnect } from "./pg/session.js";
export { describeConnectError, type ConnectProblem } from "./pg/connect-error.js";
export { ident, literal, qname } from "./pg/sql.js";
export { captureSchema } from "./schema/capture.js";
export type { SchemaError } from "./schema/errors.js";
export type { DdlItem, SchemaCapture, InventoryEntry, TableData } from "./schema/model.js";
export { createRoleSql, createRolesScript, grantMembershipSql, type RoleSpec, type RoleMembership, type CreateRolesOptions } from "./schema/roles.js";
export { inventoryOf, compareInventories, type InventoryDifference } from "./schema/inventory.js";
export { streamDump, type DumpDeps, type DumpInput, type DumpOutput, type DumpError, type DumpProgress } from "./dump/stream-dump.js";
export { planDump, findResumableBackup, type PlanDeps, type PlanInput, type PlanSummary, type DumpSettings, type SourceDescription } from "./dump/plan-dump.js";
export { dumpUnit, type UnitDeps, type UnitInput, type UnitResult, type UnitProgress } from "./dump/dump-unit.js";
export { commitBackup, buildManifest, type CommitDeps, type CommitInput, type CommitOutput } from "./dump/commit-backup.js";
export { PLAN_KEY, UNITS_KEY, markerKey, dumpPlanSchema, type DumpPlan, type PlanUnit, type UnitMarker } from "./dump/dump-plan.js";
export { chunkRanges, defaultSplitThreshold, parseSize, type ChunkRange } from "./dump/chunks.js";
export { restoreBackup, type RestoreDeps, type RestoreInput, type RestoreOutput, type RestoreError, type RestoreProgress, type RolesReport } from "./restore/restore-backup.js";
export { verifyRestore, recordVerification, recordFailedVerification, differencesOf, restoreSpaceNeeded, type VerifyReport, type VerifyError, type VerifyInput, type TableCheck } from "./verify/verify-restore.js";
export { prepareVerifyInPlace, verifyPartInPlace, postDataInPlace, finishVerifyInPlace, verifyParts, scratchDatabase, verdictKey, VERIFY_PARTS_KEY, POST_DATA_STEP, type InPlaceDeps, type InPlaceTarget, type VerifyPart, type PartVerdict, type PrepareOutput, type FinishOutput } from "./verify/verify-in-place.js";
export type { BackupStore, PutOptions, StoreError, StoredObject, UnfinishedUpload } from "./store/backup-store.js";
export { partSizeFor, maxObjectBytes, MAX_PARTS } from "./store/part-size.js";
export { fileStore } from "./store/file-store.js";
export { newBackupId, backupPrefix, backupTime } from "./object/backup-id.js";
export { compressor, decompressor, type Compression } from "./object/compression.js";
export { encryptingStream, decryptedStream, DecryptionError, identityToRecipient, generateX25519Identity, type EncryptionKeys, type DecryptionKeys } from "./object/encryption.js";
export { encrypts, canDecrypt, objectSuffix, type ObjectEncoding } from "./object/encoding.js";
export { writeObject, type WriteObjectOptions, type WrittenObject, type WriteObjectError } from "./object/write-object.js";
export { readObject, storedDigest, type StoredRef, type ObjectDecoding, type ReadObjectError } from "./object/read-object.js";
export { MANIFEST_KEY, MANIFEST_FORMAT, VERIFIED_KEY, manifestSchema, type Manifest, type TableObject, type Verification } from "./manifest/manifest.js";
export { FILES_MANIFEST_FORMAT, filesManifestSchema, filesVerificationSchema, type FilesManifest, type FilesEntry, type FilesVerification } from "./manifest/files-manifest.js";
export { listBackups, listBackupIds, readManifest, resolveBackupId, listCatalog, readCatalogEntry, readFilesManifest, backupKind, type BackupSummary, type CatalogError, type BackupKind, type CatalogEntry, type Catalog, type DamagedBackup } from "./catalog/backup-catalog.js";
export type { BackupReadError } from "./catalog/open-backup.js";
export { redactSecrets, causeMessage, abortReason } from "./util/errors.js";
export { pruneBackups, type PruneDeps, type PruneInput, type PruneReport, type PruneError } from "./retention/prune.js";
export { planPrune, type BackupState, type PruneDecision } from "./retention/plan-prune.js";
export { applyPolicy, isoWeek, type RetentionPolicy } from "./retention/policy.js";
export { runNightly, reportSetupFailure, type NightlyDeps, type NightlyInput, type RunReport, type RunFailure, type RunOutcome, type StageReport, type StageName, type OpenedSource, type Scratch, type ScratchNeeds } from "./pipeline/nightly-run.js";
export { failureKind, tagOf, type FailureKind, type CoreErrorTag, type RunFailureTag } from "./failure-kind.js";
export { checkStore, checkSourceDatabase, type SourceCheckError } from "./pipeline/preflight.js";
export { notificationMessage, type NotificationMessage } from "./pipeline/notification-message.js";
export { deliverNotifications, type NotifyTargets, type NotifyDeps, type Delivery } from "./pipeline/deliver-notifications.js";
export { exportSql, sessionPreamble, guardedPrivilegeSql, type ExportDeps, type ExportInput, type ExportOutput, type ExportError, type ExportProgress } from "./export/export-sql.js";
export { backupFiles, type FilesBackupDeps, type FilesBackupInput, type FilesBackupOutput, type FilesProgress } from "./media/media-backup.js";
export { verifyFiles, type FilesVerifyDeps } from "./media/media-verify.js";
export { restoreFiles, type FilesRestoreDeps, type FilesRestoreInput, type FilesRestoreOutput, type FilesRestoreProgress } from "./media/media-restore.js";
export type { MediaError } from "./media/media-archive.js";
