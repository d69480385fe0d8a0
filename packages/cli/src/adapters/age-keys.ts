import { readFileSync } from "node:fs";
import type { Command } from "commander";
import type { DecryptionKeys, EncryptionKeys } from "@cobalt-backup/core";
import { UsageError } from "../usage-error.js";

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Flags that turn encryption on for a backup. */
export const encryptionFlags = (command: Command): Command =>
  command
    .option("--recipient <age1...>", "encrypt for this age public key (repeatable); encryption is on when any is given", collect)
    .option("--recipients-file <path>", "encrypt for every age1... key in this file (one per line)")
    .option("--passphrase-env <VAR>", "also encrypt with the passphrase in this environment variable");

/** Flags that give the keys to read an encrypted backup. */
export const decryptionFlags = (command: Command): Command =>
  command
    .option("--identity <path>", "file with the AGE-SECRET-KEY that opens an encrypted backup (repeatable)", collect)
    .option("--passphrase-env <VAR>", "environment variable holding the passphrase of an encrypted backup");

const passphraseFrom = (variable: string | undefined): string | undefined => {
  if (!variable) return undefined;
  const value = process.env[variable];
  if (!value) throw new UsageError(`--passphrase-env ${variable}: that environment variable is empty or unset`);
  return value;
};

const readKeyFile = (path: string, flag: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(e as { code?: string }).code ?? e})`);
  }
};

export function encryptionKeys(o: { recipient?: string[]; recipientsFile?: string; passphraseEnv?: string }): EncryptionKeys | undefined {
  const recipients = [...(o.recipient ?? [])];
  if (o.recipientsFile) {
    for (const line of readKeyFile(o.recipientsFile, "--recipients-file").split("\n")) {
      const t = line.trim();
      if (t && !t.startsWith("#")) recipients.push(t);
    }
  }
  for (const r of recipients) if (!/^age1[0-9a-z]+$/.test(r)) throw new UsageError(`recipient ${r.slice(0, 12)}... is not an age public key (age1...)`);
  const passphrase = passphraseFrom(o.passphraseEnv);
  return recipients.length || passphrase ? { recipients, ...(passphrase ? { passphrase } : {}) } : undefined;
}

export function decryptionKeys(o: { identity?: string[]; passphraseEnv?: string }): DecryptionKeys | undefined {
  const identities: string[] = [];
  for (const path of o.identity ?? []) {
    const found = readKeyFile(path, "--identity").split("\n").map((l) => l.trim()).filter((l) => l.startsWith("AGE-SECRET-KEY-"));
    if (!found.length) throw new UsageError(`--identity ${path}: no AGE-SECRET-KEY-... line in it`);
    identities.push(...found);
  }
  const passphrase = passphraseFrom(o.passphraseEnv);
  return identities.length || passphrase ? { identities, ...(passphrase ? { passphrase } : {}) } : undefined;
}
