/**
 * Runs the real state machine definition (its local variant) in aws-local-stepfunctions, each Task
 * bound to the real handler bundle (packages/lambda/dist/handlers/<name>/index.mjs, what the CDK
 * construct deploys) invoked in-process, unless the test binds a stand-in.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { StateMachine, type RunOptions } from "aws-local-stepfunctions";
import { repoRoot } from "./corpus.ts";
import { localVariant, mapStates, productionDefinition, testSubstitutions, type Definition } from "./state-machine.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type TaskHandler = (input: unknown) => unknown;

/** Which handler bundle serves each Task state of the definition. */
export const HANDLER_OF: Record<string, string> = {
  FindSnapshot: "find-snapshot",
  StartRestore: "start-restore",
  DescribeInstance: "describe-instance",
  PrepareInstance: "prepare-instance",
  DeleteInstance: "delete-instance",
  DeleteAfterFailure: "delete-instance",
  Plan: "plan",
  DumpUnit: "dump-unit",
  Commit: "commit",
  PrepareVerify: "verify-prepare",
  VerifyPart: "verify-part",
  VerifyPostData: "verify-post-data",
  FinishVerify: "verify-finish",
  Retention: "retention",
  NotifySuccess: "notify",
  NotifyFailure: "notify",
};

/** Where the local variant's Maps read their items: the stand-in for the ItemReader puts them there (see `withItems`). */
export const LOCAL_ITEMS = { DumpUnits: "$.plan.items", VerifyParts: "$.verify.items" };

/** Handlers that are not states: the failure rule's target and the scheduled janitor. */
const OTHER_HANDLERS: Record<string, string> = { ExecutionCleanup: "execution-cleanup", Janitor: "janitor" };

/**
 * Imports the built bundles (run after `pnpm build`; their environment must be set before), keyed
 * by state (or ExecutionCleanup, Janitor). `instance` loads fresh copies (a cold start under
 * another environment).
 */
export async function loadHandlers(instance = ""): Promise<Record<string, TaskHandler>> {
  const out: Record<string, TaskHandler> = {};
  for (const [state, name] of Object.entries({ ...HANDLER_OF, ...OTHER_HANDLERS })) {
    const url = pathToFileURL(join(repoRoot, "packages/lambda/dist/handlers", name, "index.mjs")).href;
    const mod = (await import(instance ? `${url}?${instance}` : url)) as { handler: TaskHandler };
    out[state] = mod.handler;
  }
  return out;
}

/** A stand-in error, named as the handlers name theirs (`name` is what Retry and Catch match). */
export class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export interface Execution {
  arn: string;
  ok: boolean;
  output?: Json;
  /** The Fail state's error and cause, when the execution failed. */
  error?: string;
  cause?: string;
  /** Every event, in order: the execution's history as the local runner reports it. */
  events: { type: string; state?: string; input?: Json; output?: Json; error?: string; cause?: unknown }[];
  /** Invocations of each Task state, in order, with their input and what they returned or threw. */
  calls: { state: string; input: unknown; output?: unknown; error?: string }[];
  /** The states entered, in order. */
  entered: string[];
}

export interface RunOptionsLocal {
  /** Stand-ins for states (to inject a failure, or a Map's item reader). */
  bind?: Record<string, TaskHandler>;
  substitutions?: Record<string, string>;
  /** Called once the execution runs, with its abort. */
  onStart?: (abort: () => void) => void;
  name?: string;
}

let counter = 0;

/** Runs one execution of the local variant to its end. */
export async function runExecution(handlers: Record<string, TaskHandler>, input: Json, opts: RunOptionsLocal = {}): Promise<Execution> {
  const definition: Definition = localVariant(productionDefinition(testSubstitutions(opts.substitutions)), LOCAL_ITEMS);
  const sm = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const arn = `arn:aws:states:us-east-1:123456789012:execution:cobalt-backup:${opts.name ?? "run"}-${process.pid}-${++counter}`;
  const calls: Execution["calls"] = [];
  const bound: Record<string, TaskHandler> = {};
  for (const state of Object.keys(HANDLER_OF)) {
    const h = opts.bind?.[state] ?? handlers[state]!;
    bound[state] = async (i) => {
      const call: Execution["calls"][number] = { state, input: i };
      calls.push(call);
      try {
        call.output = await h(i);
        return call.output;
      } catch (e) {
        call.error = (e as Error).name;
        throw e;
      }
    };
  }
  const retryIntervalOverrides = Object.fromEntries([...Object.keys(definition.States), ...mapStates(definition).flatMap(([, m]) => Object.keys((m.ItemProcessor as Definition).States))].map((s) => [s, 0]));
  const options: RunOptions = {
    overrides: { taskResourceLocalHandlers: bound as never, waitTimeOverrides: { WaitForInstance: 100 }, retryIntervalOverrides },
    context: { Execution: { Id: arn, Name: arn.split(":").pop(), Input: input, StartTime: new Date().toISOString() } },
  };
  const run = sm.run(input, options);
  opts.onStart?.(run.abort);
  const events: Execution["events"] = [];
  const collecting = (async () => {
    for await (const e of run.eventLogs) {
      const ev = e as unknown as { type: string; state?: { name: string; input?: Json; output?: Json }; Error?: string; Cause?: unknown };
      events.push({ type: ev.type, ...(ev.state ? { state: ev.state.name, input: ev.state.input ?? null, output: ev.state.output ?? null } : {}), ...(ev.Error ? { error: ev.Error, cause: ev.Cause } : {}) });
    }
  })();
  const outcome: Pick<Execution, "ok" | "output" | "error" | "cause"> = await run.result.then(
    (output) => ({ ok: true, output: output as Json }),
    (e: Error & { cause?: Error }) => ({ ok: false, error: e.cause?.name ?? e.name, cause: e.cause?.message ?? e.message }),
  );
  await collecting.catch(() => {});
  return { arn, ...outcome, events, calls, entered: events.filter((e) => e.type === "StateEntered").map((e) => e.state!) };
}

/**
 * The local variant's ItemReader: after the real handler (Plan, PrepareVerify) has put a Map's
 * items in the staging bucket, reads them from there into the state's output (`items`), where
 * the local Map's ItemsPath points, as the production Map's ItemReader reads that object.
 */
export function readingItems(handler: TaskHandler, read: (key: string) => Promise<unknown>): TaskHandler {
  return async (input) => {
    const out = (await handler(input)) as { itemsKey: string; next?: number };
    return out.next === undefined || out.next < 0 ? { ...out, items: await read(out.itemsKey) } : out;
  };
}
