/** Runs the built CLI as a user would, and reads what it printed. */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./corpus.ts";

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The last stdout line parsed as JSON (commands run with --json). */
  json: Record<string, any> | undefined;
}

export const CLI = join(repoRoot, "packages/cli/dist/main.js");

/** `nodeArgs` go before the CLI's path (`--import` of a module that injects a fault, say). */
export function startCli(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): { child: ChildProcess; done: Promise<CliRun> } {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliRun>((resolve) => {
    child.on("close", (code, signal) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      let json: Record<string, any> | undefined;
      try {
        json = JSON.parse(last);
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
  return { child, done };
}

export const runCli = (args: string[], env?: Record<string, string>, nodeArgs?: string[]): Promise<CliRun> => startCli(args, env, nodeArgs).done;
