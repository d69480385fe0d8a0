import { tagOf } from "@cobalt-backup/core";

/** The fields of core errors the hints read; core's messages carry the data, never a flag. */
interface HintedError {
  _tag: string;
  message: string;
  /** KeysMissing: a passphrase would open it too. */
  passphrase?: boolean;
  /** TargetNotEmpty of a database restore: what the target holds. */
  objects?: string[];
  /** RestoreFailed: the AWS error code. */
  code?: string;
}

const HINTS: Record<string, (e: HintedError) => string | undefined> = {
  KeysMissing: (e) => `: pass --identity with a file holding the matching AGE-SECRET-KEY${e.passphrase ? ", or --passphrase-env" : ""}`,
  TargetNotEmpty: (e) => (e.objects ? (/must not exist yet$/.test(e.message) ? "; pass --clean to drop just those first" : ", or pass --clean to drop its contents first") : undefined),
  EmptyPolicy: () => ": give at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly",
  StoreUnwritable: () => "; choose a --dest directory this user can create and write",
  NameInUse: () => " (--name)",
  SourceInstanceNotFound: () => ": check --rds-instance and the region",
  NoSnapshot: () => ": cobalt-backup snapshot --rds-instance <instance> takes one",
  InsufficientCapacity: () => ": try another --instance-class or later",
  CleanupFailed: () => ": or run 'cobalt-backup cleanup'",
  RestoreFailed: (e) => (e.code?.startsWith("DBInstanceAlreadyExists") ? ": choose another --temp-instance name" : undefined),
};

/** A core error as the CLI says it: core's message, then which flag or command helps, where one does. */
export function errorText(error: HintedError): string {
  const own = HINTS[error._tag]?.(error);
  if (own) return `${error.message}${own}`;
  // A store's own error inside a stage's StoreFailed.
  const nested = (error as { storeError?: HintedError }).storeError;
  const inner = nested && tagOf(error) !== error._tag ? HINTS[nested._tag]?.(nested) : undefined;
  return inner ? `${error.message}${inner}` : error.message;
}
