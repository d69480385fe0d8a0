import { redactSecrets, tagOf } from "@cobalt-backup/core";
import { errorText } from "./error-hints.js";
import { exitCodeFor } from "./exit-codes.js";

export { EXIT } from "./exit-codes.js";

export interface Output {
  /**
   * A structured event: a JSON line on stderr when not a TTY or with --json, else a plain line.
   * `warn` and `error` events are problems the operator must see (a notification not delivered).
   */
  event(name: string, fields?: Record<string, unknown>, level?: "info" | "warn" | "error"): void;
  /**
   * The live progress line on a TTY (throttled, unless `now`: a new table started); nothing
   * otherwise. A function is called only when the line is drawn (progress comes per chunk of rows).
   */
  progress(text: string | (() => string), now?: boolean): void;
  /**
   * Progress inside a long step (a table streaming): with a TTY the progress line shows it, else a
   * JSON line at most every `COBALT_PROGRESS_MS` milliseconds (default 5000).
   */
  tick(name: string, fields: Record<string, unknown>): void;
  /** The command's result: JSON as the last stdout line with --json, else the human text. */
  result(value: Record<string, unknown>, human: string): void;
  /** Human text on stdout (a report before a failure line); nothing with --json, whose stdout is JSON only. */
  text(human: string): void;
  /** A failure: one line on stderr (and a JSON object on stdout with --json); sets the exit code. */
  fail(message: string, code: number, details?: Record<string, unknown>): void;
  /** A core error as a failure: its message (with the flag that helps) after `prefix`, the exit code its tag means. */
  failWith(error: { _tag: string; message: string }, prefix?: string, details?: Record<string, unknown>): void;
}

/** A gate that opens at most once every `intervalMs` (the first call opens it). */
export function throttle(intervalMs: number, now: () => number = Date.now): () => boolean {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    return true;
  };
}

const progressInterval = (): number => {
  const ms = Number(process.env.COBALT_PROGRESS_MS);
  return Number.isFinite(ms) && ms >= 0 ? ms : 5000;
};

export function createOutput(opts: { json?: boolean }): Output {
  const tty = !opts.json && Boolean(process.stderr.isTTY);
  const drawGate = throttle(100);
  const tickGate = throttle(progressInterval());
  let drawn = false;
  const clear = () => {
    if (drawn) process.stderr.write("\r\x1b[2K");
    drawn = false;
  };
  const fail: Output["fail"] = (message, code, details = {}) => {
    clear();
    process.stderr.write(`cobalt-backup: error: ${redactSecrets(message)}\n`);
    if (opts.json) process.stdout.write(redactSecrets(JSON.stringify({ ok: false, error: { message, ...details } })) + "\n");
    process.exitCode = code;
  };
  return {
    event(name, fields = {}, level = "info") {
      if (tty) {
        clear();
        const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
        process.stderr.write(redactSecrets(`${level === "info" ? "" : `cobalt-backup: ${level === "warn" ? "warning" : "error"}: `}${name}${extra ? ` ${extra}` : ""}`) + "\n");
      } else {
        process.stderr.write(redactSecrets(JSON.stringify({ time: new Date().toISOString(), level, event: name, ...fields })) + "\n");
      }
    },
    progress(text, now = false) {
      if (!tty || !(drawGate() || now)) return;
      process.stderr.write(`\r\x1b[2K${redactSecrets(typeof text === "function" ? text() : text)}`);
      drawn = true;
    },
    tick(name, fields) {
      if (!tty && tickGate()) process.stderr.write(redactSecrets(JSON.stringify({ time: new Date().toISOString(), level: "info", event: name, ...fields })) + "\n");
    },
    result(value, human) {
      clear();
      if (opts.json) process.stdout.write(redactSecrets(JSON.stringify({ ok: true, ...value })) + "\n");
      else process.stdout.write(redactSecrets(human) + "\n");
    },
    text(human) {
      if (opts.json) return;
      clear();
      process.stdout.write(redactSecrets(human) + "\n");
    },
    fail,
    failWith(error, prefix, details = {}) {
      // The exit code follows what went wrong (a store's own error under StoreFailed), not where.
      fail(`${prefix ? `${prefix}: ` : ""}${errorText(error)}`, exitCodeFor(tagOf(error)), { tag: error._tag, ...details });
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

/** 1234567 as `1,234,567`; toLocaleString's first call loads locale data (20 ms, at the end of a backup). */
export const count = (n: number): string => {
  const [whole, fraction] = String(Math.abs(n)).split(".");
  return `${n < 0 ? "-" : ""}${whole!.replace(/\B(?=(\d{3})+$)/g, ",")}${fraction ? `.${fraction}` : ""}`;
};

/** Left-aligned text table for per-table reports. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
