import { text } from "node:stream/consumers";
import { MANIFEST_KEY, VERIFIED_KEY, manifestSchema, verificationSchema, type Manifest, type Verification } from "../manifest/manifest.js";
import { ResultAsync, errAsync, okAsync } from "../result.js";
import { filesManifestSchema, filesVerificationSchema, isFilesManifest, type FilesManifest, type FilesVerification } from "../manifest/files-manifest.js";
import { causeMessage } from "../util/errors.js";
import { backupPrefix } from "../object/backup-id.js";
import type { BackupStore, StoreError, StoredObject } from "../store/backup-store.js";

/** Why a backup could not be found or read. */
export type CatalogError =
  | { _tag: "BackupNotFound"; id: string; message: string }
  | { _tag: "ManifestInvalid"; id: string; message: string }
  | { _tag: "StoreFailed"; storeError: StoreError; message: string };

export interface BackupSummary {
  id: string;
  manifest: Manifest;
  verification: Verification | null;
}

const storeFailed = (e: StoreError): CatalogError => ({ _tag: "StoreFailed", storeError: e, message: e.message });

/** Ids of committed backups (those with a manifest), oldest first. Unfinished prefixes are not backups. */
export function listBackupIds(store: BackupStore): ResultAsync<string[], CatalogError> {
  return store.list("").mapErr(storeFailed).map(backupIdsIn);
}

/** The committed backups' ids in a listing of the whole store, oldest first. */
export const backupIdsIn = (objects: readonly StoredObject[]): string[] =>
  objects
    .filter((o) => o.key.endsWith(`/${MANIFEST_KEY}`))
    .map((o) => o.key.slice(0, -(MANIFEST_KEY.length + 1)))
    .sort((a, b) => (timestampOf(a) < timestampOf(b) ? -1 : timestampOf(a) > timestampOf(b) ? 1 : a < b ? -1 : 1));

const timestampOf = (id: string) => id.slice(id.lastIndexOf("/") + 1);

/** A small JSON object of the store (a manifest, a verification), parsed by `parse`. */
export function readJson<T>(store: BackupStore, key: string, parse: (v: unknown) => T): ResultAsync<T, StoreError | { _tag: "Invalid"; message: string }> {
  return store.get(key).andThen((body) =>
    ResultAsync.fromPromise(text(body), (e): StoreError => ({ _tag: "StoreIOFailed", key, message: causeMessage(e), retryable: true })).andThen((t) => {
      try {
        return okAsync(parse(JSON.parse(t)));
      } catch (e) {
        return errAsync({ _tag: "Invalid" as const, message: `${key} is not a valid cobalt-backup file: ${causeMessage(e).slice(0, 300)}` });
      }
    }),
  );
}

export function readManifest(store: BackupStore, id: string): ResultAsync<Manifest, CatalogError> {
  return readJson(store, `${backupPrefix(id)}${MANIFEST_KEY}`, (v) => manifestSchema.parse(v)).mapErr((e): CatalogError => {
    if (e._tag === "ObjectNotFound") return { _tag: "BackupNotFound", id, message: `no backup ${id} in ${store.location} (run 'list' to see the backups there)` };
    if (e._tag === "Invalid") return { _tag: "ManifestInvalid", id, message: e.message };
    return storeFailed(e);
  });
}

export function readVerification(store: BackupStore, id: string): ResultAsync<Verification | null, CatalogError> {
  return readJson(store, `${backupPrefix(id)}${VERIFIED_KEY}`, (v) => verificationSchema.parse(v)).orElse((e) =>
    e._tag === "ObjectNotFound" || e._tag === "Invalid" ? okAsync(null) : errAsync(storeFailed(e)),
  );
}

/** Database backups (`cobalt-backup/1`) and files backups (`cobalt-backup-files/1`) share a store. */
export type BackupKind = "database" | "files";

/**
 * The kind of a committed backup, from its manifest's `format`. A manifest that cannot be parsed
 * counts as a database backup, so that the database commands report it as invalid, as before.
 */
export function backupKind(store: BackupStore, id: string): ResultAsync<BackupKind, CatalogError> {
  return readJson(store, `${backupPrefix(id)}${MANIFEST_KEY}`, (v) => v).map((v): BackupKind => (isFilesManifest(v) ? "files" : "database")).orElse((e) => {
    if (e._tag === "Invalid") return okAsync<BackupKind, CatalogError>("database");
    if (e._tag === "ObjectNotFound") return errAsync<BackupKind, CatalogError>({ _tag: "BackupNotFound", id, message: `no backup ${id} in ${store.location} (run 'list' to see the backups there)` });
    return errAsync<BackupKind, CatalogError>(storeFailed(e));
  });
}

/** The newest of `ids` (oldest first) that is of `kind`, reading manifests from the newest down. */
function newestOfKind(store: BackupStore, ids: readonly string[], kind: BackupKind): ResultAsync<string | undefined, CatalogError> {
  const at = (i: number): ResultAsync<string | undefined, CatalogError> =>
    i < 0 ? okAsync(undefined) : backupKind(store, ids[i]!).andThen((k) => (k === kind ? okAsync(ids[i]) : at(i - 1)));
  return at(ids.length - 1);
}

const KIND_WORDS: Record<BackupKind, { noun: string; other: string }> = {
  database: { noun: "backup", other: "it is a files backup: restore it with 'restore-files'" },
  files: { noun: "files backup", other: "it is a database backup: restore it with 'restore'" },
};

/**
 * Resolves `latest`, `<source>/latest` or an exact id to a committed backup id of `kind`
 * (database backups unless told otherwise; `any` takes either): `latest` skips backups of the
 * other kind, and an exact id of the other kind is an error that names the command to use. An
 * unknown id is an error that says where to look.
 */
export function resolveBackupId(store: BackupStore, wanted: string, kind: BackupKind | "any" = "database"): ResultAsync<string, CatalogError> {
  const words = kind === "any" ? { noun: "backup", other: "" } : KIND_WORDS[kind];
  const newest = (ids: readonly string[]) => (kind === "any" ? okAsync<string | undefined, CatalogError>(ids[ids.length - 1]) : newestOfKind(store, ids, kind));
  return listBackupIds(store).andThen((ids) => {
    if (wanted === "latest" || wanted.endsWith("/latest")) {
      const source = wanted === "latest" ? undefined : wanted.slice(0, -"/latest".length);
      const candidates = source ? ids.filter((i) => i.startsWith(`${source}/`)) : ids;
      return newest(candidates).andThen((last) =>
        last ? okAsync(last) : errAsync<string, CatalogError>({ _tag: "BackupNotFound", id: wanted, message: `no complete ${words.noun}${source ? ` of ${source}` : ""} in ${store.location}` }),
      );
    }
    if (!ids.includes(wanted)) {
      return newest(ids).andThen((last) =>
        errAsync<string, CatalogError>({ _tag: "BackupNotFound", id: wanted, message: `no ${words.noun} ${wanted} in ${store.location}${last ? ` (newest is ${last}; run 'list' to see all)` : ` (it holds no complete ${words.noun}s)`}` }),
      );
    }
    if (kind === "any") return okAsync(wanted);
    return backupKind(store, wanted).andThen((k) =>
      k === kind ? okAsync(wanted) : errAsync<string, CatalogError>({ _tag: "BackupNotFound", id: wanted, message: `${wanted} in ${store.location} is not a ${words.noun}: ${words.other}` }),
    );
  });
}

/** One committed backup of either kind, as `list` shows it. */
export type CatalogEntry =
  | { kind: "database"; id: string; manifest: Manifest; verification: Verification | null }
  | { kind: "files"; id: string; manifest: FilesManifest; verification: FilesVerification | null };

type AnyManifest = { kind: "database"; manifest: Manifest } | { kind: "files"; manifest: FilesManifest };

/** Reads a backup's manifest whatever its kind (one read), with the schema its `format` names, and its verification. */
export function readCatalogEntry(store: BackupStore, id: string): ResultAsync<CatalogEntry, CatalogError> {
  return readJson(store, `${backupPrefix(id)}${MANIFEST_KEY}`, (v): AnyManifest => (isFilesManifest(v) ? { kind: "files", manifest: filesManifestSchema.parse(v) } : { kind: "database", manifest: manifestSchema.parse(v) }))
    .mapErr((e): CatalogError => {
      if (e._tag === "ObjectNotFound") return { _tag: "BackupNotFound", id, message: `no backup ${id} in ${store.location} (run 'list' to see the backups there)` };
      if (e._tag === "Invalid") return { _tag: "ManifestInvalid", id, message: e.message };
      return storeFailed(e);
    })
    .andThen((m): ResultAsync<CatalogEntry, CatalogError> =>
      m.kind === "database"
        ? readVerification(store, id).map((verification) => ({ kind: "database", id, manifest: m.manifest, verification }))
        : readJson(store, `${backupPrefix(id)}${VERIFIED_KEY}`, (v) => filesVerificationSchema.parse(v))
            .orElse((e) => (e._tag === "ObjectNotFound" || e._tag === "Invalid" ? okAsync(null) : errAsync(storeFailed(e))))
            .map((verification) => ({ kind: "files", id, manifest: m.manifest, verification })),
    );
}

/** A files backup's manifest, read and checked; a database backup's id is `NotAFilesBackup`. */
export function readFilesManifest(store: BackupStore, id: string): ResultAsync<FilesManifest, CatalogError | { _tag: "NotAFilesBackup"; id: string; message: string }> {
  return readJson(store, `${backupPrefix(id)}${MANIFEST_KEY}`, (v) => v)
    .mapErr((e): CatalogError => {
      if (e._tag === "ObjectNotFound") return { _tag: "BackupNotFound", id, message: `no backup ${id} in ${store.location} (run 'list' to see the backups there)` };
      if (e._tag === "Invalid") return { _tag: "ManifestInvalid", id, message: e.message };
      return storeFailed(e);
    })
    .andThen((v) => {
      if (!isFilesManifest(v)) return errAsync({ _tag: "NotAFilesBackup" as const, id, message: `${id} in ${store.location} is a database backup, not a files backup: restore it with 'restore'` });
      const parsed = filesManifestSchema.safeParse(v);
      if (!parsed.success) return errAsync({ _tag: "ManifestInvalid" as const, id, message: `${id}/${MANIFEST_KEY} is not a valid files manifest: ${parsed.error.message.slice(0, 300)}` });
      return okAsync(parsed.data);
    });
}

/** A backup whose manifest exists but cannot be read (truncated, not JSON, not ours): proven damaged. */
export interface DamagedBackup {
  id: string;
  problem: string;
}

/** What a store holds: the committed backups that can be read, and those whose manifest cannot. */
export interface Catalog {
  entries: CatalogEntry[];
  damaged: DamagedBackup[];
}

/**
 * Every committed backup, database and files, oldest first. One unreadable manifest does not hide
 * the others: it is listed under `damaged`.
 */
export function listCatalog(store: BackupStore): ResultAsync<Catalog, CatalogError> {
  return listBackupIds(store)
    .andThen((ids) =>
      ResultAsync.combine(
        ids.map((id) =>
          readCatalogEntry(store, id)
            .map((entry): CatalogEntry | DamagedBackup => entry)
            .orElse((e) => (e._tag === "ManifestInvalid" ? okAsync<CatalogEntry | DamagedBackup, CatalogError>({ id, problem: e.message }) : errAsync<CatalogEntry | DamagedBackup, CatalogError>(e))),
        ),
      ),
    )
    .map((all) => ({
      entries: all.filter((e): e is CatalogEntry => "kind" in e),
      damaged: all.filter((e): e is DamagedBackup => "problem" in e),
    }));
}

/** The committed database backups that can be read, oldest first; files backups in the same store are left out. */
export function listBackups(store: BackupStore): ResultAsync<BackupSummary[], CatalogError> {
  return listCatalog(store).map(({ entries }) =>
    entries.flatMap((e) => (e.kind === "database" ? [{ id: e.id, manifest: e.manifest, verification: e.verification }] : [])),
  );
}
