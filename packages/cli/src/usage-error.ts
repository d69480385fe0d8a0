/** Thrown for input the user must fix (a flag, a configuration value); the CLI prints it as one line and exits 2. */
export class UsageError extends Error {
  readonly _tag = "UsageError";
}
