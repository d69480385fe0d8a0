#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  UsageError,
  esm_default
} from "./chunk-5SOUXTRF.js";

// src/adapters/aws-clients.ts
import { readFileSync } from "fs";
import { EC2Client } from "@aws-sdk/client-ec2";
import { RDSClient } from "@aws-sdk/client-rds";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
function awsClients(f) {
  const endpoint = f.rdsEndpoint ?? process.env.AWS_ENDPOINT_URL_RDS;
  const common = {
    region: f.rdsRegion ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    credentials: f.rdsProfile ? fromIni({ profile: f.rdsProfile }) : fromNodeProviderChain(),
    maxAttempts: 6,
    ...endpoint ? { endpoint } : {}
  };
  return { rds: new RDSClient(common), ec2: new EC2Client(common) };
}
function temporaryInstanceConnect(instance, database, f) {
  const mode = f.rdsCaBundle ? "verify" : f.tls ?? "require";
  if (!["verify", "require", "disable"].includes(mode)) throw new UsageError(`--tls ${mode}: expected verify, require or disable`);
  let ssl = false;
  if (mode === "verify") {
    if (!f.rdsCaBundle) throw new UsageError("--tls verify needs --rds-ca-bundle <global-bundle.pem>");
    ssl = { ca: readFileSync(f.rdsCaBundle, "utf8"), rejectUnauthorized: true };
  } else if (mode === "require") {
    ssl = { rejectUnauthorized: false };
  }
  return async () => {
    const client = new esm_default.Client({ host: instance.host, port: instance.port, user: instance.masterUsername, password: instance.password, database, ssl, application_name: "cobalt-backup", connectionTimeoutMillis: 3e4 });
    client.on("error", () => {
    });
    await client.connect();
    return client;
  };
}

export {
  awsClients,
  temporaryInstanceConnect
};
//# sourceMappingURL=chunk-LAEXPQBW.js.map