import { existsSync } from "node:fs";
import type { Command } from "commander";
import { causeMessage } from "@cobalt-backup/core";
import { decryptionKeys, encryptionKeys } from "../adapters/age-keys.js";
import { postgresTarget } from "../adapters/postgres-url.js";
import { storeFromUrl } from "../adapters/store-url.js";
import { loadConfig, maskConfig } from "../config/load-config.js";
import type { Config } from "../config/config-schema.js";
import { EXIT } from "../output.js";
import { runCommand } from "./common.js";

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/** Turns an AWS SDK credential or network failure into what to fix. */
function awsHint(e: unknown, where: string): string {
  const m = causeMessage(e);
  if (/Could not load credentials|CredentialsProviderError|credentials/i.test(m)) return `no AWS credentials for ${where}: set ${where === "the store" ? "store.profile" : "source.profile"}, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  if (/NoSuchBucket/i.test(m)) return `the bucket does not exist: check store.url`;
  if (/ECONNREFUSED|ENOTFOUND|getaddrinfo|fetch failed|timed? ?out/i.test(m)) return `cannot reach ${where}: check the endpoint and the network (${m})`;
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden/i.test(m)) return `${where} refused the credentials: check the key and its permissions (${m.split("\n")[0]})`;
  return m;
}

/** Read-only checks: nothing is written, created or deleted. */
async function checks(c: Config): Promise<Check[]> {
  const out: Check[] = [];
  const check = async (what: string, run: () => Promise<string>) => {
    try {
      out.push({ what, ok: true, detail: await run() });
    } catch (e) {
      out.push({ what, ok: false, detail: causeMessage(e) });
    }
  };
  await check("store", async () => {
    const store = await storeFromUrl(c.store.url, "store.url", {
      ...(c.store.endpoint ? { endpoint: c.store.endpoint } : {}),
      ...(c.store.region ? { region: c.store.region } : {}),
      ...(c.store.profile ? { profile: c.store.profile } : {}),
      ...(c.store.pathStyle !== undefined ? { pathStyle: c.store.pathStyle } : {}),
    });
    const r = await store.list(".cobalt-config-check/");
    if (r.isErr()) throw new Error(awsHint(new Error(r.error.message), "the store"));
    return `${store.location} is reachable and listable`;
  });
  if (c.source.url) {
    await check("source", async () => {
      const t = postgresTarget(c.source.url!, "source.url");
      const client = await t.connect().catch((e) => Promise.reject(new Error(`cannot connect to ${t.host}:${t.port}/${t.database}: ${causeMessage(e)}`)));
      try {
        const r = await client.query<{ v: string }>("SELECT current_setting('server_version') AS v");
        return `PostgreSQL ${r.rows[0]!.v} at ${t.host}:${t.port}/${t.database}`;
      } finally {
        await client.end();
      }
    });
  } else {
    await check("source", async () => {
      const [{ awsClients }, { DescribeDBInstancesCommand }] = await Promise.all([import("../adapters/aws-clients.js"), import("@aws-sdk/client-rds")]);
      const { rds } = awsClients({ ...(c.source.region ? { rdsRegion: c.source.region } : {}), ...(c.source.profile ? { rdsProfile: c.source.profile } : {}), ...(c.source.endpoint ? { rdsEndpoint: c.source.endpoint } : {}) });
      try {
        const r = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: c.source.rdsInstance }));
        const i = r.DBInstances?.[0];
        return `RDS instance ${c.source.rdsInstance} exists (${i?.Engine} ${i?.EngineVersion}, ${i?.DBInstanceStatus})`;
      } catch (e) {
        if (/DBInstanceNotFound/.test(causeMessage(e)) || (e as { name?: string }).name?.startsWith("DBInstanceNotFound")) throw new Error(`no RDS instance ${c.source.rdsInstance} in this account and region: check source.rdsInstance and source.region`);
        throw new Error(awsHint(e, "RDS"));
      }
    });
  }
  if (c.encryption) {
    await check("encryption", async () => {
      const e = c.encryption!;
      const keys = encryptionKeys({ recipient: e.recipients, ...(e.recipientsFile ? { recipientsFile: e.recipientsFile } : {}), ...(e.passphraseEnv ? { passphraseEnv: e.passphraseEnv } : {}) });
      if (!keys) throw new Error("encryption is configured without any recipient or passphrase");
      if (e.identityFile) decryptionKeys({ identity: [e.identityFile] });
      return `${keys.recipients.length} recipient(s)${keys.passphrase ? " and a passphrase" : ""}${e.identityFile ? "; identity readable for verify" : "; no identityFile: verify cannot read encrypted backups"}`;
    });
  }
  if (c.verify.hook?.sql) await check("verify.hook", async () => (existsSync(c.verify.hook!.sql!) ? `${c.verify.hook!.sql} exists` : Promise.reject(new Error(`${c.verify.hook!.sql} does not exist`))));
  return out;
}

export function registerConfig(program: Command): void {
  const config = program.command("config").description("configuration of `run`");
  config
    .command("check")
    .description("print the effective configuration (secrets masked) and check the store, the source and the keys, changing nothing")
    .option("--config <path>", "configuration file", "cobalt-backup.config.json")
    .option("--json", "print the result as one JSON object")
    .action((opts: { config: string; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const c = loadConfig(opts.config);
        const results = await checks(c);
        const masked = maskConfig(c);
        const human = [JSON.stringify(masked, null, 2), ...results.map((r) => `${r.ok ? "ok    " : "FAILED"} ${r.what}: ${r.detail}`)].join("\n");
        if (results.every((r) => r.ok)) out.result({ config: masked, checks: results }, human);
        else {
          out.text(human);
          const failed = results.filter((r) => !r.ok);
          out.fail(failed.map((r) => `${r.what}: ${r.detail}`).join("; "), EXIT.usage, { tag: "ConfigCheckFailed", checks: results });
        }
      }),
    );
}
