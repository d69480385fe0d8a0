import { Failure, causeMessage } from "@cobalt-backup/core";
import { EXIT } from "../exit-codes.js";

/** A command's stop signal, and what stopped it. */
export interface Interrupt {
  /** Aborts on SIGINT or SIGTERM (reason tagged `Interrupted`), or on a crash anywhere in the process (reason tagged `Unexpected`). */
  signal: AbortSignal;
  /** The exit code the process owes the signal that came (130, 143), if one did. */
  exitCode(): number | undefined;
  dispose(): void;
}

/**
 * SIGINT and SIGTERM stop the command cleanly instead of killing it: the signal aborts, the core
 * stages it was given to close their connections, abort their uploads and delete what they wrote,
 * and once the command has said so in one line the process exits 130 or 143. A second signal
 * exits at once. An exception nobody caught (an 'error' event of a child process, say) aborts the
 * same way, so that even a crash cleans up, reports and notifies.
 */
export function interruptible(onSignal: (signal: NodeJS.Signals) => void): Interrupt {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (received) process.exit(signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm);
    received = signal;
    onSignal(signal);
    controller.abort(new Failure({ _tag: "Interrupted", message: `interrupted by ${signal}` }));
  };
  const crash = (e: unknown) => {
    if (controller.signal.aborted) return;
    controller.abort(new Failure({ _tag: "Unexpected", message: `unexpected error: ${causeMessage(e)}` }));
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  return {
    signal: controller.signal,
    exitCode: () => (received === "SIGINT" ? EXIT.sigint : received === "SIGTERM" ? EXIT.sigterm : undefined),
    dispose() {
      process.removeListener("SIGINT", handler);
      process.removeListener("SIGTERM", handler);
      process.removeListener("uncaughtException", crash);
      process.removeListener("unhandledRejection", crash);
    },
  };
}
