import { createHash } from "node:crypto";
import type { DdlItem, InventoryEntry } from "./model.js";

/**
 * The object inventory: every captured object with a digest of its definition, sorted by kind and
 * name (restore order depends on OIDs, which a restore does not preserve). Owners and privileges
 * are not objects: they depend on the roles of the server restored to.
 */
export const inventoryOf = (items: readonly DdlItem[]): InventoryEntry[] =>
  items
    .filter((i) => i.section !== "privileges")
    .map((i) => ({ kind: i.kind, name: i.name, sha256: createHash("sha256").update(i.sql).digest("hex") }))
    .sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1));

export interface InventoryDifference {
  name: string;
  kind: string;
  problem: "missing" | "unexpected" | "different";
}

/**
 * Compares the inventory recorded in a manifest with the one read back from a restore. With
 * `definitions: false` only presence is compared: digests are of DDL text as one tool version
 * renders it, so a backup written by another version is checked by kind and name.
 */
export function compareInventories(
  expected: readonly InventoryEntry[],
  actual: readonly InventoryEntry[],
  opts: { definitions: boolean } = { definitions: true },
): InventoryDifference[] {
  const key = (e: InventoryEntry) => `${e.kind} ${e.name}`;
  const got = new Map(actual.map((e) => [key(e), e]));
  const want = new Map(expected.map((e) => [key(e), e]));
  const diffs: InventoryDifference[] = [];
  for (const [k, e] of want) {
    const a = got.get(k);
    if (!a) diffs.push({ name: e.name, kind: e.kind, problem: "missing" });
    else if (opts.definitions && a.sha256 !== e.sha256) diffs.push({ name: e.name, kind: e.kind, problem: "different" });
  }
  for (const [k, a] of got) if (!want.has(k)) diffs.push({ name: a.name, kind: a.kind, problem: "unexpected" });
  return diffs;
}
