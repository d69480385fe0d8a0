import { readFileSync } from "node:fs";
import { z } from "zod";
import { UsageError } from "../usage-error.js";
import { configSchema, type Config } from "./config-schema.js";

/** Levenshtein distance, for "did you mean" on misspelt keys. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)] as number[]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** The keys the schema allows at a path, for suggestions. */
function knownKeys(path: (string | number | symbol)[]): string[] {
  let node: z.ZodType = configSchema;
  for (const p of path) {
    const shape = unwrap(node) as { shape?: Record<string, z.ZodType> };
    node = shape.shape?.[String(p)] ?? node;
  }
  return Object.keys((unwrap(node) as { shape?: object }).shape ?? {});
}
function unwrap(t: z.ZodType): z.ZodType {
  let cur = t as unknown as { def?: { innerType?: z.ZodType; in?: z.ZodType; schema?: z.ZodType } };
  for (let i = 0; i < 6 && cur.def && (cur.def.innerType || cur.def.in || cur.def.schema); i++) cur = (cur.def.innerType ?? cur.def.in ?? cur.def.schema) as typeof cur;
  return cur as unknown as z.ZodType;
}

/** One line per problem, each saying where and what to do. */
export function describeConfigErrors(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length ? issue.path.join(".") : "the top level";
    if (issue.code === "unrecognized_keys") {
      return issue.keys
        .map((k) => {
          const near = knownKeys(issue.path).map((c) => [c, distance(k, c)] as const).sort((a, b) => a[1] - b[1])[0];
          const hint = near && near[1] <= 3 ? `; did you mean "${near[0]}"?` : `; allowed keys: ${knownKeys(issue.path).join(", ")}`;
          return `unknown key "${[...issue.path, k].join(".")}"${hint}`;
        })
        .join("\n");
    }
    return `${where}: ${issue.message}`;
  });
}

/**
 * Reads the configuration file, fills in from the variables operators already use (RDS_HOSTNAME,
 * RDS_PORT, RDS_DB_NAME, RDS_USERNAME, RDS_PASSWORD for a direct source; AWS_* are read by the AWS
 * SDK itself), and validates it. Any problem is a UsageError listing every issue.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(code === "ENOENT" ? `no configuration file ${path}: create one (see docs/configuration.md) or pass --config` : `${path} is not valid JSON: ${(e as Error).message}`);
  }
  const obj = (raw && typeof raw === "object" ? raw : {}) as Record<string, unknown>;
  const source = (obj.source ?? {}) as Record<string, unknown>;
  if (!source.url && !source.rdsInstance && env.RDS_HOSTNAME) {
    const user = encodeURIComponent(env.RDS_USERNAME ?? "postgres");
    const pass = env.RDS_PASSWORD ? `:${encodeURIComponent(env.RDS_PASSWORD)}` : "";
    obj.source = { ...source, url: `postgresql://${user}${pass}@${env.RDS_HOSTNAME}:${env.RDS_PORT ?? 5432}/${encodeURIComponent(env.RDS_DB_NAME ?? "postgres")}` };
  }
  const parsed = configSchema.safeParse(obj);
  if (!parsed.success) throw new UsageError(`${path}: ${describeConfigErrors(parsed.error).join("\n")}`);
  return parsed.data;
}

/** The configuration as `config check` prints it: passwords, tokens and webhook paths masked. */
export function maskConfig(c: Config): unknown {
  const maskUrl = (u: string | undefined, path: boolean) => {
    if (!u) return u;
    try {
      const url = new URL(u);
      if (url.password) url.password = "***";
      if (path && (url.pathname.length > 1 || url.search)) return `${url.protocol}//${url.host}/***`;
      return url.href;
    } catch {
      return "***";
    }
  };
  return {
    ...c,
    source: { ...c.source, url: maskUrl(c.source.url, false) },
    ...(c.verify ? { verify: { ...c.verify, target: maskUrl(c.verify.target, false) } } : {}),
    ...(c.notify ? { notify: { ...c.notify, webhook: maskUrl(c.notify.webhook, true), heartbeatUrl: maskUrl(c.notify.heartbeatUrl, true) } } : {}),
  };
}
