import type { Command } from "commander";
import { runNightly, type OpenedSource, type RunReport } from "@cobalt-backup/core";
import { decryptionKeys, encryptionKeys } from "../adapters/age-keys.js";
import { hookRunner } from "../adapters/hook.js";
import { notify } from "../adapters/notify.js";
import { postgresTarget } from "../adapters/postgres-url.js";
import { openScratch } from "../adapters/scratch-target.js";
import { storeFromUrl } from "../adapters/store-url.js";
import { loadConfig } from "../config/load-config.js";
import type { Config } from "../config/config-schema.js";
import { EXIT, type Output } from "../output.js";
import { TOOL } from "../version.js";
import { dumpProgress, runCommand } from "./common.js";

/** Exit codes of `run`: scripts and cron wrappers tell the outcomes apart. */
export const RUN_EXIT = { ok: 0, backupFailed: 1, config: 2, verifyFailed: 3, cleanupFailed: 4 } as const;

export function exitCodeOf(r: RunReport): number {
  if (r.ok) return RUN_EXIT.ok;
  if (r.failedStage === "verify" || r.failedStage === "hook") return RUN_EXIT.verifyFailed;
  if (r.failedStage === "cleanup") return RUN_EXIT.cleanupFailed;
  return RUN_EXIT.backupFailed;
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("the nightly job: snapshot, temporary instance, dump, off-site upload, verify by restoring, hook, delete, retention, notify")
    .option("--config <path>", "configuration file", "cobalt-backup.config.json")
    .option("--heartbeat-url <url>", "ping this URL after a successful run only (overrides notify.heartbeatUrl)")
    .option("--json", "print the run report as one JSON object, logs as JSON lines on stderr")
    .action((opts: { config: string; heartbeatUrl?: string; json?: boolean }) =>
      runCommand(opts, async (out) => {
        const loaded = loadConfig(opts.config);
        const config = opts.heartbeatUrl ? { ...loaded, notify: { onSuccess: true, ...loaded.notify, heartbeatUrl: opts.heartbeatUrl } } : loaded;
        const report = await runWithConfig(out, config);
        const deliveries = await notify(config.notify, report);
        for (const d of deliveries.filter((x) => !x.ok)) out.event("notify.failed", { channel: d.channel, detail: d.detail });
        const human = [
          `${report.ok ? "OK" : `FAILED at ${report.failedStage}`}: ${report.source} -> ${report.location}${report.id ? ` (${report.id})` : ""}`,
          ...report.stages.map((s) => `  ${s.stage.padEnd(10)} ${s.status.padEnd(8)} ${(s.durationMs / 1000).toFixed(1).padStart(7)} s  ${s.detail ?? ""}`),
        ].join("\n");
        if (report.ok) out.result({ report, notifications: deliveries }, human);
        else {
          process.stdout.write(`${human}\n`);
          out.fail(report.error ?? "run failed", exitCodeOf(report), { tag: "RunFailed", stage: report.failedStage, report, notifications: deliveries });
        }
      }),
    );
}

/** Builds the ports from the configuration and runs the pipeline; the RDS code loads only when used. */
export async function runWithConfig(out: Output, config: Config): Promise<RunReport> {
  const store = await storeFromUrl(config.store.url, "store.url", {
    ...(config.store.endpoint ? { endpoint: config.store.endpoint } : {}),
    ...(config.store.region ? { region: config.store.region } : {}),
    ...(config.store.profile ? { profile: config.store.profile } : {}),
    ...(config.store.pathStyle !== undefined ? { pathStyle: config.store.pathStyle } : {}),
    ...(config.store.lockDays ? { lockUntil: new Date(Date.now() + config.store.lockDays * 86_400_000) } : {}),
  });
  const enc = config.encryption;
  const encryption = enc ? encryptionKeys({ recipient: enc.recipients, ...(enc.recipientsFile ? { recipientsFile: enc.recipientsFile } : {}), ...(enc.passphraseEnv ? { passphraseEnv: enc.passphraseEnv } : {}) }) : undefined;
  const decryption = enc ? decryptionKeys({ identity: enc.identityFile ? [enc.identityFile] : [], ...(enc.passphraseEnv ? { passphraseEnv: enc.passphraseEnv } : {}) }) : undefined;
  const src = config.source;
  const openSource = async (): Promise<OpenedSource> => {
    if (src.url) {
      const t = postgresTarget(src.url, "source.url");
      return { connect: t.connect, describe: { kind: "postgres-url", host: t.host, port: t.port, database: t.database, user: t.user }, close: async () => {} };
    }
    return (await import("./run-rds-source.js")).openRdsSource(out, src);
  };
  return runNightly(
    {
      store,
      tool: TOOL,
      openSource,
      sourceIsSnapshot: Boolean(src.rdsInstance),
      openScratch: async (major) => {
        const s = await openScratch(config.verify.target, major);
        return { connect: s.target.connect, name: `scratch ${s.target.database}`, url: s.url, dispose: s.dispose };
      },
      ...(hookRunner(config.verify.hook) ? { runHook: hookRunner(config.verify.hook)! } : {}),
      onProgress: dumpProgress(out, `backup ${src.rdsInstance ?? "source"}`),
      onStage: (s) => out.event(`stage.${s.stage}`, { status: s.status, durationMs: s.durationMs, ...(s.detail ? { detail: s.detail } : {}) }),
    },
    {
      jobs: config.backup.jobs,
      compression: config.backup.compression,
      verify: config.verify.enabled,
      ...(encryption ? { encryption } : {}),
      ...(decryption ? { decryption } : {}),
      ...(config.retention ? { retention: config.retention } : {}),
      ...(config.store.lockDays ? { lockUntil: new Date(Date.now() + config.store.lockDays * 86_400_000) } : {}),
    },
  ).then((r) => r._unsafeUnwrap());
}

export { EXIT };
