/**
 * The state machine definition for tests: the one ASL file the CDK construct deploys, with its
 * `${...}` placeholders substituted, and its local variant for aws-local-stepfunctions, which has
 * no Distributed Map: each Map's ItemReader / ResultWriter / ItemBatcher become an ItemsPath over
 * an inline array. Nothing else differs (test/lambda-definition.test.ts compares them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "./corpus.ts";

export const ASL_PATH = join(repoRoot, "packages/lambda/state-machine.asl.json");

/** The fields only a Distributed Map has that the local runner cannot run. */
export const DISTRIBUTED_ONLY = ["ItemReader", "ResultWriter", "ItemBatcher"] as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Definition = { States: Record<string, Record<string, Json>>; [k: string]: Json };

/** The placeholders the file uses, `${Name}`. */
export function placeholders(text = readFileSync(ASL_PATH, "utf8")): string[] {
  return [...new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))].sort();
}

/** The production definition with every placeholder substituted (as CDK's definitionSubstitutions does); an unknown or missing one throws. */
export function productionDefinition(values: Record<string, string>): Definition {
  const text = readFileSync(ASL_PATH, "utf8");
  const missing = placeholders(text).filter((p) => values[p] === undefined);
  if (missing.length) throw new Error(`no value for placeholder(s) ${missing.join(", ")}`);
  return JSON.parse(text.replace(/\$\{(\w+)\}/g, (_, name: string) => values[name]!)) as Definition;
}

/** Every Map state, nested ones included, with its path for messages. */
export function mapStates(def: { States: Record<string, Record<string, Json>> }): [string, Record<string, Json>][] {
  return Object.entries(def.States).flatMap(([name, s]) => {
    const inner = (s.ItemProcessor ?? s.Iterator) as Definition | undefined;
    return [...(s.Type === "Map" ? [[name, s] as [string, Record<string, Json>]] : []), ...(inner ? mapStates(inner) : [])];
  });
}

/**
 * The local variant: every Map that reads its items with an ItemReader reads them with
 * `ItemsPath` from `itemsPaths[mapName]` instead (the test puts the inline array there), and
 * writes no results to S3.
 */
export function localVariant(def: Definition, itemsPaths: Record<string, string>): Definition {
  const copy = structuredClone(def);
  for (const [name, map] of mapStates(copy)) {
    if (!map.ItemReader) continue;
    const path = itemsPaths[name];
    if (!path) throw new Error(`Map ${name} reads its items from S3: give the local variant an ItemsPath for it`);
    for (const field of DISTRIBUTED_ONLY) delete map[field];
    map.ItemsPath = path;
  }
  return copy;
}

/** Placeholder values for tests: fake ARNs in an account that does not exist. */
export function testSubstitutions(overrides: Record<string, string> = {}): Record<string, string> {
  const fn = (name: string) => `arn:aws:lambda:us-east-1:123456789012:function:cobalt-${name}`;
  const values: Record<string, string> = { StagingBucket: "cobalt-staging-test", MaxConcurrency: "4", PollSeconds: "30", MaxPolls: "240" };
  for (const p of placeholders()) if (p.endsWith("Function")) values[p] = fn(p.replace(/Function$/, ""));
  return { ...values, ...overrides };
}
