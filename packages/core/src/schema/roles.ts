import type { Queryable } from "../pg/query-pool.js";
import { dollarQuote, ident, literal } from "../pg/sql.js";
import { rows } from "./catalog.js";
import type { DdlItem } from "./model.js";

/**
 * The roles a database uses, so that a restore into a fresh server can create them: pg_dump
 * leaves roles to pg_dumpall, which needs a superuser (RDS gives none) and dumps the whole
 * cluster. Attributes and memberships only: never a password (RDS does not expose them).
 */
export interface RoleSpec {
  name: string;
  superuser: boolean;
  inherit: boolean;
  createRole: boolean;
  createDb: boolean;
  /** Could log in on the source; restores create roles NOLOGIN unless asked otherwise. */
  login: boolean;
  replication: boolean;
  bypassRls: boolean;
  /** -1: no limit. */
  connectionLimit: number;
  validUntil: string | null;
  /** Roles this one is a member of: captured ones, or predefined `pg_*` roles. */
  memberOf: RoleMembership[];
}

export interface RoleMembership {
  role: string;
  admin: boolean;
  /** PostgreSQL 16+ grant options, present only where they differ from what a plain GRANT gives. */
  inherit?: boolean;
  set?: boolean;
}

/** How restore and export create roles: NOLOGIN, or LOGIN where the source's role had it. */
export interface CreateRolesOptions {
  login: boolean;
}

/**
 * Reads the roles the connected database uses: those its objects name (owners, GRANTs,
 * default privileges, policies: `roles` of the privilege items and pg_shdepend), plus every
 * role that is a member of one of them, directly or not (the login roles an application uses
 * through a group). Predefined `pg_*` roles exist on every server and are not captured.
 */
export async function captureRoles(client: Queryable, items: readonly DdlItem[], versionNum: number): Promise<RoleSpec[]> {
  const named = [...new Set(items.flatMap((i) => i.roles ?? []))];
  const list = await rows<Omit<RoleSpec, "memberOf"> & { oid: number }>(
    client,
    `WITH RECURSIVE used AS (
       SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = ANY ($1::text[])
       UNION
       SELECT d.refobjid FROM pg_catalog.pg_shdepend d
        WHERE d.refclassid = 'pg_catalog.pg_authid'::pg_catalog.regclass
          AND d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
     ), closure AS (
       SELECT oid FROM used
       UNION
       SELECT m.member FROM pg_catalog.pg_auth_members m JOIN closure c ON m.roleid = c.oid
     )
     SELECT r.oid, r.rolname AS name, r.rolsuper AS superuser, r.rolinherit AS inherit, r.rolcreaterole AS "createRole",
            r.rolcreatedb AS "createDb", r.rolcanlogin AS login, r.rolreplication AS replication, r.rolbypassrls AS "bypassRls",
            r.rolconnlimit AS "connectionLimit",
            CASE WHEN r.rolvaliduntil IS NULL THEN NULL ELSE pg_catalog.to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END AS "validUntil"
       FROM pg_catalog.pg_roles r JOIN closure c ON c.oid = r.oid
      WHERE r.rolname !~ '^pg_'
      ORDER BY r.rolname`,
    [named],
  );
  const oids = list.map((r) => r.oid);
  const options = versionNum >= 160000 ? "m.inherit_option AS inherit, m.set_option AS set" : "NULL::boolean AS inherit, NULL::boolean AS set";
  const grants = await rows<{ role: string; member: string; admin: boolean; inherit: boolean | null; set: boolean | null }>(
    client,
    `SELECT g.rolname AS role, u.rolname AS member, m.admin_option AS admin, ${options}
       FROM pg_catalog.pg_auth_members m
       JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
       JOIN pg_catalog.pg_roles u ON u.oid = m.member
      WHERE m.member = ANY ($1::oid[]) AND (m.roleid = ANY ($1::oid[]) OR g.rolname ~ '^pg_')
      ORDER BY 2, 1`,
    [oids],
  );
  return list.map(({ oid: _oid, ...r }) => {
    // PostgreSQL 16+ may hold one membership granted by several grantors: their options add up.
    const byRole = new Map<string, RoleMembership>();
    for (const g of grants.filter((x) => x.member === r.name)) {
      const m = byRole.get(g.role) ?? { role: g.role, admin: false };
      m.admin ||= g.admin;
      if (g.inherit !== null && g.inherit !== r.inherit) m.inherit = g.inherit;
      if (g.set === false) m.set = false;
      byRole.set(g.role, m);
    }
    return { ...r, memberOf: [...byRole.values()] };
  });
}

/** `CREATE ROLE` with the source's attributes; NOLOGIN unless `login` and the source's role could log in. No password. */
export function createRoleSql(r: RoleSpec, opts: CreateRolesOptions): string {
  const attrs = [opts.login && r.login ? "LOGIN" : "NOLOGIN"];
  if (r.superuser) attrs.push("SUPERUSER");
  if (!r.inherit) attrs.push("NOINHERIT");
  if (r.createRole) attrs.push("CREATEROLE");
  if (r.createDb) attrs.push("CREATEDB");
  if (r.replication) attrs.push("REPLICATION");
  if (r.bypassRls) attrs.push("BYPASSRLS");
  if (r.connectionLimit !== -1) attrs.push(`CONNECTION LIMIT ${r.connectionLimit}`);
  if (r.validUntil) attrs.push(`VALID UNTIL ${literal(r.validUntil)}`);
  return `CREATE ROLE ${ident(r.name)} ${attrs.join(" ")}`;
}

/** `GRANT role TO member`, with the options the source's membership had. */
export function grantMembershipSql(member: string, m: RoleMembership): string {
  const grant = `GRANT ${ident(m.role)} TO ${ident(member)}`;
  if (m.inherit === undefined && m.set === undefined) return m.admin ? `${grant} WITH ADMIN OPTION` : grant;
  // The option list is PostgreSQL 16+ syntax: only a membership that needs it uses it.
  const options = [m.admin ? "ADMIN TRUE" : "", m.inherit === undefined ? "" : `INHERIT ${m.inherit ? "TRUE" : "FALSE"}`, m.set === false ? "SET FALSE" : ""].filter(Boolean);
  return `${grant} WITH ${options.join(", ")}`;
}

const roleExists = (name: string) => `EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = ${literal(name)})`;

/** Whether `member` is directly a member of `role` (SQL), as restore also checks before granting. */
export const DIRECT_MEMBERSHIP = `EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m
   JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member
  WHERE g.rolname = $1 AND u.rolname = $2)`;
const directMembership = (role: string, member: string) => DIRECT_MEMBERSHIP.replace("$1", literal(role)).replace("$2", literal(member));

/**
 * The roles as a SQL script for psql (export-sql, and restore-without-cobalt.sh renders the
 * same): each missing role created, then each membership granted where both roles exist and
 * the member is not one already, each in a DO block whose failure (a role the user may not
 * create, an option the server does not know) is a WARNING, never an aborted script.
 */
export function createRolesScript(roles: readonly RoleSpec[], opts: CreateRolesOptions): string[] {
  const block = (what: string, condition: string, sql: string) => {
    const body = `BEGIN\n  IF ${condition} THEN\n    EXECUTE ${literal(sql)};\n  END IF;\nEXCEPTION WHEN OTHERS THEN\n  RAISE WARNING 'cobalt-backup: skipped %: %', ${literal(what)}, SQLERRM;\nEND\n`;
    const tag = dollarQuote(body);
    return `DO ${tag}\n${body}${tag};\n`;
  };
  return [
    ...roles.map((r) => block(`role ${r.name}`, `NOT ${roleExists(r.name)}`, createRoleSql(r, opts))),
    ...roles.flatMap((r) =>
      r.memberOf.map((m) =>
        block(
          `membership of ${r.name} in ${m.role}`,
          `${roleExists(r.name)} AND ${roleExists(m.role)} AND NOT ${directMembership(m.role, r.name)}`,
          grantMembershipSql(r.name, m),
        ),
      ),
    ),
  ];
}
