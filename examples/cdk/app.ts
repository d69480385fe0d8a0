/**
 * cobalt-backup's nightly backup in an existing VPC, off-site to Backblaze B2. Every id is a
 * prop (cdk.json's context), never a lookup, so `cdk synth` runs without an AWS account.
 *
 *   pnpm --filter @cobalt-backup/example-cdk exec cdk deploy -c vpcId=vpc-... -c privateSubnetIds=subnet-a,subnet-b ...
 */
import { App, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { CobaltBackup } from "@cobalt-backup/lambda";

const app = new App();
const ctx = (key: string): string => {
  const v = app.node.tryGetContext(key) as unknown;
  if (v === undefined || v === "") throw new Error(`context ${key} is missing: set it in cdk.json or with -c ${key}=...`);
  return Array.isArray(v) ? v.join(",") : String(v);
};
const list = (key: string) => ctx(key).split(",");

const stack = new Stack(app, "CobaltBackup", { description: "cobalt-backup: nightly verified off-site backup of an RDS PostgreSQL database" });
const vpc = ec2.Vpc.fromVpcAttributes(stack, "Vpc", {
  vpcId: ctx("vpcId"),
  availabilityZones: list("availabilityZones"),
  privateSubnetIds: list("privateSubnetIds"),
  privateSubnetRouteTableIds: list("privateRouteTableIds"),
});
// The B2 application key, created once by hand: {"accessKeyId": "...", "secretAccessKey": "..."}.
const b2Key = secretsmanager.Secret.fromSecretNameV2(stack, "B2Key", "cobalt-backup/b2-key");

new CobaltBackup(stack, "Nightly", {
  vpc,
  subnets: { subnets: vpc.privateSubnets },
  sourceInstance: ctx("sourceInstance"),
  store: { url: ctx("storeUrl"), endpoint: ctx("storeEndpoint"), region: ctx("storeRegion"), credentials: b2Key },
  retention: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 },
  notify: { email: { from: ctx("notifyFrom"), to: list("notifyTo") } },
});
