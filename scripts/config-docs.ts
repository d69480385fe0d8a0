/**
 * Writes docs/configuration.md from the configuration schema, so the reference cannot drift:
 * `pnpm docs:config` (test/config-docs.test.ts fails when the committed file is stale).
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { configSchema } from "../packages/cli/src/config/config-schema.ts";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

const typeOf = (s: JsonSchema): string => {
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (s.anyOf) return s.anyOf.map(typeOf).join(" \\| ");
  if (s.type === "array") return `${typeOf(s.items ?? {})}[]`;
  return String(s.type ?? "object");
};

export function renderConfigDocs(): string {
  const root = z.toJSONSchema(configSchema, { io: "input" }) as JsonSchema;
  const rows: string[] = [];
  const walk = (node: JsonSchema, path: string, required: boolean) => {
    const obj = node.anyOf?.find((a) => a.properties) ?? node;
    if (path) {
      const dflt = node.default !== undefined ? `\`${JSON.stringify(node.default)}\`` : "";
      rows.push(`| \`${path}\` | ${obj.properties ? "object" : typeOf(node)} | ${required ? "yes" : ""} | ${dflt} | ${(node.description ?? obj.description ?? "").replace(/\|/g, "\\|")} |`);
    }
    for (const [k, child] of Object.entries(obj.properties ?? {})) walk(child, path ? `${path}.${k}` : k, (obj.required ?? []).includes(k) && child.default === undefined);
  };
  walk(root, "", true);
  return `# Configuration reference

\`cobalt-backup run --config cobalt-backup.config.json\` reads one JSON file. Unknown or misspelt
keys are errors that name the key. \`cobalt-backup config check\` prints the effective configuration
with secrets masked and checks the store, the source and the keys without changing anything.
A complete example is in [examples/cobalt-backup.config.json](../examples/cobalt-backup.config.json).

Environment: \`RDS_HOSTNAME\`, \`RDS_PORT\`, \`RDS_DB_NAME\`, \`RDS_USERNAME\`, \`RDS_PASSWORD\` make
the source when the file names none. The AWS SDK reads \`AWS_PROFILE\`, \`AWS_REGION\`,
\`AWS_ACCESS_KEY_ID\`, \`AWS_SECRET_ACCESS_KEY\`, \`AWS_ENDPOINT_URL_S3\` and \`AWS_ENDPOINT_URL_RDS\`.

What \`run\`'s exit codes mean is in the README's [Exit codes](../README.md#exit-codes).

This file is generated from the schema in \`packages/cli/src/config/config-schema.ts\` by
\`pnpm docs:config\`.

| key | type | required | default | meaning |
|---|---|---|---|---|
${rows.join("\n")}
`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(new URL("../docs/configuration.md", import.meta.url), renderConfigDocs());
}
