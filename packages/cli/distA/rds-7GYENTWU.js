#!/usr/bin/env node
import { createRequire as __cobaltCreateRequire } from "node:module";
const require = __cobaltCreateRequire(import.meta.url);
import {
  TAG,
  checkSourceInstance,
  cleanupExpired,
  deleteExecutionInstances,
  deleteTemporaryInstance,
  describeInstance,
  findSnapshot,
  listTemporaryInstances,
  prepareInstance,
  readInstanceCredentials,
  restoreSnapshot,
  startRestore,
  systemClock,
  takeSnapshot,
  temporaryInstanceId,
  temporarySecretName
} from "./chunk-XNDLWKJJ.js";
import "./chunk-SZRQ5ROZ.js";
import "./chunk-IOUMZER7.js";
export {
  TAG as TEMPORARY_INSTANCE_TAGS,
  checkSourceInstance,
  cleanupExpired,
  deleteExecutionInstances,
  deleteTemporaryInstance,
  describeInstance,
  findSnapshot,
  listTemporaryInstances,
  prepareInstance,
  readInstanceCredentials,
  restoreSnapshot,
  startRestore,
  systemClock,
  takeSnapshot,
  temporaryInstanceId,
  temporarySecretName
};
//# sourceMappingURL=rds-7GYENTWU.js.map