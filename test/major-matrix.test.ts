/**
 * Issue 3, acceptance 2, and issue 9: the edge-case corpus, pagila and the dependency-order
 * corpus round-trip on the other majors RDS runs (15 and 17 run in every other test file),
 * compared by object inventory (each object's DDL digest) and data digests.
 */
import { afterAll, describe, expect, it } from "vitest";
import { loadCorpus } from "./support/corpus.ts";
import { dataDigest } from "./support/oracle.ts";
import { startCluster, type Cluster, type Major } from "./support/postgres.ts";
import { backup, inventory, restore, tempStore } from "./support/roundtrip.ts";

const started: Cluster[] = [];
afterAll(() => Promise.all(started.map((c) => c.stop())));

describe.each([13, 14, 16, 18] as Major[])("PostgreSQL %i", (major) => {
  it.each(["edge-cases", "pagila", "dependency-order"] as const)("%s round-trips with identical inventory and data", async (corpus) => {
    let c = started.find((s) => s.major === major);
    if (!c) {
      c = await startCluster(major);
      started.push(c);
    }
    const source = `${corpus.replace("-", "_")}_src`;
    await c.createDatabase(source);
    loadCorpus(c.url(source), corpus);
    const dest = tempStore();
    const id = await backup(c.url(source), dest);
    const target = `${corpus.replace("-", "_")}_dst`;
    await c.createDatabase(target);
    await restore(dest, id, c.url(target));
    expect(await inventory(c.url(target))).toEqual(await inventory(c.url(source)));
    const [src, dst] = [await dataDigest(c.url(source)), await dataDigest(c.url(target))];
    expect(Object.keys(src.tables).length).toBeGreaterThan(10);
    expect(dst).toEqual(src);
  });
});

// Issue 12: with every table split into chunks (key ranges on 13, ctid ranges on 18).
describe.each([13, 18] as Major[])("PostgreSQL %i, split into chunks", (major) => {
  it.each(["edge-cases", "pagila", ...(major >= 15 ? (["cobalt"] as const) : [])] as const)("%s round-trips with identical inventory and data", async (corpus) => {
    let c = started.find((s) => s.major === major);
    if (!c) {
      c = await startCluster(major);
      started.push(c);
    }
    const source = `${corpus.replace("-", "_")}_split_src`;
    await c.createDatabase(source);
    loadCorpus(c.url(source), corpus);
    const dest = tempStore();
    const id = await backup(c.url(source), dest, 4, ["--split-larger-than", "4096"]);
    const target = `${corpus.replace("-", "_")}_split_dst`;
    await c.createDatabase(target);
    await restore(dest, id, c.url(target));
    expect(await inventory(c.url(target))).toEqual(await inventory(c.url(source)));
    expect(await dataDigest(c.url(target))).toEqual(await dataDigest(c.url(source)));
  });
});
