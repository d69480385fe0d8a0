/** Loads the shared real-world corpora (../shared/corpus) the way their README says: psql -f. */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, "../..");

function findCorpus(): string {
  const candidates = [process.env.COBALT_CORPUS, join(repoRoot, "../shared/corpus"), "/work/shared/corpus"];
  for (const c of candidates) if (c && existsSync(join(c, "pagila/schema.sql"))) return c;
  throw new Error(`shared corpus not found (looked in ${candidates.filter(Boolean).join(", ")}); set COBALT_CORPUS`);
}

export const CORPORA = {
  pagila: ["pagila/schema.sql", "pagila/data.sql"],
  chinook: ["chinook/chinook.sql"],
  // The real schema of the Cobalt application; it needs PostgreSQL 15+ and a `cobalt` role.
  cobalt: ["cobalt/schema.sql", "cobalt/data.sql"],
} as const;
/** Our own corpora: every object kind and value shape; objects ordered by their dependencies. */
const OWN = {
  "edge-cases": join(repoRoot, "test/corpus/edge-cases.sql"),
  "dependency-order": join(repoRoot, "test/corpus/dependency-order.sql"),
} as const;
export type CorpusName = keyof typeof CORPORA | keyof typeof OWN;


export function psqlFile(url: string, file: string): void {
  execFileSync("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", file], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
  });
}

export function psqlCommand(url: string, sql: string): string {
  return execFileSync("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql], {
    encoding: "utf8",
  });
}

export function loadCorpus(url: string, name: CorpusName): void {
  if (name === "edge-cases" || name === "dependency-order") return psqlFile(url, OWN[name]);
  if (name === "cobalt") psqlCommand(url, "DO $$ BEGIN CREATE ROLE cobalt; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
  const root = findCorpus();
  for (const f of CORPORA[name]) psqlFile(url, join(root, f));
}
