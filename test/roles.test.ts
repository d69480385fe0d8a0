/**
 * Issue 16, point 7: a backup carries the roles its database uses (names, attributes,
 * memberships; never a password), and a restore into a fresh server creates them first, so that
 * every owner, GRANT, default privilege and policy applies: nothing skipped, and the full
 * `pg_dump --schema-only` (owners and privileges included) is identical. restore --create-roles
 * and export-sql --create-roles here; restore-without-cobalt.sh (CREATE_ROLES=1) in the
 * disaster-recovery runbook test.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLI, runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { psqlFile, repoRoot } from "./support/corpus.ts";
import { dataDigest, pgDumpSchema } from "./support/oracle.ts";
import { startCluster, type Cluster } from "./support/postgres.ts";
import { backup, tempStore } from "./support/roundtrip.ts";

const LOGIN = `cobalt login ${process.pid}`;
const AUDITOR = `cobalt_auditor_${process.pid}`;
const source = cluster(15);
let db: string;
let dest: string;
let id: string;
const fresh: Cluster[] = [];

const ROLE_FACTS = `
  SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolbypassrls, r.rolconnlimit, r.rolvaliduntil::text AS valid,
         COALESCE((SELECT pg_catalog.string_agg(g.rolname || CASE WHEN m.admin_option THEN ' (admin)' ELSE '' END, ', ' ORDER BY g.rolname)
                     FROM pg_catalog.pg_auth_members m JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid), '') AS member_of
    FROM pg_catalog.pg_roles r WHERE r.rolname = ANY ($1) ORDER BY 1`;
const NAMES = ["cobalt_app_owner", "cobalt_reader", "cobalt writer", LOGIN, AUDITOR];

beforeAll(async () => {
  db = await source.newDatabase("roles_src");
  psqlFile(source.url(db), join(repoRoot, "test/corpus/privileges.sql"));
  await source.query(db, `
    DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${LOGIN}') THEN CREATE ROLE "${LOGIN}" LOGIN PASSWORD 'never-copied' CONNECTION LIMIT 3 VALID UNTIL '2099-01-01 00:00:00+00'; END IF;
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AUDITOR}') THEN CREATE ROLE ${AUDITOR} NOLOGIN BYPASSRLS; END IF;
    END $$;
    GRANT cobalt_reader TO "${LOGIN}" WITH ADMIN OPTION;
    GRANT pg_read_all_data TO "${LOGIN}";
    ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
    CREATE POLICY audit ON shop.orders TO ${AUDITOR} USING (true);`);
  dest = tempStore();
  id = await backup(source.url(db), dest);
  fresh.push(...(await Promise.all([startCluster(15), startCluster(15)])));
});
afterAll(async () => {
  await Promise.all(fresh.map((c) => c.stop()));
});

async function expectSameAsSource(target: Cluster, name: string): Promise<void> {
  expect(pgDumpSchema(target.url(name), { ownersAndPrivileges: true })).toEqual(pgDumpSchema(source.url(db), { ownersAndPrivileges: true }));
  expect(await dataDigest(target.url(name))).toEqual(await dataDigest(source.url(db)));
}

it("a fresh server has none of the roles: restore --create-roles creates them, NOLOGIN, and applies every owner and grant", async () => {
  const target = fresh[0]!;
  expect(await target.query("postgres", ROLE_FACTS, [NAMES])).toEqual([]);
  await target.createDatabase("restored");
  const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", target.url("restored"), "--create-roles", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json!.skippedPrivileges).toEqual([]);
  expect(r.json!.roles).toMatchObject({ skipped: [], memberships: 2 });
  expect([...r.json!.roles.created].sort()).toEqual([...NAMES].sort());
  await expectSameAsSource(target, "restored");

  const created = await target.query("postgres", ROLE_FACTS, [NAMES]);
  const expected = (await source.query("postgres", ROLE_FACTS, [NAMES])).map((row) => ({ ...row, rolcanlogin: false }));
  expect(created).toEqual(expected);
  expect(created.find((x) => x.rolname === LOGIN)).toMatchObject({ rolconnlimit: 3, member_of: "cobalt_reader (admin), pg_read_all_data" });
  // Never a password: the login role has none on the new server.
  expect(await target.query("postgres", "SELECT rolpassword IS NULL AS none FROM pg_authid WHERE rolname = $1", [LOGIN])).toEqual([{ none: true }]);

  // A second restore finds the roles there, creates nothing and still applies everything.
  await target.createDatabase("again");
  const again = await runCli(["restore", "--from", dest, "--backup", id, "--target", target.url("again"), "--create-roles", "--json"]);
  expect(again.code, again.stderr).toBe(0);
  expect(again.json!.roles).toMatchObject({ created: [], memberships: 0, skipped: [] });
  expect(again.json!.skippedPrivileges).toEqual([]);
});

it("export-sql --create-roles --roles-login | psql on another fresh server: the same result, login roles can log in", async () => {
  const target = fresh[1]!;
  await target.createDatabase("restored");
  const cmd = `"${process.execPath}" "${CLI}" export-sql --from "${dest}" --backup "${id}" --create-roles --roles-login | psql -X -q -v ON_ERROR_STOP=1 -d "${target.url("restored")}" -f -`;
  const r = spawnSync("bash", ["-o", "pipefail", "-c", cmd], { encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).not.toContain("skipped");
  await expectSameAsSource(target, "restored");
  expect(await target.query("postgres", ROLE_FACTS, [NAMES])).toEqual(await source.query("postgres", ROLE_FACTS, [NAMES]));
});

it("--roles-login without --create-roles is a usage error", async () => {
  const r = await runCli(["restore", "--from", dest, "--backup", id, "--target", fresh[0]!.url("x"), "--roles-login"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--roles-login goes with --create-roles/);
});
