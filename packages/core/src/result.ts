/** The one place neverthrow is imported: every stage returns these types. */
import { ResultAsync } from "neverthrow";
import { causeMessage } from "./util/errors.js";

export { ok, err, okAsync, errAsync, Result, ResultAsync, Ok, Err } from "neverthrow";

/** What every member of a stage's error union has: a tag to branch on and a message for people. */
export interface TaggedError {
  readonly _tag: string;
  readonly message: string;
}

/** Anything thrown that is not one of ours: a bug, a library's surprise. Every stage's union has it. */
export interface Unexpected {
  _tag: "Unexpected";
  message: string;
}

/**
 * A tagged error carried as an exception through code that can only throw (stream pipelines,
 * callbacks, helpers deep inside a stage) until the stage turns it back into a Result with
 * `settle`. Ports that reject (the pipeline's `openSource`, say) reject with one to say what kind
 * of failure it was; `tagOf` reads it.
 */
export class Failure<E extends TaggedError = TaggedError> extends Error {
  constructor(readonly error: E) {
    super(error.message);
    this.name = error._tag;
  }
}

/** Throws one of a stage's errors as a Failure. Declared with this type, a call narrows like `throw`. */
export type Fail<E extends TaggedError> = (error: E) => never;

/** A stage's own `fail`, typed by its union: `const fail: Fail<DumpError> = failWith();`. */
export const failWith =
  <E extends TaggedError>(): Fail<E> =>
  (error: E): never => {
    throw new Failure(error);
  };

/** `Unexpected`, for an exception that is not one of ours; `doing` says what was under way ("backup failed"). */
export const unexpected = (cause: unknown, doing?: string): Unexpected => ({
  _tag: "Unexpected",
  message: doing ? `${doing}: ${causeMessage(cause)}` : causeMessage(cause),
});

/**
 * A stage's work as its Result: the value, or the error a `Failure` carried (only the stage's
 * own, or those of helpers its union includes, are thrown inside it), or `other(e)` for anything
 * else thrown: `Unexpected`, or what the stage knows a bare exception means at that moment (an
 * abort signal that fired). Once `signal` has fired, `other` decides whatever was thrown: the
 * signal's reason (a Failure of the caller's, say) is not the stage's error, the interruption is.
 */
export function settle<T, E extends TaggedError>(work: Promise<T>, other: (cause: unknown) => E, signal?: AbortSignal): ResultAsync<T, E> {
  return ResultAsync.fromPromise(work, (e) => (e instanceof Failure && !signal?.aborted ? (e.error as E) : other(e)));
}
