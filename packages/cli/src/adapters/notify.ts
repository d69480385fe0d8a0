import { notificationMessage, type Delivery, type RunReport } from "@cobalt-backup/core";
import type { Config } from "../config/config-schema.js";

/**
 * Why a delivery failed, in words that never hold the channel's URL: a webhook's or heartbeat's
 * path is often its secret (Slack, healthchecks.io), so any URL in a message is left out.
 */
function reason(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  const text = `${err?.message ?? String(e)}${err?.cause ? `: ${err.cause.message ?? err.cause.code}` : ""}`;
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>");
}

/**
 * Sends the run's notifications: the webhook (JSON with a Slack-compatible `text`) and SES email
 * on failure, and on success unless `onSuccess` is false; the heartbeat URL only on success. Each
 * channel's outcome is returned; a channel failing never stops the others.
 */
export async function notify(config: Config["notify"], report: RunReport): Promise<Delivery[]> {
  if (!config) return [];
  const out: Delivery[] = [];
  const message = notificationMessage(report);
  const wanted = !report.ok || config.onSuccess;
  const attempt = async (channel: string, send: () => Promise<void>) => {
    try {
      await send();
      out.push({ channel, ok: true });
    } catch (e) {
      out.push({ channel, ok: false, detail: reason(e) });
    }
  };
  if (wanted && config.webhook) {
    await attempt("webhook", async () => {
      const r = await fetch(config.webhook!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: `${message.subject}\n${message.text}`, subject: message.subject, report }),
        signal: AbortSignal.timeout(15_000),
      });
      if (!r.ok) throw new Error(`the webhook answered HTTP ${r.status}`);
    });
  }
  if (wanted && config.email) {
    const email = config.email;
    await attempt("email", async () => {
      const { SESv2Client, SendEmailCommand } = await import("@aws-sdk/client-sesv2");
      const ses = new SESv2Client({ region: email.region ?? process.env.AWS_REGION ?? "us-east-1", ...(email.endpoint ? { endpoint: email.endpoint } : {}), maxAttempts: 4 });
      await ses.send(
        new SendEmailCommand({
          FromEmailAddress: email.from,
          Destination: { ToAddresses: email.to },
          Content: { Simple: { Subject: { Data: message.subject }, Body: { Text: { Data: message.text } } } },
        }),
      );
    });
  }
  if (report.ok && config.heartbeatUrl) {
    await attempt("heartbeat", async () => {
      const r = await fetch(config.heartbeatUrl!, { signal: AbortSignal.timeout(15_000) });
      if (!r.ok) throw new Error(`the heartbeat answered HTTP ${r.status}`);
    });
  }
  return out;
}
