/**
 * How a handler fails: an `Error` whose `name` is the core error's `_tag`, so the state machine's
 * `Retry` and `Catch` match on it. The name is set explicitly (a minifier renames classes) and the
 * message is cut short and the stack dropped, because Step Functions carries the error into the
 * state's payload (256 KiB at most, an overflow no `Catch` can catch) and its history.
 */
const MAX_MESSAGE = 1_000;

export class StepError extends Error {
  constructor(tag: string, message: string) {
    super(message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}… (${message.length - MAX_MESSAGE} more characters)` : message);
    this.name = tag;
    this.stack = `${tag}: ${this.message}`;
  }
}

/** The value of a core Result, or its error thrown as a StepError named after its tag. */
export function valueOr<T>(r: { isOk(): boolean; value?: T; error?: { _tag: string; message: string } }): T {
  if (r.isOk()) return r.value as T;
  throw new StepError(r.error!._tag, r.error!.message);
}
