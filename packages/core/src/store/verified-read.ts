import { createHash } from "node:crypto";
import { pipeline, type Readable } from "node:stream";
import { decompressor } from "../dump/compression.js";
import { DecryptionError, decryptedStream, type DecryptionKeys } from "../dump/encryption.js";
import { text } from "node:stream/consumers";
import { storedObjects, type Manifest } from "../manifest/manifest.js";
import type { DdlItem } from "../schema/model.js";
import type { RoleSpec } from "../schema/roles.js";
import { readManifest, type CatalogError } from "./backup-catalog.js";
import { IntegrityError, Verifier } from "../util/meter.js";
import { backupPrefix } from "./backup-id.js";
import type { BackupStore, StoreError } from "./backup-store.js";

export interface ObjectRef {
  key: string;
  bytes: number;
  sha256: string;
  rawBytes?: number;
  rawSha256?: string;
}

/** Why an object of a backup could not be opened. */
export type OpenError =
  | { _tag: "StoreFailed"; storeError: StoreError; key: string; message: string }
  | { _tag: "DecryptionFailed"; key: string; message: string };

export class OpenFailure extends Error {
  constructor(readonly error: OpenError) {
    super(error.message);
  }
}

/** Fails closed, before any object is read, when a backup is encrypted and no key was given. */
export function missingKeys(manifest: Manifest, keys: DecryptionKeys | undefined): string | undefined {
  if (!manifest.encryption) return undefined;
  if (keys && (keys.identities.length > 0 || keys.passphrase)) return undefined;
  const forWhom = manifest.encryption.recipients.length ? ` for ${manifest.encryption.recipients.join(", ")}` : "";
  return `backup ${manifest.id} is encrypted${forWhom}${manifest.encryption.passphrase ? " (or a passphrase)" : ""}: pass --identity with a file holding the matching AGE-SECRET-KEY${manifest.encryption.passphrase ? ", or --passphrase-env" : ""}`;
}

/**
 * Opens one object of a backup as its original bytes: the stored bytes are checked against the
 * manifest's size and sha256, decrypted when the backup is encrypted, decompressed, and checked
 * again when the raw digest is recorded. A mismatch errors the stream at its end (an
 * `IntegrityError` naming the object), so a consumer (COPY FROM in a transaction) aborts.
 * Rejects with an `OpenFailure` when the object is missing or no identity opens it.
 */
export async function openObject(store: BackupStore, manifest: Manifest, ref: ObjectRef, keys?: DecryptionKeys): Promise<Readable> {
  const got = await store.get(`${backupPrefix(manifest.id)}${ref.key}`);
  if (got.isErr()) throw new OpenFailure({ _tag: "StoreFailed", storeError: got.error, key: ref.key, message: got.error.message });
  let stream: Readable = pipeline(got.value, new Verifier(ref.key, ref), () => {}) as unknown as Readable;
  if (manifest.encryption) {
    try {
      stream = await decryptedStream(stream, keys ?? { identities: [] });
    } catch (e) {
      const reason = e instanceof DecryptionError ? e.message : String(e);
      throw new OpenFailure({ _tag: "DecryptionFailed", key: ref.key, message: `cannot decrypt ${ref.key} of backup ${manifest.id}: ${reason}; it is encrypted for ${manifest.encryption.recipients.join(", ") || "a passphrase"}` });
    }
  }
  const stages: NodeJS.ReadWriteStream[] = [decompressor(manifest.compression)];
  if (ref.rawSha256 !== undefined && ref.rawBytes !== undefined) stages.push(new Verifier(ref.key, { bytes: ref.rawBytes, sha256: ref.rawSha256 }));
  return pipeline(stream, ...(stages as [NodeJS.ReadWriteStream]), () => {}) as unknown as Readable;
}

/** Why an object of a backup could not be read as the manifest says: shared by restore and export. */
export type BackupReadError =
  | CatalogError
  | { _tag: "ObjectMissing"; key: string; message: string }
  | { _tag: "ObjectCorrupt"; key: string; message: string }
  | { _tag: "DecryptionFailed"; key: string; message: string };

export class BackupReadFailure extends Error {
  constructor(readonly error: BackupReadError) {
    super(error.message);
  }
}

/** openObject, with every failure as a BackupReadFailure. */
export async function openChecked(store: BackupStore, manifest: Manifest, ref: ObjectRef, keys?: DecryptionKeys): Promise<Readable> {
  try {
    return await openObject(store, manifest, ref, keys);
  } catch (e) {
    if (!(e instanceof OpenFailure)) throw e;
    // An object no key opens may be a corrupt one: its stored digest tells (a wrong key is the caller's, corruption the backup's).
    if (e.error._tag === "DecryptionFailed") throw new BackupReadFailure((await corruptionOf(store, manifest, ref)) ?? e.error);
    throw new BackupReadFailure({ _tag: "ObjectMissing", key: ref.key, message: e.error.message });
  }
}

/** What reading an object's bytes failed with, as a BackupReadError naming the object. */
export const corruptObject = (key: string, cause: unknown): BackupReadError =>
  cause instanceof IntegrityError
    ? { _tag: "ObjectCorrupt", key, message: cause.message }
    : { _tag: "ObjectCorrupt", key, message: `object ${key} cannot be read: ${cause instanceof Error ? cause.message : String(cause)}` };

/** Every object the manifest lists must be in the store at its recorded size; checked before anything is changed or written. */
export async function checkObjects(store: BackupStore, manifest: Manifest): Promise<void> {
  const prefix = backupPrefix(manifest.id);
  const listed = await store.list(prefix);
  if (listed.isErr()) throw new BackupReadFailure({ _tag: "StoreFailed", storeError: listed.error, message: listed.error.message });
  const sizes = new Map(listed.value.map((o) => [o.key.slice(prefix.length), o.bytes]));
  for (const o of storedObjects(manifest)) {
    const size = sizes.get(o.key);
    if (size === undefined) throw new BackupReadFailure({ _tag: "ObjectMissing", key: o.key, message: `backup ${manifest.id} is damaged: object ${o.key} is missing from ${store.location}` });
    if (size !== o.bytes) throw new BackupReadFailure({ _tag: "ObjectCorrupt", key: o.key, message: `backup ${manifest.id} is damaged: object ${o.key} is ${size} bytes, the manifest recorded ${o.bytes}` });
  }
}

/**
 * Opens a backup for reading, before anything is changed or written: its manifest, a check that
 * the keys are there and every object is present at its size, and its schema, whose reading also
 * proves the keys open it. Throws a BackupReadFailure naming what is wrong.
 */
export async function openBackup(store: BackupStore, id: string, keys?: DecryptionKeys): Promise<{ manifest: Manifest; items: DdlItem[]; roles: RoleSpec[] }> {
  const m = await readManifest(store, id);
  if (m.isErr()) throw new BackupReadFailure(m.error);
  const manifest = m.value;
  const keysMissing = missingKeys(manifest, keys);
  if (keysMissing) throw new BackupReadFailure({ _tag: "DecryptionFailed", key: manifest.schema.key, message: keysMissing });
  await checkObjects(store, manifest);
  const schema = await openChecked(store, manifest, manifest.schema, keys);
  try {
    const parsed = JSON.parse(await text(schema)) as { items: DdlItem[]; roles?: RoleSpec[] };
    // Backups written before roles were captured have none.
    return { manifest, items: parsed.items, roles: parsed.roles ?? [] };
  } catch (cause) {
    throw new BackupReadFailure(corruptObject(manifest.schema.key, cause));
  }
}

export { IntegrityError };

/** Size and sha256 of a stored object, read on its own; undefined when it cannot be read. */
export async function storedDigest(store: BackupStore, key: string): Promise<{ bytes: number; sha256: string } | undefined> {
  const got = await store.get(key);
  if (got.isErr()) return undefined;
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    for await (const chunk of got.value as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  } catch {
    return undefined;
  }
  return { bytes, sha256: hash.digest("hex") };
}


/**
 * After a consumer rejected an object's bytes (COPY FROM stopping at a malformed row, say), tells
 * whether the object itself is corrupt: its stored size and sha256 are checked on their own.
 */
export async function corruptionOf(store: BackupStore, manifest: Manifest, ref: ObjectRef): Promise<BackupReadError | undefined> {
  const got = await storedDigest(store, `${backupPrefix(manifest.id)}${ref.key}`);
  if (!got || (got.bytes === ref.bytes && got.sha256 === ref.sha256)) return undefined;
  const detail = got.bytes !== ref.bytes ? `${got.bytes} bytes, the manifest recorded ${ref.bytes}` : `sha256 ${got.sha256} does not match the manifest's ${ref.sha256}`;
  return { _tag: "ObjectCorrupt", key: ref.key, message: `object ${ref.key} is corrupt: ${detail}` };
}
