/** The RDS snapshot stage (AWS SDK): imported separately so that commands without RDS never load the SDK. */
export { restoreSnapshot, withRestoredSnapshot, listTemporaryInstances, TAG as TEMPORARY_INSTANCE_TAGS, type SnapshotDeps, type RestoreSnapshotInput, type TemporaryInstance } from "./snapshot/temporary-instance.js";
export { cleanupExpired, type CleanupDecision } from "./snapshot/cleanup-expired.js";
export { takeSnapshot } from "./snapshot/take-snapshot.js";
export type { SnapshotError } from "./snapshot/errors.js";
export { systemClock, type Clock } from "./snapshot/poll.js";
