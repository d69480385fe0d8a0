/** A real S3 HTTP server (s3rver) on 127.0.0.1 for tests, with the client the CLI would build. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { buildS3Client } from "../../packages/cli/src/adapters/s3-client.ts";
import { freePort } from "../../packages/cli/src/adapters/embedded-postgres.ts";

export interface S3Server {
  endpoint: string;
  bucket: string;
  client: S3Client;
  /** Environment for the CLI: s3rver's fixed credentials and region. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3(bucket = "cobalt-test"): Promise<S3Server> {
  const directory = mkdtempSync(join(tmpdir(), "cobalt-s3rver-"));
  const port = await freePort();
  const server = new S3rver({ address: "127.0.0.1", port, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
  return {
    endpoint,
    bucket,
    client: buildS3Client({ endpoint, region: "us-east-1", credentials }),
    env: { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_REGION: "us-east-1" },
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
