import type { Command } from "commander";
import { parseReadData, parseSize, reportSetupFailure, runNightly, type NightlyDeps, type NightlyInput, type RunOutcome } from "@cobalt-backup/core";
import { keysFromConfig, lockUntilFor, storeFromConfig } from "../adapters/from-config.js";
import { hookRunner } from "../adapters/hook.js";
import { notify } from "../adapters/notify.js";
import { openScratch } from "../adapters/scratch-target.js";
import { openSource } from "../sources/open-source.js";
import { loadConfig } from "../config/load-config.js";
import type { Config } from "../config/config-schema.js";
import { EXIT, exitCodeFor } from "../exit-codes.js";
import type { Output } from "../output.js";
import { TOOL } from "../version.js";
import { dumpProgress, restoreProgress, runCommand } from "./common.js";

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("the nightly job: snapshot, temporary instance, dump, off-site upload, verify by restoring, hook, delete, retention, check of older backups, notify")
    .option("--config <path>", "configuration file", "cobalt-backup.config.json")
    .option("--heartbeat-url <url>", "ping this URL after a successful run only (overrides notify.heartbeatUrl)")
    .option("--json", "print the run report as one JSON object, logs as JSON lines on stderr")
    .action((opts: { config: string; heartbeatUrl?: string; json?: boolean }) =>
      runCommand(
        opts,
        async (out, signal) => {
          const loaded = loadConfig(opts.config);
          const config = opts.heartbeatUrl ? { ...loaded, notify: { onSuccess: true, ...loaded.notify, heartbeatUrl: opts.heartbeatUrl } } : loaded;
          reportRun(out, await runWithConfig(out, config, signal), "run");
        },
        { interruptible: true },
      ),
    );
}

/**
 * Prints a run's outcome and sets its exit code: the failed stage's (by its error's tag), or 5
 * when everything succeeded but a notification could not be delivered. Every channel that failed
 * is logged as an error naming the channel, never its URL.
 */
export function reportRun(out: Output, outcome: RunOutcome, label: string): void {
  const { report, notifications } = outcome;
  const undelivered = notifications.filter((d) => !d.ok);
  for (const d of undelivered) out.event("notify.failed", { channel: d.channel, reason: d.detail }, "error");
  if (outcome.reportError) out.event("report.not-stored", { reason: outcome.reportError }, "warn");
  const human = [
    `${report.ok ? `${label} OK` : `${label} FAILED at ${report.failedStage}`}: ${report.source || "the source"} -> ${report.location}${report.id ? ` (${report.id})` : ""}`,
    ...report.stages.map((s) => `  ${s.stage.padEnd(10)} ${s.status.padEnd(8)} ${(s.durationMs / 1000).toFixed(1).padStart(7)} s  ${s.detail ?? ""}`),
    ...(report.ok && report.verification ? [`verified: restored into a scratch database and compared, ${report.verification.tables} tables identical`] : []),
  ].join("\n");
  const details = { report, notifications, ...(outcome.reportKey ? { reportKey: outcome.reportKey } : {}) };
  if (report.ok && undelivered.length === 0) return out.result(details, human);
  out.text(human);
  if (report.ok) {
    const which = undelivered.map((d) => `${d.channel} (${d.detail ?? "failed"})`).join(", ");
    return out.fail(`${label} succeeded, but its notification could not be delivered: ${which}`, EXIT.notifyFailed, { tag: "NotifyFailed", ...details });
  }
  // An instance left running outranks the failure before it: it is billed until someone acts.
  const instanceLeft = report.stages.some((s) => s.stage === "cleanup" && s.status === "failed");
  out.fail(report.error ?? `${label} failed`, instanceLeft ? EXIT.instanceLeft : exitCodeFor(report.errorTag), { tag: report.errorTag, stage: report.failedStage, ...details });
}

/**
 * Builds the ports from the configuration and runs the pipeline, which stores the report and
 * notifies; the RDS code loads only when used. A configuration that cannot be turned into clients
 * (an unreadable key file, an unsupported store) is reported and notified as the `setup` stage.
 */
export async function runWithConfig(out: Output, config: Config, signal: AbortSignal): Promise<RunOutcome> {
  const send = (report: Parameters<typeof notify>[1]) => notify(config.notify, report);
  let built: { deps: NightlyDeps; input: NightlyInput };
  try {
    built = await build(out, config, signal);
  } catch (error) {
    return (await reportSetupFailure({ notify: send }, { error, location: config.store.url }))._unsafeUnwrap();
  }
  return (await runNightly({ ...built.deps, notify: send }, built.input))._unsafeUnwrap();
}

/** The run's ports and input from the configuration; throws what the configuration gets wrong (a key file that cannot be read). */
async function build(out: Output, config: Config, signal: AbortSignal): Promise<{ deps: NightlyDeps; input: NightlyInput }> {
  const lockUntil = lockUntilFor(config.store.lockDays);
  const store = await storeFromConfig(config.store, lockUntil);
  const { encryption, decryption } = keysFromConfig(config.encryption);
  const runHook = hookRunner(config.verify.hook);
  const src = config.source;
  const input: NightlyInput = {
    jobs: config.backup.jobs,
    compression: config.backup.compression,
    ...(config.backup.splitLargerThan !== undefined ? { splitLargerThan: typeof config.backup.splitLargerThan === "number" ? config.backup.splitLargerThan : parseSize(config.backup.splitLargerThan)! } : {}),
    verify: config.verify.enabled,
    ...(encryption ? { encryption } : {}),
    ...(decryption ? { decryption } : {}),
    ...(config.retention ? { retention: config.retention } : {}),
    ...(config.check ? { check: { backups: config.check.backups, everyDays: config.check.everyDays, readData: parseReadData(config.check.readData)! } } : {}),
    ...(lockUntil ? { lockUntil } : {}),
  };
  const deps: NightlyDeps = {
    store,
    tool: TOOL,
    openSource: () => openSource(out, src, signal, store),
    sourceIsSnapshot: Boolean(src.rdsInstance),
    openScratch: async (needs) => {
      const s = await openScratch(config.verify.target, needs, config.verify.scratchDir);
      return { connect: s.target.connect, name: `scratch ${s.target.database}`, url: s.url, dispose: s.dispose };
    },
    ...(runHook ? { runHook } : {}),
    signal,
    onProgress: dumpProgress(out, `backup ${src.rdsInstance ?? "source"}`),
    onVerifyProgress: restoreProgress(out, "verify"),
    onStage: (s) => out.event(`stage.${s.stage}`, { status: s.status, durationMs: s.durationMs, ...(s.detail ? { detail: s.detail } : {}) }),
  };
  return { deps, input };
}
