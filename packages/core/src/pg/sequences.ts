import { literal, qname } from "./sql.js";
import type { Queryable } from "./query-pool.js";

/** A sequence by name (schema/model.ts holds the same shape). */
interface SequenceRef {
  schema: string;
  name: string;
}

export interface SequenceState extends SequenceRef {
  /** bigint as text: sequences go past 2^53. */
  lastValue: string;
  isCalled: boolean;
}

/** Reads every sequence's state in the caller's snapshot, 500 per query. */
export async function readSequenceStates(client: Queryable, sequences: readonly SequenceRef[]): Promise<SequenceState[]> {
  const out: SequenceState[] = [];
  for (let i = 0; i < sequences.length; i += 500) {
    const batch = sequences.slice(i, i + 500);
    const sql = batch
      .map((s, j) => `SELECT ${j} AS i, last_value::text AS v, is_called AS c FROM ${qname(s.schema, s.name)}`)
      .join(" UNION ALL ");
    const r = await client.query<{ i: number; v: string; c: boolean }>(sql);
    for (const row of r.rows) out.push({ ...batch[row.i]!, lastValue: row.v, isCalled: row.c });
  }
  return out;
}

export const setvalSql = (s: SequenceState): string =>
  `SELECT pg_catalog.setval(${literal(qname(s.schema, s.name))}, ${s.lastValue}, ${s.isCalled});`;
