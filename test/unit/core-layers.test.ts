/**
 * Core's folders form layers: a folder imports only from the folders below it (type imports
 * included), so the backup format has one home below every stage and no port depends on a stage.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "../support/corpus.ts";

/** Lowest first; folders on one line are peers and may not import one another. Root files are named with their extension. */
const LAYERS: string[][] = [
  ["util"],
  ["result.ts"],
  ["store"],
  ["object"],
  ["pg"],
  ["schema", "manifest"],
  ["catalog"],
  ["dump", "restore", "export", "media", "retention", "snapshot", "check"],
  ["verify"],
  ["failure-kind.ts"],
  ["pipeline"],
  ["index.ts", "rds.ts", "s3.ts"],
];

const src = join(repoRoot, "packages/core/src");
const layerOf = (unit: string) => LAYERS.findIndex((l) => l.includes(unit));
const unitOf = (file: string) => {
  const rel = relative(src, file);
  return rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : rel;
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
}

it("no import in packages/core/src runs from a lower folder to a higher one, or between peers", () => {
  const wrong: string[] = [];
  for (const file of files(src)) {
    const from = unitOf(file);
    expect(layerOf(from), `${from} is in no layer`).toBeGreaterThanOrEqual(0);
    for (const m of readFileSync(file, "utf8").matchAll(/from "(\.[^"]+)"/g)) {
      const to = unitOf(normalize(join(dirname(file), m[1]!.replace(/\.js$/, ".ts"))));
      if (to !== from && layerOf(to) >= layerOf(from)) wrong.push(`${relative(src, file)} imports ${m[1]} (${from} -> ${to})`);
    }
  }
  expect(wrong).toEqual([]);
});
