import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";

/**
 * Runs a plain SQL script of the kind pg_dump writes (statements plus `COPY ... FROM stdin;`
 * blocks ended by `\.`) without psql. Used by `demo` to load its sample database.
 */
export async function runSqlScript(client: pg.Client, script: string): Promise<void> {
  const lines = script.split("\n");
  let sql: string[] = [];
  const flush = async () => {
    const text = sql.join("\n").trim();
    sql = [];
    if (text) await client.query(text);
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^COPY .* FROM stdin;$/.test(line)) {
      await flush();
      const data: string[] = [];
      for (i++; i < lines.length && lines[i] !== "\\."; i++) data.push(lines[i]!);
      const body = data.length ? `${data.join("\n")}\n` : "";
      await pipeline(Readable.from([Buffer.from(body)]), client.query(copyFrom(line.replace(/;$/, ""))));
    } else if (!line.startsWith("\\")) {
      sql.push(line);
    }
  }
  await flush();
}
