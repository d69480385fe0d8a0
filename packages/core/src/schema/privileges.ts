import type { Queryable } from "../pg/query-pool.js";
import { USER_NAMESPACE, ident, notExtensionMember, notInternal, rows } from "./catalog.js";
import type { DdlItem } from "./model.js";

/**
 * Ownership and privileges: `ALTER ... OWNER TO` for every object, and the GRANTs and REVOKEs
 * that turn the object's default ACL (`acldefault`) into the one it has, as pg_dump computes
 * them. They form their own section, applied last and only where the roles exist on the target.
 */
interface AclRow {
  /** Keyword for ALTER ... OWNER TO (TABLE, VIEW, FUNCTION, ...), or null when ownership is not ours to set. */
  alter_kind: string | null;
  /** Keyword for GRANT ... ON <kind> (TABLE, SEQUENCE, FUNCTION, ...). */
  grant_kind: string;
  /** The object as SQL, qualified, with a signature for routines. */
  name: string;
  /** Display name for reports. */
  display: string;
  owner: string;
  /** Column privileges name the column here; GRANT SELECT (col) ON TABLE t. */
  column: string | null;
  changes: { op: "grant" | "revoke"; grantee: string | null; priv: string; grantable: boolean }[];
}

/** SQL for the ACL changes of one object: what its ACL adds to and removes from the default. */
const aclChanges = (acl: string, objtype: string, owner: string) => `
  (SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_object(
            'op', x.op, 'grantee', CASE WHEN x.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(x.grantee) END,
            'priv', x.privilege_type, 'grantable', x.is_grantable) ORDER BY x.op DESC, x.grantee, x.privilege_type), '[]')
     FROM (SELECT 'revoke' AS op, * FROM (
             SELECT grantee, privilege_type, is_grantable FROM pg_catalog.aclexplode(pg_catalog.acldefault(${objtype}, ${owner}))
             EXCEPT SELECT grantee, privilege_type, is_grantable FROM pg_catalog.aclexplode(${acl})) r
           UNION ALL
           SELECT 'grant', * FROM (
             SELECT grantee, privilege_type, is_grantable FROM pg_catalog.aclexplode(${acl})
             EXCEPT SELECT grantee, privilege_type, is_grantable FROM pg_catalog.aclexplode(pg_catalog.acldefault(${objtype}, ${owner}))) g) x)`;

/**
 * A sequence owned by a table column (serial, OWNED BY) always has the table's owner:
 * `ALTER TABLE ... OWNER TO` moves it along, and PostgreSQL rejects `ALTER SEQUENCE ... OWNER TO`
 * on it by design ("cannot change owner of sequence"). So no owner statement is emitted for it.
 * (Identity sequences are left out of this query altogether.)
 */
const OWNED_BY_COLUMN = `(c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype = 'a'))`;

export async function capturePrivileges(client: Queryable): Promise<DdlItem[]> {
  const list = await rows<AclRow>(
    client,
    `SELECT CASE WHEN ${OWNED_BY_COLUMN} THEN NULL
                 ELSE CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END END AS alter_kind,
            CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS grant_kind,
            pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS name,
            n.nspname || '.' || c.relname AS display, pg_catalog.pg_get_userbyid(c.relowner) AS owner, NULL AS column,
            CASE WHEN c.relacl IS NULL THEN '[]'::json ELSE ${aclChanges("c.relacl", `CASE c.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END`, "c.relowner")} END AS changes
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND ${USER_NAMESPACE} AND ${notExtensionMember("pg_class", "c.oid")}
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i')
     UNION ALL
     SELECT NULL, 'TABLE', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),
            n.nspname || '.' || c.relname || '.' || a.attname, pg_catalog.pg_get_userbyid(c.relowner), a.attname,
            ${aclChanges("a.attacl", `'c'::"char"`, "c.relowner")}
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped AND ${USER_NAMESPACE} AND ${notExtensionMember("pg_class", "c.oid")}
     UNION ALL
     SELECT CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
            CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END,
            pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
            n.nspname || '.' || p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')',
            pg_catalog.pg_get_userbyid(p.proowner), NULL,
            CASE WHEN p.proacl IS NULL THEN '[]'::json ELSE ${aclChanges("p.proacl", `'f'::"char"`, "p.proowner")} END
       FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_proc", "p.oid")} AND ${notInternal("pg_proc", "p.oid")}
     UNION ALL
     SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END,
            pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(t.typname), n.nspname || '.' || t.typname,
            pg_catalog.pg_get_userbyid(t.typowner), NULL,
            CASE WHEN t.typacl IS NULL THEN '[]'::json ELSE ${aclChanges("t.typacl", `'T'::"char"`, "t.typowner")} END
       FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_type", "t.oid")}
        AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c'))
     UNION ALL
     SELECT CASE WHEN n.nspname = 'public' THEN NULL ELSE 'SCHEMA' END, 'SCHEMA', pg_catalog.quote_ident(n.nspname), n.nspname,
            pg_catalog.pg_get_userbyid(n.nspowner), NULL,
            CASE WHEN n.nspacl IS NULL THEN '[]'::json ELSE ${aclChanges("n.nspacl", `'n'::"char"`, "n.nspowner")} END
       FROM pg_catalog.pg_namespace n WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_namespace", "n.oid")}
     UNION ALL
     SELECT 'COLLATION', 'COLLATION', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.collname), n.nspname || '.' || c.collname,
            pg_catalog.pg_get_userbyid(c.collowner), NULL, '[]'::json
       FROM pg_catalog.pg_collation c JOIN pg_catalog.pg_namespace n ON n.oid = c.collnamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_collation", "c.oid")}
     UNION ALL
     SELECT 'STATISTICS', 'STATISTICS', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(s.stxname), n.nspname || '.' || s.stxname,
            pg_catalog.pg_get_userbyid(s.stxowner), NULL, '[]'::json
       FROM pg_catalog.pg_statistic_ext s JOIN pg_catalog.pg_namespace n ON n.oid = s.stxnamespace
      WHERE ${USER_NAMESPACE} AND ${notExtensionMember("pg_statistic_ext", "s.oid")}
     UNION ALL
     SELECT 'LARGE OBJECT', 'LARGE OBJECT', l.oid::text, 'large object ' || l.oid, pg_catalog.pg_get_userbyid(l.lomowner), NULL,
            CASE WHEN l.lomacl IS NULL THEN '[]'::json ELSE ${aclChanges("l.lomacl", `'L'::"char"`, "l.lomowner")} END
       FROM pg_catalog.pg_largeobject_metadata l`,
  );
  const items: DdlItem[] = [];
  for (const r of list) {
    if (r.alter_kind) {
      items.push(privilegeItem("owner", r.display, `ALTER ${r.alter_kind} ${r.name} OWNER TO ${ident(r.owner)};`, [r.owner]));
    }
    const statements = r.changes.map((c) => {
      const on = `${c.priv}${r.column ? ` (${ident(r.column)})` : ""} ON ${r.grant_kind} ${r.name}`;
      const who = c.grantee == null ? "PUBLIC" : ident(c.grantee);
      return c.op === "revoke" ? `REVOKE ${on} FROM ${who};` : `GRANT ${on} TO ${who}${c.grantable ? " WITH GRANT OPTION" : ""};`;
    });
    if (statements.length) {
      const roles = [...new Set(r.changes.map((c) => c.grantee).filter((g): g is string => g != null))];
      items.push(privilegeItem("acl", r.display, statements.join("\n"), roles));
    }
  }
  items.push(...(await defaultPrivileges(client)));
  return items;
}

const privilegeItem = (kind: "owner" | "acl" | "default acl", name: string, sql: string, roles: string[]): DdlItem => ({
  id: `${kind} ${name}`,
  kind,
  name,
  section: "privileges",
  phase: 0,
  sql,
  catalogKeys: [],
  roles,
});

/** ALTER DEFAULT PRIVILEGES: what future objects of a role (in a schema) get granted. */
async function defaultPrivileges(client: Queryable): Promise<DdlItem[]> {
  const list = await rows<{ role: string; schema: string | null; objtype: string; changes: AclRow["changes"] }>(
    client,
    `SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS role, n.nspname AS schema, d.defaclobjtype AS objtype,
            CASE WHEN d.defaclnamespace = 0
                 THEN ${aclChanges("d.defaclacl", `CASE d.defaclobjtype WHEN 'S' THEN 's'::"char" ELSE d.defaclobjtype END`, "d.defaclrole")}
                 ELSE (SELECT pg_catalog.json_agg(pg_catalog.json_build_object('op', 'grant',
                         'grantee', CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee) END,
                         'priv', e.privilege_type, 'grantable', e.is_grantable) ORDER BY e.grantee, e.privilege_type)
                         FROM pg_catalog.aclexplode(d.defaclacl) e) END AS changes
       FROM pg_catalog.pg_default_acl d LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace
      ORDER BY 1, 2, 3`,
  );
  const objects: Record<string, string> = { r: "TABLES", S: "SEQUENCES", f: "FUNCTIONS", T: "TYPES", n: "SCHEMAS" };
  return list
    .filter((d) => d.changes?.length)
    .map((d) => {
      const scope = `ALTER DEFAULT PRIVILEGES FOR ROLE ${ident(d.role)}${d.schema ? ` IN SCHEMA ${ident(d.schema)}` : ""}`;
      const what = objects[d.objtype] ?? "TABLES";
      const sql = d.changes
        .map((c) => {
          const who = c.grantee == null ? "PUBLIC" : ident(c.grantee);
          return c.op === "revoke" ? `${scope} REVOKE ${c.priv} ON ${what} FROM ${who};` : `${scope} GRANT ${c.priv} ON ${what} TO ${who}${c.grantable ? " WITH GRANT OPTION" : ""};`;
        })
        .join("\n");
      const roles = [d.role, ...d.changes.map((c) => c.grantee).filter((g): g is string => g != null)];
      return privilegeItem("default acl", `${d.role}${d.schema ? ` in ${d.schema}` : ""} on ${what.toLowerCase()}`, sql, [...new Set(roles)]);
    });
}
