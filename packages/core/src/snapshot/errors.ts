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
  | { _tag: "AwsUnavailable"; action: string; code: string; message: string; retryable: true }
  | { _tag: "AwsCallFailed"; action: string; code: string; message: string; retryable: boolean };

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

/** A failed AWS call as a SnapshotError: `AwsUnavailable` when trying again may help, else `AwsCallFailed`. */
export function awsFailure(action: string, e: unknown): SnapshotError {
  const { code, message, retryable } = awsError(e);
  const text = `${action} failed: ${code}: ${message}`;
  return retryable ? { _tag: "AwsUnavailable", action, code, message: text, retryable: true } : { _tag: "AwsCallFailed", action, code, message: text, retryable: false };
}

/** Carries a SnapshotError through async code until the step turns it back into a Result. */
export class SnapshotFailure extends Error {
  constructor(readonly error: SnapshotError) {
    super(error.message);
  }
}

export const fail = (e: SnapshotError): never => {
  throw new SnapshotFailure(e);
};

/** Runs an AWS call; anything it throws becomes a SnapshotFailure naming the action. */
export async function call<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof SnapshotFailure) throw e;
    return fail(awsFailure(action, e));
  }
}

/** The error of anything a step threw: its own SnapshotError, or an AWS failure of `action`. */
export const asSnapshotError = (action: string) => (e: unknown): SnapshotError => (e instanceof SnapshotFailure ? e.error : awsFailure(action, e));
