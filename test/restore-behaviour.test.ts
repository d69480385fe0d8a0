/**
 * Acceptance 3: triggers never fire on restore, and a FORCE ROW LEVEL SECURITY table with a
 * deny-all policy comes back with all its rows, restored by a non-superuser owner (superusers
 * bypass row security, so only an owner shows the difference).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, expect, it } from "vitest";
import { runCli } from "./support/cli.ts";
import { cluster } from "./support/cluster.ts";
import { dataDigest } from "./support/oracle.ts";

const dir = mkdtempSync(join(tmpdir(), "cobalt-behaviour-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("restores rows exactly as stored: no trigger fires, row security does not hide or reject rows", async () => {
  const pgc = cluster(15);
  const db = await pgc.newDatabase("behaviour");
  await pgc.query(db, `
    CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, touched boolean NOT NULL DEFAULT false);
    CREATE TABLE audit (item int, note text);
    CREATE TABLE secrets (id int PRIMARY KEY, payload text);
    INSERT INTO items SELECT g, 'item ' || g, false FROM generate_series(1, 500) g;
    INSERT INTO audit VALUES (1, 'pre-existing audit row');
    INSERT INTO secrets SELECT g, 'secret ' || g FROM generate_series(1, 300) g;

    CREATE FUNCTION rewrite_item() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.name := upper(NEW.name); NEW.touched := true; RETURN NEW; END $$;
    CREATE FUNCTION audit_item() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO audit VALUES (NEW.id, 'inserted'); RETURN NULL; END $$;
    CREATE TRIGGER items_rewrite BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION rewrite_item();
    CREATE TRIGGER items_audit AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION audit_item();

    ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
    ALTER TABLE secrets FORCE ROW LEVEL SECURITY;
    CREATE POLICY deny_all ON secrets USING (false) WITH CHECK (false);
  `);
  // The triggers are live in the source: prove they would change rows if they fired.
  await pgc.query(db, `INSERT INTO items VALUES (9999, 'probe'); `);
  expect((await pgc.query(db, `SELECT name, touched FROM items WHERE id = 9999`))[0]).toEqual({ name: "PROBE", touched: true });
  await pgc.query(db, `ALTER TABLE items DISABLE TRIGGER items_audit; DELETE FROM items WHERE id = 9999; DELETE FROM audit WHERE note = 'inserted'; ALTER TABLE items ENABLE TRIGGER items_audit;`);

  const dest = pathToFileURL(dir).href;
  const backup = await runCli(["backup", "--source", pgc.url(db), "--dest", dest, "--json"]);
  expect(backup.code, backup.stderr).toBe(0);

  await pgc.query("postgres", `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cobalt_owner') THEN
    CREATE ROLE cobalt_owner LOGIN PASSWORD 'owner-secret' NOSUPERUSER NOBYPASSRLS; END IF; END $$`);
  const target = await pgc.newDatabase("behaviour_restored");
  await pgc.query("postgres", `ALTER DATABASE "${target}" OWNER TO cobalt_owner`);
  const ownerUrl = pgc.url(target).replace(/\/\/postgres:[^@]*@/, "//cobalt_owner:owner-secret@");
  const restore = await runCli(["restore", "--from", dest, "--backup", backup.json!.id, "--target", ownerUrl, "--json"]);
  expect(restore.code, restore.stderr).toBe(0);

  const [src, dst] = [await dataDigest(pgc.url(db)), await dataDigest(pgc.url(target))];
  expect(dst.tables).toEqual(src.tables);
  expect((await pgc.query(target, `SELECT count(*)::int AS n FROM secrets`))[0]).toEqual({ n: 300 });
  expect((await pgc.query(target, `SELECT count(*)::int AS n FROM items WHERE touched OR name <> lower(name)`))[0]).toEqual({ n: 0 });
  expect(await pgc.query(target, `SELECT item, note FROM audit`)).toEqual([{ item: 1, note: "pre-existing audit row" }]);
  // The behaviour itself came back: triggers enabled, row security forced, owner sees nothing.
  const [rls] = await pgc.query(target, `SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = 'secrets'`);
  expect(rls).toEqual({ relrowsecurity: true, relforcerowsecurity: true });
  expect(await pgc.query(target, `SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`)).toEqual([
    { tgname: "items_audit", tgenabled: "O" },
    { tgname: "items_rewrite", tgenabled: "O" },
  ]);
});
