import { Failure, failWith, unexpected, type Fail, type Unexpected } from "../result.js";

/**
 * Why a snapshot step stopped. The tag alone tells a scheduler (Step Functions `Retry` matches on
 * it) whether the same call later may succeed: `AwsUnavailable` (throttling, 5xx),
 * `InsufficientCapacity` and `InstanceBusy` are worth retrying; every other tag needs a person.
 * `retryable` says the same for callers that read fields.
 */
export type SnapshotError =
  | { _tag: "SourceInstanceNotFound"; instance: string; message: string }
  | { _tag: "NoSnapshot"; instance: string; message: string }
  | { _tag: "SnapshotNotFound"; snapshot: string; message: string }
  | { _tag: "RestoreFailed"; instance: string; code: string; message: string; retryable: boolean }
  | { _tag: "InsufficientCapacity"; instance: string; code: string; message: string; retryable: true }
  /** The instance is in a state the call cannot act on yet (still being deleted, say). */
  | { _tag: "InstanceBusy"; instance: string; status: string; message: string; retryable: true }
  /** Refused: the instance is not tagged as this tool's temporary instance. */
  | { _tag: "NotTemporary"; instance: string; message: string }
  | { _tag: "WaitTimedOut"; instance: string; status: string; message: string }
  | { _tag: "CleanupFailed"; instance: string; message: string }
  | { _tag: "Interrupted"; instance: string; message: string }
  | { _tag: "AwsUnavailable"; action: string; code: string; message: string; retryable: true; reason?: AwsProblem }
  | { _tag: "AwsCallFailed"; action: string; code: string; message: string; retryable: boolean; reason?: AwsProblem }
  | Unexpected;

/** The AWS SDK's error as the fields we use. */
export function awsError(e: unknown): { code: string; message: string; retryable: boolean } {
  const err = e as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  const code = err.Code ?? err.name ?? "Error";
  const status = err.$metadata?.httpStatusCode ?? 0;
  // Network faults (a reset keep-alive socket, a timeout) that outlasted the SDK's own retries are transient too.
  const network = /TimeoutError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|socket hang up/i.test(`${code} ${err.message ?? ""}`);
  const retryable = Boolean(err.$retryable) || status >= 500 || network || /Throttl|RequestLimitExceeded|InsufficientDBInstanceCapacity/i.test(code);
  return { code, message: err.message ?? String(e), retryable };
}

/** Whether an exception came from an AWS call: a service's answer, or the network under it. */
export function isAwsError(e: unknown): boolean {
  if (typeof e !== "object" || e === null) return false;
  if ("$metadata" in e || "$fault" in e) return true;
  const { name, code, message } = e as { name?: unknown; code?: unknown; message?: unknown };
  return /TimeoutError|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|CredentialsProviderError/i.test(`${String(name)} ${String(code)} ${String(message)}`);
}

/** What an AWS failure says about the setup, where it says something: no credentials, refused ones, no network. */
export type AwsProblem = "credentials" | "denied" | "unreachable";

export function awsProblem(e: unknown): AwsProblem | undefined {
  const { code, message } = awsError(e);
  const text = `${code} ${message}`;
  if (/Could not load credentials|CredentialsProviderError/i.test(text)) return "credentials";
  if (/AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|Forbidden|UnrecognizedClient|InvalidClientTokenId|ExpiredToken/i.test(text)) return "denied";
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|getaddrinfo|fetch failed|TimeoutError|timed? ?out/i.test(text)) return "unreachable";
  return undefined;
}

/** A failed AWS call as a SnapshotError: `AwsUnavailable` when trying again may help, else `AwsCallFailed`. */
export function awsFailure(action: string, e: unknown): SnapshotError {
  const { code, message, retryable } = awsError(e);
  const text = `${action} failed: ${code}: ${message}`;
  const problem = awsProblem(e);
  const reason = problem ? { reason: problem } : {};
  return retryable ? { _tag: "AwsUnavailable", action, code, message: text, retryable: true, ...reason } : { _tag: "AwsCallFailed", action, code, message: text, retryable: false, ...reason };
}

export const fail: Fail<SnapshotError> = failWith();

/** Runs an AWS call; what it throws becomes the SnapshotError of `action`. */
export async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    return fail(asSnapshotError(action)(e));
  }
}

/**
 * The error of anything a step threw: its own SnapshotError, an AWS failure of `action` for what
 * an AWS call threw, else `Unexpected`.
 */
export const asSnapshotError =
  (action: string) =>
  (e: unknown): SnapshotError =>
    e instanceof Failure ? (e.error as SnapshotError) : isAwsError(e) ? awsFailure(action, e) : unexpected(e, `${action} failed`);
