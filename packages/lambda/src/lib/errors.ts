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

/** `await result.match(value, stepError)`: a core Result's value, or its error thrown as a StepError named after its tag. */
export const value = <T>(v: T): T => v;
export const stepError = (e: { _tag: string; message: string }): never => {
  throw new StepError(e._tag, e.message);
};
