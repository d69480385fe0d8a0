/**
 * Connections to the temporary instance for the states that read or restore data: the endpoint
 * from the instance ref, the password from Secrets Manager (read once per instance and container,
 * never returned or logged), TLS as RDS offers it.
 */
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { PgConnect } from "@cobalt-backup/core";
import { readInstanceCredentials, type InstanceCredentials, type InstanceRef } from "@cobalt-backup/core/rds";
import pg from "pg";
import { z } from "zod";
import { stepError, value } from "./errors.js";
import { parseEnv } from "./input.js";

/** TLS to the instance unless the call says otherwise: the function's DB_TLS (tests against servers without TLS set `disable`). */
const env = parseEnv(z.object({ DB_TLS: z.enum(["require", "verify", "disable"]).default("require") }));

const cache = new Map<string, InstanceCredentials>();

/**
 * A PgConnect for `database` on the temporary instance. `tls`: `require` (encrypted, as RDS
 * enforces with rds.force_ssl; the default, unless DB_TLS says otherwise), `verify` with
 * `caBundle` (the RDS CA bundle's PEM text), or `disable` (tests).
 */
export async function instanceConnect(
  deps: { secrets: Pick<SecretsManagerClient, "send"> },
  input: { instance: InstanceRef; database: string; tls?: "require" | "verify" | "disable"; caBundle?: string },
): Promise<PgConnect> {
  const key = `${input.instance.instanceId}/${input.instance.secretId}`;
  const read = async () => {
    const c = await readInstanceCredentials(deps, { instance: input.instance }).match(value, stepError);
    cache.set(key, c);
    return c;
  };
  const cached = cache.get(key);
  let creds = cached ?? (await read());
  const tls = input.tls ?? env.DB_TLS;
  const ssl: pg.ClientConfig["ssl"] = tls === "disable" ? false : tls === "verify" ? { ca: input.caBundle, rejectUnauthorized: true } : { rejectUnauthorized: false };
  const open = async ({ host, port, username, password }: InstanceCredentials) => {
    const client = new pg.Client({ host, port, user: username, password, database: input.database, ssl, application_name: "cobalt-backup", connectionTimeoutMillis: 30_000 });
    client.on("error", () => {});
    await client.connect();
    return client;
  };
  let fresh = !cached;
  return async () => {
    try {
      return await open(creds);
    } catch (e) {
      // A warm container may hold the password of an earlier instance of the same name (a resumed
      // backup restores it again, with a new password): read the secret again, once.
      if (fresh) throw e;
      fresh = true;
      creds = await read();
      return await open(creds);
    }
  };
}
