/**
 * What the Lambda tests run the handlers against: the RDS emulator, Secrets Manager, s3rver, a
 * webhook and an SES endpoint (recorders), with the webhook's URL stored as the secret the
 * functions read, and the functions' environment as the CDK construct sets it.
 */
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { startRdsEmulator, type RdsEmulator } from "./rds-emulator/index.ts";
import { startRecorder, type Recorder } from "./recorder.ts";
import { startS3, type S3Server } from "./s3-server.ts";
import { startSecretsEmulator, type SecretsEmulator } from "./secrets-emulator.ts";

export interface LambdaWorld {
  emu: RdsEmulator;
  sm: SecretsEmulator;
  s3: S3Server;
  webhook: Recorder;
  ses: Recorder;
  secrets: SecretsManagerClient;
  /** The texts the webhook received, in order. */
  webhookTexts(): string[];
  /** Temporary instances this tool tagged that still exist. */
  temporaries(): ReturnType<RdsEmulator["instances"]>;
  /** Waits (up to 10 s) for an instance to be deleted; whether it was. */
  gone(id: string): Promise<boolean>;
  stop(): Promise<void>;
}

export const WEBHOOK_SECRET = "cobalt-backup/webhook";

export async function startLambdaWorld(): Promise<LambdaWorld> {
  const [emu, sm, s3, webhook, ses] = await Promise.all([startRdsEmulator(), startSecretsEmulator(), startS3(), startRecorder(), startRecorder({ MessageId: "test-message" })]);
  const secrets = new SecretsManagerClient(sm.clientConfig);
  await secrets.send(new CreateSecretCommand({ Name: WEBHOOK_SECRET, SecretString: `${webhook.url}/hooks/T000/SECRET-TOKEN` }));
  return {
    emu,
    sm,
    s3,
    webhook,
    ses,
    secrets,
    webhookTexts: () => webhook.received.map((r) => (JSON.parse(r.body) as { text: string }).text),
    temporaries: () => emu.instances().filter((i) => i.tags["cobalt-backup:temporary"] === "true"),
    async gone(id) {
      for (let i = 0; i < 200 && emu.instance(id); i++) await new Promise((r) => setTimeout(r, 50));
      return emu.instance(id) === undefined;
    },
    async stop() {
      await Promise.all([emu.stop(), sm.stop(), webhook.stop(), ses.stop()]);
      await s3.stop();
    },
  };
}

/**
 * Sets the functions' environment, as the CDK construct does (the SDK reads the endpoints from
 * it), with `extra` for what a test decides (the source instance, the staging bucket, ...).
 */
export function useFunctionEnvironment(w: LambdaWorld, extra: Record<string, string>): void {
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_ENDPOINT_URL_RDS: w.emu.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: w.sm.endpoint,
    AWS_ENDPOINT_URL_SESV2: w.ses.url,
    AWS_ENDPOINT_URL_S3: w.s3.endpoint,
    // Two attempts per call (as a deployment would have more): the tests throttle past them, so that the definition's Retry is what retries.
    AWS_MAX_ATTEMPTS: "2",
    STORE_URL: `s3://${w.s3.bucket}/lambda`,
    STORE_ENDPOINT: w.s3.endpoint,
    STORE_REGION: "us-east-1",
    NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET,
    NOTIFY_EMAIL_FROM: "backup@cobalt.test",
    NOTIFY_EMAIL_TO: "ops@cobalt.test",
    RETENTION: JSON.stringify({ keepLast: 3 }),
    ...extra,
  });
}
