import { suffix, type Compression } from "./compression.js";
import type { DecryptionKeys, EncryptionKeys } from "./encryption.js";

/** How a backup's objects are encoded on their way to the store. */
export interface ObjectEncoding {
  compression: Compression;
  compressionLevel?: number;
  /** Encrypt for these age recipients (or passphrase); on whenever any is given. */
  encryption?: EncryptionKeys;
}

/** Whether these keys turn encryption on: at least one recipient or a passphrase. */
export const encrypts = (keys: EncryptionKeys | undefined): keys is EncryptionKeys => Boolean(keys && (keys.recipients.length > 0 || keys.passphrase));

/** Whether these keys can try to open an encrypted object: at least one identity or a passphrase. */
export const canDecrypt = (keys: DecryptionKeys | undefined): keys is DecryptionKeys => Boolean(keys && (keys.identities.length > 0 || keys.passphrase));

/**
 * The end of an object's key: the compression's (`.zst`, `.gz`), then `.age` when encrypted, so
 * an operator with only the bucket knows which tools open it.
 */
export const objectSuffix = (encoding: ObjectEncoding): string => `${suffix(encoding.compression)}${encrypts(encoding.encryption) ? ".age" : ""}`;

/** What a manifest records of the encryption: the public recipients, never a key. */
export interface EncryptionRecord {
  format: "age";
  recipients: string[];
  passphrase: boolean;
}

export const encryptionRecord = (keys: EncryptionKeys | undefined): EncryptionRecord | null =>
  encrypts(keys) ? { format: "age", recipients: [...keys.recipients], passphrase: Boolean(keys.passphrase) } : null;

/** A backup is encrypted and no key that could open it was given: nothing should be read. */
export const keysMissing = (encryption: EncryptionRecord | null, keys: DecryptionKeys | undefined): boolean => encryption !== null && !canDecrypt(keys);
