/** The one place neverthrow is imported: every stage returns these types. */
export { ok, err, okAsync, errAsync, Result, ResultAsync, Ok, Err } from "neverthrow";
