/**
 * Acceptance 1: pagila and chinook, on PostgreSQL 15 and 17, backed up to file://, restored into a
 * fresh database, are indistinguishable from the source by the design.md oracle.
 */
import { describe, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import type { Major } from "./support/postgres.ts";
import { inventory, restore, tempStore } from "./support/roundtrip.ts";

const cases: [Major, "pagila" | "chinook"][] = [
  [15, "pagila"],
  [15, "chinook"],
  [17, "pagila"],
  [17, "chinook"],
];

describe.each(cases)("PostgreSQL %i, %s", (major, corpus) => {
  it("backs up, restores, and the restored database is identical to the source", async () => {
    const pgc = cluster(major);
    const sourceDb = await pgc.newDatabase(`src_${corpus}`, `${corpus}_tpl`);
    // Large objects (one spanning several read chunks) and a sequence that was set but not called.
    await pgc.query(sourceDb, `SELECT lo_from_bytea(0, 'small large object'::bytea), lo_from_bytea(0, decode(repeat('00ff7f', 1200000), 'hex'))`);
    const seq = (await pgc.query<{ s: string }>(sourceDb, `SELECT pg_get_serial_sequence(quote_ident(table_schema) || '.' || quote_ident(table_name), column_name) AS s FROM information_schema.columns WHERE column_default LIKE 'nextval%' LIMIT 1`))[0]?.s;
    if (seq) await pgc.query(sourceDb, `SELECT setval('${seq}', 4242, false)`);

    const dest = tempStore();
    const backupRun = await runCli(["backup", "--source", pgc.url(sourceDb), "--dest", dest, "--jobs", "4", "--json"]);
    expect(backupRun.code, backupRun.stderr).toBe(0);
    const id = backupRun.json!.id as string;
    expect(id).toMatch(new RegExp(`^${sourceDb}/\\d{8}T\\d{6}\\.\\d{3}Z$`));
    expect(backupRun.json!.largeObjects).toBe(2);

    const targetDb = await pgc.newDatabase(`dst_${corpus}`);
    await restore(dest, id, pgc.url(targetDb));

    if (major === 15) expect(pgDumpSchema(pgc.url(targetDb))).toEqual(pgDumpSchema(pgc.url(sourceDb)));
    expect(await inventory(pgc.url(targetDb))).toEqual(await inventory(pgc.url(sourceDb)));
    const [src, dst] = [await dataDigest(pgc.url(sourceDb)), await dataDigest(pgc.url(targetDb))];
    expect(Object.keys(src.tables).length).toBeGreaterThan(5);
    expect(Object.keys(src.largeObjects)).toHaveLength(2);
    if (seq) expect(Object.values(src.sequences)).toContain("4242/false");
    expect(dst).toEqual(src);

    const verify = await runCli(["verify", "--from", dest, "--backup", id, "--target", pgc.url(), "--json"]);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.json!.report.ok).toBe(true);
    expect(verify.json!.report.tables.every((t: { ok: boolean }) => t.ok)).toBe(true);
    const list = await runCli(["list", "--from", dest, "--json"]);
    expect(list.json!.backups).toEqual([expect.objectContaining({ id, verified: true })]);
  });
});
