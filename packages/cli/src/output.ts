import { redactSecrets } from "@cobalt-backup/core";

/** Exit codes: scripts and cron wrappers tell these apart. */
export const EXIT = { ok: 0, failed: 1, usage: 2, verifyFailed: 3 } as const;

export interface Output {
  /** A structured event: a JSON line on stderr when not a TTY or with --json, else a plain line. */
  event(name: string, fields?: Record<string, unknown>): void;
  /** The live progress line on a TTY (throttled); nothing otherwise. */
  progress(text: string): void;
  /** The command's result: JSON as the last stdout line with --json, else the human text. */
  result(value: Record<string, unknown>, human: string): void;
  /** A failure: one line on stderr (and a JSON object on stdout with --json); sets the exit code. */
  fail(message: string, code: number, details?: Record<string, unknown>): void;
}

export function createOutput(opts: { json?: boolean }): Output {
  const tty = !opts.json && Boolean(process.stderr.isTTY);
  let lastDraw = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) process.stderr.write("\r\x1b[2K");
    drawn = false;
  };
  return {
    event(name, fields = {}) {
      if (tty) {
        clear();
        const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
        process.stderr.write(redactSecrets(`${name}${extra ? ` ${extra}` : ""}`) + "\n");
      } else {
        process.stderr.write(redactSecrets(JSON.stringify({ time: new Date().toISOString(), level: "info", event: name, ...fields })) + "\n");
      }
    },
    progress(text) {
      if (!tty) return;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      process.stderr.write(`\r\x1b[2K${redactSecrets(text)}`);
      drawn = true;
    },
    result(value, human) {
      clear();
      if (opts.json) process.stdout.write(redactSecrets(JSON.stringify({ ok: true, ...value })) + "\n");
      else process.stdout.write(redactSecrets(human) + "\n");
    },
    fail(message, code, details = {}) {
      clear();
      process.stderr.write(`cobalt-backup: error: ${redactSecrets(message)}\n`);
      if (opts.json) process.stdout.write(redactSecrets(JSON.stringify({ ok: false, error: { message, ...details } })) + "\n");
      process.exitCode = code;
    },
  };
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
export function bytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${UNITS[i]}`;
}

export const count = (n: number): string => n.toLocaleString("en-US");

/** Left-aligned text table for per-table reports. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
