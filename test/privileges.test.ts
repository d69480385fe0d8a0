/**
 * Owners, GRANTs, REVOKEs, column privileges, default privileges and large-object ACLs come back
 * where the roles exist (pg_dump with owners and privileges is identical), can be left out like
 * pg_restore's --no-owner --no-privileges, and a target without the roles still gets everything
 * else, with the skipped statements reported.
 */
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { psqlFile, repoRoot } from "./support/corpus.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

const FIXTURE = join(repoRoot, "test/corpus/privileges.sql");
const LO_ACL = `SELECT pg_get_userbyid(lomowner) AS owner, lomacl::text AS acl FROM pg_largeobject_metadata WHERE oid = 777001`;

it("restores owners and privileges where the roles exist, skips them on request or when roles are missing", async () => {
  const [pg15, pg17] = [cluster(15), cluster(17)];
  const source = await pg15.newDatabase("privs");
  psqlFile(pg15.url(source), FIXTURE);
  const dest = tempStore();
  const id = await backup(pg15.url(source), dest);

  const full = await pg15.newDatabase("privs_full");
  const r1 = await runCli(["restore", "--from", dest, "--backup", id, "--target", pg15.url(full), "--json"]);
  expect(r1.code, r1.stderr).toBe(0);
  expect(r1.json!.skippedPrivileges).toEqual([]);
  expect(pgDumpSchema(pg15.url(full), { ownersAndPrivileges: true })).toEqual(pgDumpSchema(pg15.url(source), { ownersAndPrivileges: true }));
  expect(await pg15.query(full, LO_ACL)).toEqual(await pg15.query(source, LO_ACL));
  expect((await pg15.query(full, LO_ACL))[0]).toMatchObject({ owner: "cobalt_app_owner", acl: expect.stringContaining("cobalt_reader=r/") });

  const bare = await pg15.newDatabase("privs_bare");
  const r2 = await runCli(["restore", "--from", dest, "--backup", id, "--target", pg15.url(bare), "--no-owner", "--no-privileges", "--json"]);
  expect(r2.code, r2.stderr).toBe(0);
  expect(await pg15.query(bare, `SELECT tableowner, has_table_privilege('cobalt_reader', 'shop.orders', 'SELECT') AS reader FROM pg_tables WHERE tablename = 'orders'`)).toEqual([
    { tableowner: "postgres", reader: false },
  ]);

  // PostgreSQL 17 in this run has none of the fixture's roles: data and schema still restore.
  const elsewhere = await pg17.newDatabase("privs_elsewhere");
  const r3 = await runCli(["restore", "--from", dest, "--backup", id, "--target", pg17.url(elsewhere), "--json"]);
  expect(r3.code, r3.stderr).toBe(0);
  expect(r3.json!.skippedPrivileges).toContainEqual({ object: "owner shop.orders", reason: "role cobalt_app_owner does not exist on the target" });
  expect(r3.stderr).toContain("privileges.skipped");
  expect((await dataDigest(pg17.url(elsewhere))).tables).toEqual((await dataDigest(pg15.url(source))).tables);
});
