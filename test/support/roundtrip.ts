/** Backup then restore through the real CLI, and the comparisons the fidelity tests share. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { expect } from "vitest";
import { applySessionSettings, captureSchema, inventoryOf, type InventoryEntry } from "@cobalt-backup/core";
import { runCli } from "./cli.ts";

/** A fresh store directory under the OS temp dir, as a file:// URL (the OS cleans /tmp). */
export const tempStore = (): string => pathToFileURL(mkdtempSync(join(tmpdir(), "cobalt-store-"))).href;

export async function backup(sourceUrl: string, dest: string, jobs = 4, extra: string[] = []): Promise<string> {
  const r = await runCli(["backup", "--source", sourceUrl, "--dest", dest, "--jobs", String(jobs), ...extra, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return r.json!.id as string;
}

export async function restore(dest: string, id: string, targetUrl: string, jobs = 4): Promise<void> {
  const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", targetUrl, "--jobs", String(jobs), "--json"]);
  expect(r.code, r.stderr).toBe(0);
}

/** The object inventory as cobalt-backup captures it (kind, name, digest of its DDL). */
export async function inventory(url: string): Promise<InventoryEntry[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await applySessionSettings(client);
    const r = await captureSchema(client);
    if (r.isErr()) throw new Error(r.error.message);
    return inventoryOf(r.value.items);
  } finally {
    await client.end();
  }
}
