/**
 * Deployed in place of the unit states' handlers (Plan, DumpUnit, Commit, the verify states)
 * until they are wired to core's work-unit stages (issue 13, phase 2): fails at once, by name,
 * so an execution reaching them deletes the temporary instance and notifies like any failure.
 */
import { StepError } from "../lib/errors.js";

export async function handler(): Promise<never> {
  throw new StepError("NotWired", `state ${process.env.STATE ?? "(unknown)"} has no handler yet: the unit stages are wired in issue 13 phase 2`);
}
