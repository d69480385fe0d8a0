/**
 * Issue 13, acceptance 5: the one ASL file is valid (asl-validator), JSONPath only, and its local
 * variant differs from it only in the Distributed Maps' reader and writer. And the shape every run
 * relies on: each state catches into delete -> notify -> fail, and retries what is transient.
 */
import { readFileSync } from "node:fs";
import validator from "asl-validator";
import { describe, expect, it } from "vitest";
import { LOCAL_ITEMS } from "./support/local-execution.ts";
import { ASL_PATH, DISTRIBUTED_ONLY, localVariant, mapStates, productionDefinition, testSubstitutions, type Definition } from "./support/state-machine.ts";

const production = productionDefinition(testSubstitutions());
const local = localVariant(production, LOCAL_ITEMS);
type State = Record<string, unknown> & { Type: string; Next?: string; Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[]; Retry?: { ErrorEquals: string[] }[] };
const states = production.States as unknown as Record<string, State>;

/** Removes, at every depth, the fields the local variant is allowed to change. */
function withoutReaders(def: unknown): unknown {
  if (Array.isArray(def)) return def.map(withoutReaders);
  if (def && typeof def === "object") {
    return Object.fromEntries(Object.entries(def).filter(([k]) => !(DISTRIBUTED_ONLY as readonly string[]).includes(k) && k !== "ItemsPath").map(([k, v]) => [k, withoutReaders(v)]));
  }
  return def;
}

describe("the state machine definition", () => {
  it("passes asl-validator, and the validator does reject a broken definition", () => {
    // The validator adds defaults (QueryLanguage) to what it is given: give it a copy.
    const r = validator(structuredClone(production) as never);
    expect(r.errors).toEqual([]);
    expect(r.isValid).toBe(true);
    const broken = structuredClone(production) as Definition;
    (broken.States.FindSnapshot as { Next: string }).Next = "NoSuchState";
    expect(validator(broken as never).isValid).toBe(false);
  });

  it("is JSONPath only: no JSONata, no variables (the local runner would silently ignore them)", () => {
    const text = readFileSync(ASL_PATH, "utf8");
    expect(text).not.toMatch(/QueryLanguage|"Assign"|"Arguments"|"Output"|\{%/);
  });

  it("differs from its local variant only in the Maps' reader and writer", () => {
    expect(withoutReaders(local)).toEqual(withoutReaders(production));
    const maps = mapStates(production);
    expect(maps.map(([n]) => n).sort()).toEqual(["DumpUnits", "VerifyParts"]);
    for (const [name, map] of maps) {
      expect(map.ItemReader, name).toMatchObject({ Resource: "arn:aws:states:::s3:getObject", Parameters: { Bucket: "cobalt-staging-test" } });
      expect(map.ResultWriter, name).toMatchObject({ Resource: "arn:aws:states:::s3:putObject" });
      expect(map.ItemProcessor, name).toMatchObject({ ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" } });
      expect(map, name).toMatchObject({ ToleratedFailureCount: 0, MaxConcurrencyPath: "$.config.maxConcurrency", ResultPath: null });
      const localMap = mapStates(local).find(([n]) => n === name)![1];
      for (const field of DISTRIBUTED_ONLY) expect(localMap[field], `${name}.${field}`).toBeUndefined();
      expect(localMap.ItemsPath).toMatch(/^\$\./);
    }
  });

  it("catches every failure of every Task and Map into delete -> notify -> fail, naming the state", () => {
    const failurePath = new Set(["DeleteAfterFailure", "NotifyFailure"]);
    for (const [name, s] of Object.entries(states).filter(([, s]) => s.Type === "Task" || s.Type === "Map")) {
      const all = s.Catch?.find((c) => c.ErrorEquals.includes("States.ALL"));
      expect(all, `${name} has no Catch of States.ALL`).toBeDefined();
      if (failurePath.has(name)) continue;
      expect(all).toMatchObject({ ResultPath: "$.failure", Next: `${name} failed` });
      expect(states[`${name} failed`]).toMatchObject({ Type: "Pass", Result: name, ResultPath: "$.failure.state", Next: "HasInstance?" });
    }
    expect(states["HasInstance?"]).toMatchObject({ Choices: [{ Variable: "$.run.instanceId", IsPresent: true, Next: "DeleteAfterFailure" }], Default: "NotifyFailure" });
    expect(states.DeleteAfterFailure).toMatchObject({ Next: "NotifyFailure", Catch: [{ Next: "NotifyFailure" }] });
    expect(states.NotifyFailure).toMatchObject({ Next: "BackupFailed", Catch: [{ Next: "BackupFailed" }] });
    expect(states.BackupFailed).toMatchObject({ Type: "Fail", ErrorPath: "$.failure.Error" });
    // The wait loop's own failures take the same path.
    for (const name of ["InstanceFailed", "InstanceWaitTimedOut"]) expect(states[name]).toMatchObject({ Type: "Pass", ResultPath: "$.failure", Next: "HasInstance?" });
  });

  it("retries Lambda service faults everywhere, and the transient core tags where they occur", () => {
    const retried = (s: State) => new Set((s.Retry ?? []).flatMap((r) => r.ErrorEquals));
    const tasks = Object.entries(states).filter(([, s]) => s.Type === "Task");
    const dumpUnit = (states.DumpUnits!.ItemProcessor as { States: Record<string, State> }).States.DumpUnit!;
    const verifyPart = (states.VerifyParts!.ItemProcessor as { States: Record<string, State> }).States.VerifyPart!;
    for (const [name, s] of [...tasks, ["DumpUnit", dumpUnit] as const, ["VerifyPart", verifyPart] as const]) {
      expect(retried(s), name).toContain("Lambda.ServiceException");
      expect(retried(s), name).toContain("Lambda.TooManyRequestsException");
      expect(s.TimeoutSeconds, name).toBeLessThanOrEqual(900);
    }
    for (const name of ["FindSnapshot", "StartRestore", "DescribeInstance", "PrepareInstance", "DeleteInstance", "DeleteAfterFailure"]) {
      expect(retried(states[name]!), name).toContain("AwsUnavailable");
    }
    expect(retried(states.StartRestore!)).toContain("InsufficientCapacity");
    for (const [name, s] of [["Plan", states.Plan!], ["DumpUnit", dumpUnit]] as const) {
      for (const tag of ["SourceConnectFailed", "CopyFailed", "TransientDbError"]) expect(retried(s), name).toContain(tag);
    }
    // The verify states connect to the scratch database: a dropped connection there is TargetConnectFailed.
    for (const [name, s] of [["PrepareVerify", states.PrepareVerify!], ["VerifyPart", verifyPart], ["VerifyPostData", states.VerifyPostData!], ["FinishVerify", states.FinishVerify!]] as const) {
      for (const tag of ["TargetConnectFailed", "TransientDbError"]) expect(retried(s), name).toContain(tag);
    }
  });

  it("passes references between states, never data", () => {
    // Every Task's result lands on a named path of the state (or replaces a ref in place); no result replaces the whole state.
    for (const [name, s] of Object.entries(states).filter(([, s]) => s.Type === "Task")) expect(s.ResultPath, name).toMatch(/^\$\.\w+$/);
    // Acceptance 3: each child gets exactly one unit or one part (an item of the list), never the list.
    expect(states.DumpUnits!.ItemSelector).toEqual({ "backupId.$": "$.run.backupId", "database.$": "$.run.database", "attempt.$": "$$.Execution.Id", "instance.$": "$.instance", "unit.$": "$$.Map.Item.Value.unit" });
    expect(states.VerifyParts!.ItemSelector).toEqual({ "backupId.$": "$.run.backupId", "instance.$": "$.instance", "part.$": "$$.Map.Item.Value.part" });
    // The units' attempt is the execution: a second execution's commit counts the units the first one did.
    expect(states.Commit!.Parameters).toEqual({ "backupId.$": "$.run.backupId", "attempt.$": "$$.Execution.Id" });
    // The loops over pre-data and post-data carry a cursor, one batch per invocation.
    for (const name of ["PrepareVerify", "VerifyPostData"]) expect(JSON.stringify(states[name]!.Parameters), name).toMatch(/"next\.\$":"\$\.\w+\.next"/);
    expect(JSON.stringify(production)).not.toMatch(/MasterUserPassword|SecretString/);
  });
});
