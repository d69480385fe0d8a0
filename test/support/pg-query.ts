import pg from "pg";

/** One query on a fresh connection to `url`. */
export async function queryOnce<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params?: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params as unknown[])).rows;
  } finally {
    await client.end();
  }
}
