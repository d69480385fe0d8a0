import { failureKind, type FailureKind } from "@cobalt-backup/core";

/**
 * The exit codes of every command, defined once here; the README lists exactly these, and
 * test/exit-codes.test.ts checks each. Scripts, cron wrappers and systemd tell outcomes apart by them.
 */
export const EXIT = {
  ok: 0,
  /** Failed at run time: a connection dropped, an upload or a restore failed, a disk filled. */
  failed: 1,
  /** Usage, configuration or unreachable input: bad flags, wrong password, port or database, no such bucket, unknown backup, a key that does not open it, no scratch space. */
  usage: 2,
  /** The backup is proven bad: verification found a difference, or an object or manifest is corrupt or missing. */
  backupBad: 3,
  /** The temporary RDS instance could not be deleted: it may still be running, and billed. */
  instanceLeft: 4,
  /** The work succeeded, but a notification (webhook, email, heartbeat) could not be delivered. */
  notifyFailed: 5,
  /** Interrupted by SIGINT (128 + 2), after deleting what the command had written. */
  sigint: 130,
  /** Interrupted by SIGTERM (128 + 15), likewise. */
  sigterm: 143,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const BY_KIND: Record<FailureKind, ExitCode> = {
  input: EXIT.usage,
  "backup-defect": EXIT.backupBad,
  "instance-left": EXIT.instanceLeft,
  runtime: EXIT.failed,
  // An interruption exits with the signal's code, set where the signal is handled.
  interrupted: EXIT.failed,
};

/** The CLI's own failure tags, and what they mean. */
const CLI_TAGS: Record<string, FailureKind> = {
  UsageError: "input",
  /** The scratch directory has less free space than the restore needs. */
  ScratchSpaceTooSmall: "input",
};

/** The exit code of a failure, from its tag (a core error's `_tag`, or one of the CLI's). */
export const exitCodeFor = (tag: string | undefined): ExitCode => BY_KIND[CLI_TAGS[tag ?? ""] ?? failureKind(tag ?? "Unexpected")];
