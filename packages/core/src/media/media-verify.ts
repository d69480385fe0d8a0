import type { FilesVerification } from "../manifest/files-manifest.js";
import { VERIFIED_KEY } from "../manifest/manifest.js";
import { backupPrefix } from "../object/backup-id.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { Failure, settle, unexpected, type ResultAsync } from "../result.js";
import type { BackupStore } from "../store/backup-store.js";
import { readableOf } from "../util/readable.js";
import { checkArchive, fail, type MediaError } from "./media-archive.js";

/** What proves the backup itself bad (failure-kind.ts says the same of every tag): a failed verification is recorded. */
const BACKUP_DEFECTS: ReadonlySet<string> = new Set<MediaError["_tag"]>(["IntegrityFailed", "EntryMismatch", "UnsafeEntry", "ManifestInvalid"]);
import { readFilesBackup, requireKeys, type FilesRestoreProgress } from "./media-restore.js";

export interface FilesVerifyDeps {
  store: BackupStore;
  /** Keys for an encrypted backup; without them an encrypted backup is refused before anything is read. */
  decryption?: DecryptionKeys;
  onProgress?: (p: FilesRestoreProgress) => void;
  now?: () => Date;
}

/**
 * Proves a files backup as `verify` proves a database backup: reads the archive back from the
 * store, checks its stored and raw sha256 and every file in it against the manifest, and records
 * the verdict in `verified.json`. A corrupt or different archive is recorded as a failed
 * verification, then returned as the error that names it.
 */
export function verifyFiles(deps: FilesVerifyDeps, input: { id: string }): ResultAsync<FilesVerification, MediaError> {
  return settle(run(deps, input), (e): MediaError => unexpected(e, `verifying ${input.id} failed`));
}

async function run(deps: FilesVerifyDeps, input: { id: string }): Promise<FilesVerification> {
  const now = deps.now ?? (() => new Date());
  const manifest = await readFilesBackup(deps.store, input.id);
  requireKeys(manifest, deps.decryption);
  const a = manifest.archive;
  const target = `${a.key} read back from ${deps.store.location}`;
  const record = async (v: FilesVerification) => {
    const r = await deps.store.put(`${backupPrefix(input.id)}${VERIFIED_KEY}`, readableOf(JSON.stringify(v, null, 2)));
    if (r.isErr()) fail({ _tag: "StoreFailed", storeError: r.error, message: `verified, but recording it failed: ${r.error.message}` });
    return v;
  };
  const progress: FilesRestoreProgress = { phase: "check", files: 0, filesTotal: manifest.totals.files, bytes: 0, bytesTotal: manifest.totals.bytes };
  deps.onProgress?.({ ...progress });
  try {
    const ref = { id: input.id, key: a.key, bytes: a.bytes, sha256: a.sha256, rawBytes: a.rawBytes, rawSha256: a.rawSha256, compression: manifest.compression, encrypted: Boolean(manifest.encryption) };
    await checkArchive(deps.store, manifest, ref, deps.decryption, (bytes) => {
      progress.files++;
      progress.bytes += bytes;
      deps.onProgress?.({ ...progress });
    });
  } catch (e) {
    if (e instanceof Failure && BACKUP_DEFECTS.has(e.error._tag)) {
      await record({ verifiedAt: now().toISOString(), ok: false, target, files: 0, bytes: 0, problem: e.error.message }).catch(() => {});
    }
    throw e;
  }
  return record({ verifiedAt: now().toISOString(), ok: true, target: `${target}: sha256 of the stored object and of every file inside it match the manifest`, files: manifest.totals.files, bytes: manifest.totals.bytes });
}
