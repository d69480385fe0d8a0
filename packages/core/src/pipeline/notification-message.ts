import type { RunReport } from "./nightly-run.js";

export interface NotificationMessage {
  subject: string;
  /** Plain text for email bodies and Slack's `text`. */
  text: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The message a run's notification carries: on failure it names the stage that failed and why. */
export function notificationMessage(r: RunReport): NotificationMessage {
  const subject = r.ok
    ? `cobalt-backup: ${r.source} backed up and verified (${r.id})`
    : `cobalt-backup FAILED at ${r.failedStage}: ${r.source || "backup"}`;
  const lines = [
    r.ok ? `Backup ${r.id} of ${r.source} is complete and verified.` : `The nightly backup of ${r.source || "the database"} failed at stage "${r.failedStage}": ${r.error}`,
    "",
    ...r.stages.map((s) => `- ${s.stage}: ${s.status}${s.durationMs ? ` (${seconds(s.durationMs)})` : ""}${s.detail ? ` — ${s.detail}` : ""}`),
  ];
  if (r.totals) lines.push("", `${r.totals.tables} tables, ${r.totals.rows} rows, ${r.totals.storedBytes} bytes stored in ${r.location}`);
  if (r.retention) lines.push(`retention: ${r.retention.removed.length} old backup(s) removed, ${r.retention.kept} kept`);
  if (r.check) {
    lines.push(`check (${r.check.depth}): ${r.check.checked.length} older backup(s), ${r.check.damaged.length} damaged`);
    for (const d of r.check.damaged) for (const o of d.damage) lines.push(`- ${o.message}`);
  }
  return { subject, text: lines.join("\n") };
}
