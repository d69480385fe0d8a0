/**
 * Why the snapshot stage stopped. `retryable` tells a scheduler (Step Functions `Retry`) whether
 * the same call later may succeed (capacity, throttling) or a person must act (a missing instance).
 */
export type SnapshotError =
  | { _tag: "SourceInstanceNotFound"; instance: string; message: string }
  | { _tag: "NoSnapshot"; instance: string; message: string }
  | { _tag: "SnapshotNotFound"; snapshot: string; message: string }
  | { _tag: "RestoreFailed"; instance: string; code: string; message: string; retryable: boolean }
  | { _tag: "WaitTimedOut"; instance: string; status: string; message: string }
  | { _tag: "CleanupFailed"; instance: string; message: string }
  | { _tag: "Interrupted"; instance: string; message: string }
  | { _tag: "AwsCallFailed"; action: string; code: string; message: string; retryable: boolean };

/** The AWS SDK's error as the fields we use. */
export function awsError(e: unknown): { code: string; message: string; retryable: boolean } {
  const err = e as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const code = err.Code ?? err.name ?? "Error";
  const status = err.$metadata?.httpStatusCode ?? 0;
  const retryable = Boolean(err.$retryable) || status >= 500 || /Throttl|RequestLimitExceeded|InsufficientDBInstanceCapacity/i.test(code);
  return { code, message: err.message ?? String(e), retryable };
}
