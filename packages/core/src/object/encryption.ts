import { Duplex, PassThrough, Readable } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";

/**
 * Client-side encryption in the age format (age-encryption.org/v1), streamed: every stored object
 * of an encrypted backup is an age file the stock `age` tool decrypts. X25519 recipients (`age1...`)
 * or a passphrase (scrypt). Keys never reach the manifest; it records the recipients only.
 */
export interface EncryptionKeys {
  /** Public keys (`age1...`) that can decrypt. */
  recipients: readonly string[];
  passphrase?: string;
}

export interface DecryptionKeys {
  /** Secret keys (`AGE-SECRET-KEY-1...`). */
  identities: readonly string[];
  passphrase?: string;
}

/** age and its cryptography (half the CLI's code) load when an encrypted object is first met, not on every start. */
const age = () => import("age-encryption");

const toWeb = (r: Readable) => Readable.toWeb(r) as unknown as ReadableStream<Uint8Array>;
const fromWeb = (r: ReadableStream<Uint8Array>) => Readable.fromWeb(r as unknown as WebReadableStream<Uint8Array>);

/** A Duplex: plaintext in, age ciphertext out. */
export async function encryptingStream(keys: EncryptionKeys): Promise<Duplex> {
  const e = new (await age()).Encrypter();
  if (keys.passphrase) e.setPassphrase(keys.passphrase);
  for (const r of keys.recipients) e.addRecipient(r);
  const input = new PassThrough();
  const output = await e.encrypt(toWeb(input));
  return Duplex.from({ writable: input, readable: fromWeb(output) });
}

/** Raised when no identity given can open an object: the wrong key, or none at all. */
export class DecryptionError extends Error {}

/** Decrypts an age stream; rejects with a DecryptionError when the header matches no identity. */
export async function decryptedStream(input: Readable, keys: DecryptionKeys): Promise<Readable> {
  const d = new (await age()).Decrypter();
  for (const i of keys.identities) d.addIdentity(i);
  if (keys.passphrase) d.addPassphrase(keys.passphrase);
  try {
    return fromWeb(await d.decrypt(toWeb(input)));
  } catch (e) {
    throw new DecryptionError(e instanceof Error ? e.message : String(e));
  }
}

/** The recipient (public key) of an identity, for checks and messages. */
export const identityToRecipient = async (identity: string): Promise<string> => (await age()).identityToRecipient(identity);

/** A new X25519 identity (`AGE-SECRET-KEY-1...`). */
export const generateX25519Identity = async (): Promise<string> => (await age()).generateX25519Identity();
