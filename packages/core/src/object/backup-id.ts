/**
 * A backup's id is `<source>/<UTC timestamp>`, which is also its key prefix in the store:
 * `pagila/20261125T013000.123Z`. Sorting ids as strings sorts a source's backups by time.
 */
export function newBackupId(source: string, at: Date): string {
  const name = source.replace(/[^A-Za-z0-9_.-]+/g, "_").replace(/^[._]+/, "") || "database";
  const ts = at.toISOString().replace(/[-:]/g, "");
  return `${name}/${ts}`;
}

export const backupPrefix = (id: string): string => `${id}/`;

/** Parses the timestamp part of an id back into a Date, or undefined when it is not one of ours. */
export function backupTime(id: string): Date | undefined {
  const m = /\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z$/.exec(id);
  if (!m) return undefined;
  return new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
}
