import type { Command } from "commander";

export interface AwsFlags {
  rdsRegion?: string;
  rdsProfile?: string;
  /** Custom RDS/EC2 endpoint (an emulator, a VPC endpoint); default $AWS_ENDPOINT_URL_RDS. */
  rdsEndpoint?: string;
  tls?: "verify" | "require" | "disable";
  rdsCaBundle?: string;
}

/** The RDS API flags: region, profile, endpoint. */
export const awsFlags = (command: Command): Command =>
  command
    .option("--rds-region <region>", "AWS region of the RDS instance; default $AWS_REGION")
    .option("--rds-profile <name>", "AWS profile for RDS (--profile is the store's); default the AWS default credential chain")
    .option("--rds-endpoint <url>", "RDS and EC2 API endpoint (a VPC endpoint or an emulator); default $AWS_ENDPOINT_URL_RDS");

/** How to connect to the temporary instance: only commands that connect to one take these. */
export const tlsFlags = (command: Command): Command =>
  command
    .option("--tls <mode>", "TLS to the temporary instance: verify (with --rds-ca-bundle), require, or disable", "require")
    .option("--rds-ca-bundle <path>", "RDS CA bundle (global-bundle.pem) to verify the instance's certificate; implies --tls verify");
