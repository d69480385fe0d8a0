/** Message text of anything thrown, without stack or connection strings. */
export const causeMessage = (cause: unknown): string =>
  redactSecrets(cause instanceof Error ? cause.message : typeof cause === "string" ? cause : JSON.stringify(cause));

/** Removes the password part of any URL-shaped credentials (`scheme://user:secret@host`). */
export const redactSecrets = (text: string): string => text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, "$1:***@");

/** What an abort signal's reason says, in a few words ("SIGTERM"). */
export const abortReason = (signal: AbortSignal): string =>
  typeof signal.reason === "string" ? signal.reason : signal.reason instanceof Error && signal.reason.name !== "AbortError" ? causeMessage(signal.reason) : "aborted";
