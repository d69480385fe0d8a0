import { existsSync } from "node:fs";
import type { Command } from "commander";
import { causeMessage, checkSourceDatabase, checkStore, type StoreError } from "@cobalt-backup/core";
import type { SnapshotError } from "@cobalt-backup/core/rds";
import { awsSettingsOf, keysFromConfig, storeFromConfig } from "../adapters/from-config.js";
import { postgresTarget } from "../adapters/postgres-url.js";
import { loadConfig, maskConfig } from "../config/load-config.js";
import type { Config } from "../config/config-schema.js";
import { EXIT } from "../output.js";
import { runCommand } from "./common.js";

interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

/** What to fix, in this configuration's keys, for a store or RDS failure core classified (`reason`). */
function setupText(reason: string | undefined, where: "the store" | "RDS", message: string): string {
  const key = where === "the store" ? "store.profile" : "source.profile";
  switch (reason) {
    case "credentials":
      return `no AWS credentials for ${where}: set ${key}, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
    case "no-bucket":
      return "the bucket does not exist: check store.url";
    case "unreachable":
      return `cannot reach ${where}: check the endpoint and the network (${message})`;
    case "denied":
      return `${where} refused the credentials: check the key and its permissions (${message.split("\n")[0]})`;
    default:
      return message;
  }
}

const storeText = (e: StoreError): string => (e._tag === "StoreUnavailable" ? setupText(e.reason, "the store", e.message) : e.message);
const rdsText = (e: SnapshotError): string =>
  e._tag === "SourceInstanceNotFound" ? `${e.message}: check source.rdsInstance and source.region` : setupText("reason" in e ? (e.reason as string | undefined) : undefined, "RDS", e.message);

/** Read-only checks, each core's (a Lambda makes the same ones): nothing is written, created or deleted. */
async function checks(c: Config): Promise<Check[]> {
  const out: Check[] = [];
  const check = async (what: string, run: () => Promise<string>) => {
    try {
      out.push({ what, ok: true, detail: await run() });
    } catch (e) {
      out.push({ what, ok: false, detail: causeMessage(e) });
    }
  };
  await check("store", async () => (await checkStore(await storeFromConfig(c.store))).match((v) => v, (e) => Promise.reject(new Error(storeText(e)))));
  if (c.source.url) {
    await check("source", async () => {
      const t = postgresTarget(c.source.url!, "source.url");
      return (await checkSourceDatabase(t.connect, `${t.host}:${t.port}/${t.database}`)).match((v) => v, (e) => Promise.reject(new Error(e.message)));
    });
  } else {
    await check("source", async () => {
      const [{ awsClients }, { checkSourceInstance }] = await Promise.all([import("../adapters/aws-clients.js"), import("@cobalt-backup/core/rds")]);
      const { rds } = awsClients(awsSettingsOf(c.source));
      return (await checkSourceInstance({ rds }, { instance: c.source.rdsInstance! })).match((v) => v, (e) => Promise.reject(new Error(rdsText(e))));
    });
  }
  if (c.encryption) {
    await check("encryption", async () => {
      const { encryption } = keysFromConfig(c.encryption);
      if (!encryption) throw new Error("encryption is configured without any recipient or passphrase");
      const identityFile = c.encryption!.identityFile;
      return `${encryption.recipients.length} recipient(s)${encryption.passphrase ? " and a passphrase" : ""}${identityFile ? "; identity readable for verify" : "; no identityFile: verify cannot read encrypted backups"}`;
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
