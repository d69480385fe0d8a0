/**
 * Starts one PostgreSQL 15 and one PostgreSQL 17 cluster for the whole run, with pagila, chinook,
 * Cobalt's own schema (15 only) and our edge-case and dependency-order corpora loaded into
 * template databases that tests clone (CREATE DATABASE ... TEMPLATE).
 */
import type { TestProject } from "vitest/node";
import { loadCorpus, type CorpusName } from "./corpus.ts";
import { MAJORS, startCluster, type Cluster } from "./postgres.ts";

declare module "vitest" {
  export interface ProvidedContext {
    clusters: Record<string, { port: number; url: string }>;
  }
}

const started: Cluster[] = [];

export async function setup(project: TestProject): Promise<void> {
  const clusters: Record<string, { port: number; url: string }> = {};
  await Promise.all(
    MAJORS.map(async (major) => {
      const c = await startCluster(major);
      started.push(c);
      // Cobalt's schema needs PostgreSQL 15 or later; it is loaded where the oracle runs.
      const corpora: CorpusName[] = ["pagila", "chinook", "edge-cases", "dependency-order", ...(major === 15 ? (["cobalt"] as const) : [])];
      for (const corpus of corpora) {
        await c.createDatabase(`${corpus}_tpl`);
        loadCorpus(c.url(`${corpus}_tpl`), corpus);
      }
      clusters[String(major)] = { port: c.port, url: c.url() };
    }),
  );
  project.provide("clusters", clusters);
}

export async function teardown(): Promise<void> {
  await Promise.all(started.map((c) => c.stop()));
}
