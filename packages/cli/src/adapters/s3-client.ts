import { S3Client } from "@aws-sdk/client-s3";
import { fromIni, fromNodeProviderChain } from "@aws-sdk/credential-providers";

export interface S3ClientOptions {
  /** Custom endpoint (Backblaze B2: https://s3.<region>.backblazeb2.com; MinIO, s3rver). */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (http://host/bucket/key), which most non-AWS endpoints need. */
  pathStyle?: boolean;
  /** A named profile from ~/.aws/credentials and ~/.aws/config (`--profile backblaze`). */
  profile?: string;
  /** Explicit credentials (tests); otherwise the profile or the AWS default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  maxAttempts?: number;
}

/**
 * The one place an S3Client is built. Checksums are calculated and validated only when an
 * operation requires them: Backblaze B2 rejects the SDK's default CRC32 headers, and s3rver
 * would store the aws-chunked framing as data.
 */
export function buildS3Client(o: S3ClientOptions): S3Client {
  return new S3Client({
    ...(o.endpoint ? { endpoint: o.endpoint } : {}),
    region: o.region ?? "us-east-1",
    forcePathStyle: o.pathStyle ?? Boolean(o.endpoint),
    credentials: o.credentials ?? (o.profile ? fromIni({ profile: o.profile }) : fromNodeProviderChain()),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Transient failures (5xx, throttling, resets) are retried with exponential backoff and jitter.
    maxAttempts: o.maxAttempts ?? 6,
    retryMode: "standard",
  });
}
