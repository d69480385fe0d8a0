/**
 * The roles SQL of a restore into a fresh server, written twice: in core (restore --create-roles,
 * export-sql --create-roles) and in jq inside docs/restore-without-cobalt.sh (CREATE_ROLES=1),
 * which has no Node. Both must write the same statements; the servers' behaviour is tested in
 * test/roles.test.ts and test/disaster-recovery.test.ts.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createRoleSql, createRolesScript, grantMembershipSql, type RoleSpec } from "@cobalt-backup/core";
import { repoRoot } from "../support/corpus.ts";

const role = (name: string, over: Partial<RoleSpec> = {}): RoleSpec => ({
  name,
  superuser: false,
  inherit: true,
  createRole: false,
  createDb: false,
  login: false,
  replication: false,
  bypassRls: false,
  connectionLimit: -1,
  validUntil: null,
  memberOf: [],
  ...over,
});

const ROLES: RoleSpec[] = [
  role("app owner", { login: true, createDb: true, connectionLimit: 5, memberOf: [{ role: "readers", admin: true }] }),
  role(`o'brien "$cobalt$"`, { login: true, inherit: false, validUntil: "2030-01-01T00:00:00.000000Z", memberOf: [{ role: "readers", admin: false, inherit: true, set: false }] }),
  role("readers", { bypassRls: true, replication: true, createRole: true, superuser: true, memberOf: [{ role: "pg_read_all_data", admin: false }] }),
];

/** The script's jq definitions, as the script itself passes them to jq. */
function scriptRoles(login: boolean): string {
  const script = readFileSync(join(repoRoot, "docs/restore-without-cobalt.sh"), "utf8");
  const defs = /^defs=\$\(\n\s*cat <<'EOF'\n([\s\S]*?)\nEOF\n\)/m.exec(script)![1]!;
  return execFileSync("jq", ["-r", "--arg", "login", login ? "1" : "", `${defs}\nroles_script($login != "")`], { input: JSON.stringify({ items: [], roles: ROLES }), encoding: "utf8" });
}

it("restore-without-cobalt.sh renders the same role statements as core, NOLOGIN and LOGIN", () => {
  for (const login of [false, true]) {
    expect(scriptRoles(login)).toBe(createRolesScript(ROLES, { login }).join("\n") + "\n");
  }
});

it("statements: NOLOGIN unless asked, the source's attributes, no password; membership options only where needed", () => {
  expect(createRoleSql(ROLES[0]!, { login: false })).toBe(`CREATE ROLE "app owner" NOLOGIN CREATEDB CONNECTION LIMIT 5`);
  expect(createRoleSql(ROLES[0]!, { login: true })).toBe(`CREATE ROLE "app owner" LOGIN CREATEDB CONNECTION LIMIT 5`);
  expect(createRoleSql(ROLES[2]!, { login: true })).toBe(`CREATE ROLE "readers" NOLOGIN SUPERUSER CREATEROLE REPLICATION BYPASSRLS`);
  expect(createRoleSql(ROLES[1]!, { login: false })).toBe(`CREATE ROLE "o'brien ""$cobalt$""" NOLOGIN NOINHERIT VALID UNTIL '2030-01-01T00:00:00.000000Z'`);
  expect(grantMembershipSql("app owner", ROLES[0]!.memberOf[0]!)).toBe(`GRANT "readers" TO "app owner" WITH ADMIN OPTION`);
  expect(grantMembershipSql("x", ROLES[1]!.memberOf[0]!)).toBe(`GRANT "readers" TO "x" WITH INHERIT TRUE, SET FALSE`);
  expect(grantMembershipSql("readers", ROLES[2]!.memberOf[0]!)).toBe(`GRANT "pg_read_all_data" TO "readers"`);
  for (const sql of createRolesScript(ROLES, { login: true })) expect(sql).not.toMatch(/PASSWORD/i);
});
