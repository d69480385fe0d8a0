import { ResultAsync } from "../result.js";
import { redactSecrets } from "../util/errors.js";
import type { RunReport } from "./nightly-run.js";
import { notificationMessage } from "./notification-message.js";

/** Where a run's outcome goes. */
export interface NotifyTargets {
  /** POST a JSON report (with a Slack-compatible `text`) here. */
  webhook?: string;
  /** GET this URL after a successful run only (dead man's switch). */
  heartbeatUrl?: string;
  email?: { from: string; to: string[] };
  /** Also notify on success (failures always notify). */
  onSuccess: boolean;
}

export interface NotifyDeps {
  fetch: typeof fetch;
  /** Sends one plain-text email (SES in the adapters). */
  sendEmail?: (mail: { from: string; to: string[]; subject: string; text: string }) => Promise<void>;
}

/** What each channel did; a channel failing never hides the report or stops the others. Never holds a URL. */
export interface Delivery {
  /** `webhook`, `email`, `heartbeat`, or `notify` when sending itself failed. */
  channel: string;
  ok: boolean;
  detail?: string;
}

/**
 * Why a delivery failed, in words that never hold the channel's URL: a webhook's or heartbeat's
 * path is often its secret (Slack, healthchecks.io), so any URL in a message is left out.
 */
function reason(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const text = `${err?.message ?? String(e)}${err?.cause ? `: ${err.cause.message ?? err.cause.code}` : ""}`;
  return redactSecrets(text).replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>");
}

/**
 * Sends a run's notifications: the webhook and the email on failure, and on success unless
 * `onSuccess` is false; the heartbeat on success only. Never fails: each channel's outcome is
 * in the result, its error message without credentials.
 */
export function deliverNotifications(deps: NotifyDeps, input: { targets: NotifyTargets; report: RunReport }): ResultAsync<Delivery[], never> {
  const { targets, report } = input;
  return ResultAsync.fromSafePromise(
    (async () => {
      const out: Delivery[] = [];
      const message = notificationMessage(report);
      const wanted = !report.ok || targets.onSuccess;
      const attempt = async (channel: "webhook" | "email" | "heartbeat", send: () => Promise<void>) => {
        try {
          await send();
          out.push({ channel, ok: true });
        } catch (e) {
          out.push({ channel, ok: false, detail: reason(e) });
        }
      };
      if (wanted && targets.webhook) {
        await attempt("webhook", async () => {
          const r = await deps.fetch(targets.webhook!, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ text: `${message.subject}\n${message.text}`, subject: message.subject, report }),
            signal: AbortSignal.timeout(15_000),
          });
          if (!r.ok) throw new Error(`the webhook answered HTTP ${r.status}`);
        });
      }
      if (wanted && targets.email) {
        const email = targets.email;
        await attempt("email", async () => {
          if (!deps.sendEmail) throw new Error("no email sender configured");
          await deps.sendEmail({ from: email.from, to: email.to, subject: message.subject, text: message.text });
        });
      }
      if (report.ok && targets.heartbeatUrl) {
        await attempt("heartbeat", async () => {
          const r = await deps.fetch(targets.heartbeatUrl!, { signal: AbortSignal.timeout(15_000) });
          if (!r.ok) throw new Error(`the heartbeat answered HTTP ${r.status}`);
        });
      }
      return out;
    })(),
  );
}
