/**
 * Starts one PostgreSQL 15 and one PostgreSQL 17 cluster for the whole run, with pagila and
 * chinook (and our edge-case corpus) loaded into template databases that tests clone (CREATE DATABASE ... TEMPLATE).
 */
import type { TestProject } from "vitest/node";
import { loadCorpus } from "./corpus.ts";
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
      for (const corpus of ["pagila", "chinook", "edge-cases"] as const) {
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
