import { text } from "node:stream/consumers";
import { MANIFEST_KEY, VERIFIED_KEY, manifestSchema, verificationSchema, type Manifest, type Verification } from "../manifest/manifest.js";
import { ResultAsync, errAsync, okAsync } from "../result.js";
import { causeMessage } from "../util/errors.js";
import { backupPrefix } from "./backup-id.js";
import type { BackupStore, StoreError } from "./backup-store.js";

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
  return store
    .list("")
    .mapErr(storeFailed)
    .map((objects) =>
      objects
        .filter((o) => o.key.endsWith(`/${MANIFEST_KEY}`))
        .map((o) => o.key.slice(0, -(MANIFEST_KEY.length + 1)))
        .sort((a, b) => (timestampOf(a) < timestampOf(b) ? -1 : timestampOf(a) > timestampOf(b) ? 1 : a < b ? -1 : 1)),
    );
}

const timestampOf = (id: string) => id.slice(id.lastIndexOf("/") + 1);

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

/**
 * Resolves `latest`, `<source>/latest` or an exact id to a committed backup id. An unknown id is
 * an error that says where to look.
 */
export function resolveBackupId(store: BackupStore, wanted: string): ResultAsync<string, CatalogError> {
  return listBackupIds(store).andThen((ids) => {
    if (wanted === "latest" || wanted.endsWith("/latest")) {
      const source = wanted === "latest" ? undefined : wanted.slice(0, -"/latest".length);
      const candidates = source ? ids.filter((i) => i.startsWith(`${source}/`)) : ids;
      const last = candidates[candidates.length - 1];
      return last ? okAsync(last) : errAsync({ _tag: "BackupNotFound" as const, id: wanted, message: `no complete backup${source ? ` of ${source}` : ""} in ${store.location}` });
    }
    return ids.includes(wanted)
      ? okAsync(wanted)
      : errAsync({ _tag: "BackupNotFound" as const, id: wanted, message: `no backup ${wanted} in ${store.location}${ids.length ? ` (newest is ${ids[ids.length - 1]}; run 'list' to see all)` : " (it holds no complete backups)"}` });
  });
}

export function listBackups(store: BackupStore): ResultAsync<BackupSummary[], CatalogError> {
  return listBackupIds(store).andThen((ids) =>
    ResultAsync.combine(ids.map((id) => readManifest(store, id).andThen((manifest) => readVerification(store, id).map((verification) => ({ id, manifest, verification }))))),
  );
}
