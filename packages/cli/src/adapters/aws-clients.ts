import { readFileSync } from "node:fs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { RDSClient } from "@aws-sdk/client-rds";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
import type { Command } from "commander";
import pg from "pg";
import type { PgConnect, TemporaryInstance } from "@cobalt-backup/core";
import { UsageError } from "./postgres-url.js";

export interface AwsFlags {
  rdsRegion?: string;
  rdsProfile?: string;
  /** Custom RDS/EC2 endpoint (an emulator, a VPC endpoint); default $AWS_ENDPOINT_URL_RDS. */
  rdsEndpoint?: string;
  tls?: "verify" | "require" | "disable";
  rdsCaBundle?: string;
}

export const awsFlags = (command: Command): Command =>
  command
    .option("--rds-region <region>", "AWS region of the RDS instance; default $AWS_REGION")
    .option("--rds-profile <name>", "AWS profile for RDS (--profile is the store's); default the AWS default credential chain")
    .option("--rds-endpoint <url>", "RDS and EC2 API endpoint (a VPC endpoint or an emulator); default $AWS_ENDPOINT_URL_RDS")
    .option("--tls <mode>", "TLS to the temporary instance: verify (with --rds-ca-bundle), require, or disable", "require")
    .option("--rds-ca-bundle <path>", "RDS CA bundle (global-bundle.pem) to verify the instance's certificate; implies --tls verify");

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
