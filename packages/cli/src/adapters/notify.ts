import { deliverNotifications, type Delivery, type RunReport } from "@cobalt-backup/core";
import type { Config } from "../config/config-schema.js";

export type { Delivery } from "@cobalt-backup/core";

/**
 * Sends the run's notifications (core's deliverNotifications): the webhook and SES email on
 * failure, and on success unless `onSuccess` is false; the heartbeat URL only on success.
 */
export async function notify(config: Config["notify"], report: RunReport): Promise<Delivery[]> {
  if (!config) return [];
  const email = config.email;
  const sendEmail = async (mail: { from: string; to: string[]; subject: string; text: string }) => {
    const { SESv2Client, SendEmailCommand } = await import("@aws-sdk/client-sesv2");
    const ses = new SESv2Client({ region: email?.region ?? process.env.AWS_REGION ?? "us-east-1", ...(email?.endpoint ? { endpoint: email.endpoint } : {}), maxAttempts: 4 });
    await ses.send(new SendEmailCommand({ FromEmailAddress: mail.from, Destination: { ToAddresses: mail.to }, Content: { Simple: { Subject: { Data: mail.subject }, Body: { Text: { Data: mail.text } } } } }));
  };
  const r = await deliverNotifications(
    { fetch, sendEmail },
    { targets: { onSuccess: config.onSuccess, ...(config.webhook ? { webhook: config.webhook } : {}), ...(config.heartbeatUrl ? { heartbeatUrl: config.heartbeatUrl } : {}), ...(email ? { email: { from: email.from, to: email.to } } : {}) }, report },
  );
  return r.isOk() ? r.value : [];
}
