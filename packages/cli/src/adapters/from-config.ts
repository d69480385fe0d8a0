import type { BackupStore, DecryptionKeys, EncryptionKeys } from "@cobalt-backup/core";
import type { Config } from "../config/config-schema.js";
import { decryptionKeys, encryptionKeys } from "./age-keys.js";
import { storeFromUrl } from "./store-url.js";

/** The moment every object of a backup started now stays locked until (S3 Object Lock): computed once, given to the store and the manifest alike. */
export const lockUntilFor = (lockDays: number | undefined, now = Date.now()): Date | undefined => (lockDays ? new Date(now + lockDays * 86_400_000) : undefined);

/** The store a configuration names, with its S3 settings; `lockUntil` only for a store that writes a backup. */
export function storeFromConfig(store: Config["store"], lockUntil?: Date): Promise<BackupStore> {
  return storeFromUrl(store.url, "store.url", {
    ...(store.endpoint ? { endpoint: store.endpoint } : {}),
    ...(store.region ? { region: store.region } : {}),
    ...(store.profile ? { profile: store.profile } : {}),
    ...(store.pathStyle !== undefined ? { pathStyle: store.pathStyle } : {}),
    ...(lockUntil ? { lockUntil } : {}),
  });
}

/** The keys a configuration's `encryption` gives: to encrypt, and (with an identity file or a passphrase) to read back. */
export function keysFromConfig(enc: Config["encryption"]): { encryption?: EncryptionKeys; decryption?: DecryptionKeys } {
  if (!enc) return {};
  const passphrase = enc.passphraseEnv ? { passphraseEnv: enc.passphraseEnv } : {};
  const encryption = encryptionKeys({ recipient: enc.recipients, ...(enc.recipientsFile ? { recipientsFile: enc.recipientsFile } : {}), ...passphrase });
  const decryption = decryptionKeys({ identity: enc.identityFile ? [enc.identityFile] : [], ...passphrase });
  return { ...(encryption ? { encryption } : {}), ...(decryption ? { decryption } : {}) };
}

/** The RDS and EC2 client settings of a configuration's source. */
export const awsSettingsOf = (src: Config["source"]) => ({ ...(src.region ? { rdsRegion: src.region } : {}), ...(src.profile ? { rdsProfile: src.profile } : {}), ...(src.endpoint ? { rdsEndpoint: src.endpoint } : {}) });
