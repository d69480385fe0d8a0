import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Scratch } from "@cobalt-backup/core";
import { UsageError } from "../usage-error.js";
import { postgresTarget } from "./postgres-url.js";

/**
 * The post-restore hook, run against the verified scratch copy only: a SQL file (one simple
 * query, so it may hold many statements) or a shell command with DATABASE_URL and PG* set.
 */
export function hookRunner(hook: { sql?: string; command?: string } | undefined): ((scratch: Scratch) => Promise<string>) | undefined {
  if (!hook || (!hook.sql && !hook.command)) return undefined;
  if (hook.sql && hook.command) throw new UsageError("verify.hook: give sql or command, not both");
  return async (scratch) => {
    const s = scratch;
    if (hook.sql) {
      const sql = readFileSync(hook.sql, "utf8");
      const client = await s.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
      return `ran ${hook.sql} against ${s.name}`;
    }
    if (!s.url) throw new Error("the scratch database has no URL to give the hook command");
    const env = { ...process.env, DATABASE_URL: s.url, ...postgresTarget(s.url, "the scratch database").env() };
    const stderr: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn("sh", ["-c", hook.command!], { env, stdio: ["ignore", "ignore", "pipe"] });
      child.stderr.on("data", (d) => stderr.push(String(d)));
      child.on("error", reject);
      child.on("close", resolve);
    });
    if (code !== 0) throw new Error(`hook command exited ${code}: ${stderr.join("").trim().split("\n").slice(-3).join(" | ")}`);
    return `ran the hook command against ${s.name}`;
  };
}
