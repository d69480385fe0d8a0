import { readFileSync } from "node:fs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { RDSClient } from "@aws-sdk/client-rds";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import pg from "pg";
import type { PgConnect } from "@cobalt-backup/core";
import type { TemporaryInstance } from "@cobalt-backup/core/rds";
import type { AwsFlags } from "./aws-flags.js";
import { UsageError } from "../usage-error.js";

/** The RDS and EC2 clients, built once here: region, credentials, retries with backoff and jitter. */
export function awsClients(f: AwsFlags): { rds: RDSClient; ec2: EC2Client } {
  const endpoint = f.rdsEndpoint ?? process.env.AWS_ENDPOINT_URL_RDS;
  const common = {
    region: f.rdsRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    credentials: f.rdsProfile ? fromIni({ profile: f.rdsProfile }) : fromNodeProviderChain(),
    maxAttempts: 6,
    ...(endpoint ? { endpoint } : {}),
  };
  return { rds: new RDSClient(common), ec2: new EC2Client(common) };
}

/** Connects to the temporary instance with its fresh password, over TLS unless disabled. */
export function temporaryInstanceConnect(instance: TemporaryInstance, database: string, f: AwsFlags): PgConnect {
  const mode = f.rdsCaBundle ? "verify" : (f.tls ?? "require");
  if (!["verify", "require", "disable"].includes(mode)) throw new UsageError(`--tls ${mode}: expected verify, require or disable`);
  let ssl: pg.ClientConfig["ssl"] = false;
  if (mode === "verify") {
    if (!f.rdsCaBundle) throw new UsageError("--tls verify needs --rds-ca-bundle <global-bundle.pem>");
    ssl = { ca: readFileSync(f.rdsCaBundle, "utf8"), rejectUnauthorized: true };
  } else if (mode === "require") {
    ssl = { rejectUnauthorized: false };
  }
  return async () => {
    const client = new pg.Client({ host: instance.host, port: instance.port, user: instance.masterUsername, password: instance.password, database, ssl, application_name: "cobalt-backup", connectionTimeoutMillis: 30_000 });
    client.on("error", () => {});
    await client.connect();
    return client;
  };
}
