import type { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { storedObjects, type Manifest } from "../manifest/manifest.js";
import { backupPrefix } from "../object/backup-id.js";
import { keysMissing } from "../object/encoding.js";
import type { DecryptionKeys } from "../object/encryption.js";
import { corruptObject, readObject, storedMismatch, type StoredRef } from "../object/read-object.js";
import { failWith, type Fail } from "../result.js";
import type { DdlItem } from "../schema/model.js";
import type { RoleSpec } from "../schema/roles.js";
import type { BackupStore } from "../store/backup-store.js";
import { readManifest, type CatalogError } from "./backup-catalog.js";

/** Why a database backup could not be read as its manifest says: shared by restore and export. */
export type BackupReadError =
  | CatalogError
  /** The backup is encrypted and no identity or passphrase was given: nothing was read. */
  | { _tag: "KeysMissing"; id: string; recipients: string[]; passphrase: boolean; message: string }
  | { _tag: "ObjectMissing"; key: string; message: string }
  | { _tag: "ObjectCorrupt"; key: string; message: string }
  | { _tag: "DecryptionFailed"; key: string; message: string };

const fail: Fail<BackupReadError> = failWith();

/** The KeysMissing error of an encrypted backup opened without keys. */
export const keysMissingError = (id: string, encryption: { recipients: string[]; passphrase: boolean }, what = "backup"): BackupReadError & { _tag: "KeysMissing" } => {
  const forWhom = encryption.recipients.length ? ` for ${encryption.recipients.join(", ")}` : "";
  return {
    _tag: "KeysMissing",
    id,
    recipients: [...encryption.recipients],
    passphrase: encryption.passphrase,
    message: `${what} ${id} is encrypted${forWhom}${encryption.passphrase ? " (or a passphrase)" : ""}, and no key that opens it was given`,
  };
};

/** One object of a database backup as its original bytes (see `readObject`); fails with the BackupReadError naming it. */
export async function openChecked(store: BackupStore, manifest: Manifest, ref: StoredRef, keys?: DecryptionKeys): Promise<Readable> {
  const r = await readObject(store, `${backupPrefix(manifest.id)}${ref.key}`, ref, { compression: manifest.compression, encrypted: manifest.encryption !== null, ...(keys ? { keys } : {}) });
  if (r.isOk()) return r.value;
  const e = r.error;
  if (e._tag === "StoreFailed") return fail({ _tag: "ObjectMissing", key: ref.key, message: e.message });
  if (e._tag === "DecryptionFailed") {
    return fail({ _tag: "DecryptionFailed", key: ref.key, message: `cannot decrypt ${ref.key} of backup ${manifest.id}: ${e.reason}; it is encrypted for ${manifest.encryption?.recipients.join(", ") || "a passphrase"}` });
  }
  return fail(e);
}

/** After a consumer rejected an object's bytes, whether the object itself is corrupt (see `storedMismatch`). */
export async function corruptionOf(store: BackupStore, manifest: Manifest, ref: StoredRef): Promise<BackupReadError | undefined> {
  const detail = await storedMismatch(store, `${backupPrefix(manifest.id)}${ref.key}`, ref);
  return detail === undefined ? undefined : { _tag: "ObjectCorrupt", key: ref.key, message: `object ${ref.key} is corrupt: ${detail}` };
}

/** Every object the manifest lists must be in the store at its recorded size; checked before anything is changed or written. */
export async function checkObjects(store: BackupStore, manifest: Manifest): Promise<void> {
  const prefix = backupPrefix(manifest.id);
  const listed = await store.list(prefix);
  if (listed.isErr()) return fail({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
  const sizes = new Map(listed.value.map((o) => [o.key.slice(prefix.length), o.bytes]));
  for (const o of storedObjects(manifest)) {
    const size = sizes.get(o.key);
    if (size === undefined) fail({ _tag: "ObjectMissing", key: o.key, message: `backup ${manifest.id} is damaged: object ${o.key} is missing from ${store.location}` });
    if (size !== o.bytes) fail({ _tag: "ObjectCorrupt", key: o.key, message: `backup ${manifest.id} is damaged: object ${o.key} is ${size} bytes, the manifest recorded ${o.bytes}` });
  }
}

/**
 * Opens a backup for reading, before anything is changed or written: its manifest, a check that
 * the keys are there and every object is present at its size, and its schema, whose reading also
 * proves the keys open it. Fails with the BackupReadError naming what is wrong.
 */
export async function openBackup(store: BackupStore, id: string, keys?: DecryptionKeys): Promise<{ manifest: Manifest; items: DdlItem[]; roles: RoleSpec[] }> {
  const m = await readManifest(store, id);
  if (m.isErr()) return fail(m.error);
  const manifest = m.value;
  if (keysMissing(manifest.encryption, keys)) fail(keysMissingError(manifest.id, manifest.encryption!));
  await checkObjects(store, manifest);
  const schema = await openChecked(store, manifest, manifest.schema, keys);
  try {
    const parsed = JSON.parse(await text(schema)) as { items: DdlItem[]; roles?: RoleSpec[] };
    // Backups written before roles were captured have none.
    return { manifest, items: parsed.items, roles: parsed.roles ?? [] };
  } catch (cause) {
    return fail(corruptObject(manifest.schema.key, cause));
  }
}
