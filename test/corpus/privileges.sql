-- Owners, GRANTs, REVOKEs, column privileges and default privileges, for the privileges test.
-- Roles are cluster-wide: created once, reused by every database of the cluster.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cobalt_app_owner') THEN CREATE ROLE cobalt_app_owner NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cobalt_reader') THEN CREATE ROLE cobalt_reader NOLOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'cobalt writer') THEN CREATE ROLE "cobalt writer" NOLOGIN; END IF;
END $$;
CREATE SCHEMA shop AUTHORIZATION cobalt_app_owner;
GRANT USAGE ON SCHEMA shop TO cobalt_reader;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric, note text);
ALTER TABLE shop.orders OWNER TO cobalt_app_owner;
GRANT SELECT ON shop.orders TO cobalt_reader;
GRANT SELECT, INSERT ON shop.orders TO "cobalt writer" WITH GRANT OPTION;
GRANT UPDATE (note) ON shop.orders TO cobalt_reader;
CREATE SEQUENCE shop.order_no;
ALTER SEQUENCE shop.order_no OWNER TO cobalt_app_owner;
GRANT USAGE ON SEQUENCE shop.order_no TO "cobalt writer";
CREATE VIEW shop.big_orders AS SELECT id, total FROM shop.orders WHERE total > 100;
ALTER VIEW shop.big_orders OWNER TO cobalt_app_owner;
GRANT SELECT ON shop.big_orders TO PUBLIC;
CREATE FUNCTION shop.tax(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 0.2';
ALTER FUNCTION shop.tax(numeric) OWNER TO cobalt_app_owner;
REVOKE EXECUTE ON FUNCTION shop.tax(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION shop.tax(numeric) TO cobalt_reader;
CREATE TYPE shop.status AS ENUM ('new', 'paid');
ALTER TYPE shop.status OWNER TO cobalt_app_owner;
REVOKE USAGE ON TYPE shop.status FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE cobalt_app_owner IN SCHEMA shop GRANT SELECT ON TABLES TO cobalt_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE cobalt_app_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
INSERT INTO shop.orders VALUES (1, 150, 'first');
SELECT lo_from_bytea(777001, 'owned blob'::bytea);
ALTER LARGE OBJECT 777001 OWNER TO cobalt_app_owner;
GRANT SELECT ON LARGE OBJECT 777001 TO cobalt_reader;
