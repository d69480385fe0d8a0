#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import "./chunk-IOUMZER7.js";

// src/adapters/s3-client.ts
import { S3Client } from "@aws-sdk/client-s3";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";
function buildS3Client(o) {
  return new S3Client({
    ...o.endpoint ? { endpoint: o.endpoint } : {},
    region: o.region ?? "us-east-1",
    forcePathStyle: o.pathStyle ?? Boolean(o.endpoint),
    credentials: o.credentials ?? (o.profile ? fromIni({ profile: o.profile }) : fromNodeProviderChain()),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Transient failures (5xx, throttling, resets) are retried with exponential backoff and jitter.
    maxAttempts: o.maxAttempts ?? 6,
    retryMode: "standard"
  });
}
export {
  buildS3Client
};
//# sourceMappingURL=s3-client-CF2F76MY.js.map