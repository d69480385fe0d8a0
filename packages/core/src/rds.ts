/** The RDS snapshot stage (AWS SDK): imported separately so that commands without RDS never load the SDK. */
export { restoreSnapshot, type RestoreSnapshotInput, type TemporaryInstance } from "./snapshot/restore-snapshot.js";
export { TAG as TEMPORARY_INSTANCE_TAGS, temporaryInstanceId, temporarySecretName, type SnapshotDeps, type SnapshotRef, type InstanceRef, type InstancePhase } from "./snapshot/instance-ref.js";
export { findSnapshot, type FindSnapshotInput } from "./snapshot/find-snapshot.js";
export { startRestore, describeInstance, deleteTemporaryInstance, deleteExecutionInstances, listTemporaryInstances, type StartRestoreInput, type DeleteOutcome } from "./snapshot/instance-steps.js";
export { prepareInstance, readInstanceCredentials, type InstanceCredentials } from "./snapshot/master-password.js";
export { cleanupExpired, type CleanupDecision } from "./snapshot/cleanup-expired.js";
export { takeSnapshot } from "./snapshot/take-snapshot.js";
export type { SnapshotError, AwsProblem } from "./snapshot/errors.js";
export { checkSourceInstance } from "./snapshot/check-instance.js";
export { systemClock, type Clock } from "./snapshot/poll.js";
