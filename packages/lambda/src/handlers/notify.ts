/**
 * States NotifySuccess and NotifyFailure: the run report (stored next to the backup once it has
 * data) and the notifications the CLI's `run` sends: webhook, SES email, heartbeat on success.
 */
import { SecretsManagerClient, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SESv2Client, SendEmailCommand } from "@aws-sdk/client-sesv2";
import { Readable } from "node:stream";
import { backupPrefix, deliverNotifications, type Delivery } from "@cobalt-backup/core";
import { z } from "zod";
import { StepError } from "../lib/errors.js";
import { parseEnv, parseInput } from "../lib/input.js";
import { finalState, runReport } from "../lib/run-report.js";
import { storeFromEnv } from "../lib/store.js";

const env = parseEnv(
  z.object({
    SOURCE_INSTANCE: z.string().min(1),
    /** A Secrets Manager secret whose value is the webhook URL (a Slack URL is a credential). */
    NOTIFY_WEBHOOK_SECRET: z.string().min(1).optional(),
    NOTIFY_HEARTBEAT_URL: z.url().optional(),
    NOTIFY_EMAIL_FROM: z.string().min(1).optional(),
    NOTIFY_EMAIL_TO: z.string().min(1).optional(),
    NOTIFY_ON_SUCCESS: z.enum(["true", "false"]).default("true"),
  }),
);
const secrets = new SecretsManagerClient({});
const ses = new SESv2Client({});
const store = await storeFromEnv(secrets);
const webhook = env.NOTIFY_WEBHOOK_SECRET ? (await secrets.send(new GetSecretValueCommand({ SecretId: env.NOTIFY_WEBHOOK_SECRET }))).SecretString : undefined;

const input = z.object({ outcome: z.enum(["succeeded", "failed"]), state: finalState, startTime: z.string() });

export async function handler(event: unknown): Promise<{ deliveries: Delivery[]; reportKey?: string }> {
  const { outcome, state, startTime } = parseInput(input, event);
  const report = runReport({ ok: outcome === "succeeded", state, location: store.location, source: env.SOURCE_INSTANCE, startedAt: startTime, now: new Date() });
  let reportKey: string | undefined;
  // A run that failed before any data leaves no prefix behind; one that has a plan gets its report next to it.
  if (report.id && (report.ok || state.plan)) {
    const key = `${backupPrefix(report.id)}report.json`;
    const put = await store.put(key, Readable.from([Buffer.from(JSON.stringify(report, null, 2))]));
    if (put.isOk()) reportKey = key;
  }
  const delivered = await deliverNotifications(
    {
      fetch,
      sendEmail: async (m) => {
        await ses.send(new SendEmailCommand({ FromEmailAddress: m.from, Destination: { ToAddresses: m.to }, Content: { Simple: { Subject: { Data: m.subject }, Body: { Text: { Data: m.text } } } } }));
      },
    },
    {
      report,
      targets: {
        onSuccess: env.NOTIFY_ON_SUCCESS === "true",
        ...(webhook ? { webhook } : {}),
        ...(env.NOTIFY_HEARTBEAT_URL ? { heartbeatUrl: env.NOTIFY_HEARTBEAT_URL } : {}),
        ...(env.NOTIFY_EMAIL_FROM && env.NOTIFY_EMAIL_TO ? { email: { from: env.NOTIFY_EMAIL_FROM, to: env.NOTIFY_EMAIL_TO.split(",") } } : {}),
      },
    },
  );
  const deliveries = delivered.isOk() ? delivered.value : [];
  const failed = deliveries.filter((d) => !d.ok);
  // An operator who was not told must still find out: the execution fails and its alarm fires.
  if (failed.length > 0) throw new StepError("NotifyFailed", failed.map((d) => `${d.channel}: ${d.detail}`).join("; "));
  return { deliveries, ...(reportKey ? { reportKey } : {}) };
}
