-- Dependency-order corpus (issue 9): objects whose restore order follows their dependencies,
-- not their kind, and each dependency loop pg_dump_sort.c repairs. Loaded with
--   psql -v ON_ERROR_STOP=1 -f dependency-order.sql
-- into an empty database on PostgreSQL 13 to 18; SQL-standard bodies (14+) are gated with \if.
SET check_function_bodies = off;
SELECT current_setting('server_version_num')::int >= 140000 AS pg14 \gset
CREATE SCHEMA dep;

-- A view, a materialized view and a view on the view, legal only through the primary key
-- (functional dependency): they need a constraint that is created after the data.
CREATE TABLE dep.shop_order (id int PRIMARY KEY, user_id int NOT NULL, placed date NOT NULL);
CREATE TABLE dep.item (id int PRIMARY KEY, order_id int NOT NULL REFERENCES dep.shop_order, qty int NOT NULL, unit_price numeric(10, 2) NOT NULL);
INSERT INTO dep.shop_order SELECT g, g % 7, date '2026-01-01' + g FROM generate_series(1, 40) g;
INSERT INTO dep.item SELECT g, 1 + g % 40, 1 + g % 3, 9.99 + g FROM generate_series(1, 120) g;
CREATE VIEW dep.shop_order_totals AS
  SELECT o.id, o.user_id, sum(i.qty * i.unit_price) AS total FROM dep.shop_order o JOIN dep.item i ON i.order_id = o.id GROUP BY o.id;
COMMENT ON VIEW dep.shop_order_totals IS 'one row per order';
COMMENT ON COLUMN dep.shop_order_totals.total IS 'sum of the items';
CREATE VIEW dep.big_orders WITH (security_barrier = true) AS SELECT id, total FROM dep.shop_order_totals WHERE total > 100;
CREATE MATERIALIZED VIEW dep.user_order_counts AS
  SELECT o.id, o.user_id, o.placed, count(i.id) AS items FROM dep.shop_order o LEFT JOIN dep.item i ON i.order_id = o.id GROUP BY o.id;
CREATE UNIQUE INDEX user_order_counts_id ON dep.user_order_counts (id);
COMMENT ON MATERIALIZED VIEW dep.user_order_counts IS 'refreshed nightly';
CREATE VIEW dep.busy_users AS SELECT user_id, sum(items) AS items FROM dep.user_order_counts GROUP BY user_id;

-- Materialized views refreshed in dependency order, not creation order: outer_count was created
-- first, and reads inner_ids (created later) through a view that was replaced afterwards.
CREATE TABLE dep.numbers (n int PRIMARY KEY);
INSERT INTO dep.numbers SELECT generate_series(1, 25);
CREATE VIEW dep.middle AS SELECT n FROM dep.numbers;
CREATE MATERIALIZED VIEW dep.outer_count AS SELECT count(*) AS n FROM dep.middle;
CREATE MATERIALIZED VIEW dep.inner_ids AS SELECT n FROM dep.numbers WHERE n % 2 = 0;
CREATE OR REPLACE VIEW dep.middle AS SELECT n FROM dep.inner_ids;
REFRESH MATERIALIZED VIEW dep.outer_count;

\if :pg14
-- SQL-standard bodies are parsed at creation and recorded in pg_depend.
CREATE FUNCTION dep.order_total(o int) RETURNS numeric LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT total FROM dep.shop_order_totals WHERE id = o; END;
CREATE FUNCTION dep.orders_per_user() RETURNS TABLE (user_id int, placed date) LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT o.user_id, o.placed FROM dep.shop_order o GROUP BY o.id ORDER BY o.id; END;
CREATE FUNCTION dep.busy_count() RETURNS bigint LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT count(*) FROM dep.user_order_counts; END;
-- ... and through a function: outer_via_function reads inner_ids through even_count().
CREATE FUNCTION dep.even_count() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM dep.numbers; END;
CREATE MATERIALIZED VIEW dep.outer_via_function AS SELECT dep.even_count() AS n;
CREATE OR REPLACE FUNCTION dep.even_count() RETURNS bigint LANGUAGE sql STABLE BEGIN ATOMIC SELECT count(*) FROM dep.inner_ids; END;
REFRESH MATERIALIZED VIEW dep.outer_via_function;
-- A column default that calls a function which reads the table (a table/default loop).
CREATE TABLE dep.tick (n int);
CREATE FUNCTION dep.next_tick() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT coalesce(max(n), 0) + 1 FROM dep.tick; END;
ALTER TABLE dep.tick ALTER COLUMN n SET DEFAULT dep.next_tick();
INSERT INTO dep.tick DEFAULT VALUES;
INSERT INTO dep.tick DEFAULT VALUES;
\endif

-- A view and a set-returning function on its own row type (pg_dump: a placeholder view).
CREATE VIEW dep.pairs AS SELECT 1 AS a, 'x'::text COLLATE "C" AS b;
CREATE FUNCTION dep.pairs_rows() RETURNS SETOF dep.pairs LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN QUERY SELECT 1, 'y'::text; END $$;
CREATE OR REPLACE VIEW dep.pairs AS SELECT a, b FROM dep.pairs_rows() AS p(a, b);

-- A CHECK through a function on the table's own row type (pg_dump: the CHECK after the data).
CREATE TABLE dep.parcel (weight int NOT NULL, volume int NOT NULL);
CREATE FUNCTION dep.parcel_ok(dep.parcel) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT $1.weight < 1000 AND $1.volume > 0 $$;
ALTER TABLE dep.parcel ADD CONSTRAINT parcel_sane CHECK (dep.parcel_ok(parcel.*));
COMMENT ON CONSTRAINT parcel_sane ON dep.parcel IS 'weight and volume make sense';
INSERT INTO dep.parcel VALUES (10, 3), (999, 1);

\if :pg14
-- A domain whose CHECK calls a function whose body names the domain (the domain CHECK after the
-- data). The branch that names it never runs, so the CHECK does not recurse.
CREATE DOMAIN dep.sku AS text;
CREATE FUNCTION dep.sku_ok(s text) RETURNS boolean LANGUAGE sql IMMUTABLE
  BEGIN ATOMIC SELECT CASE WHEN false THEN (NULL::dep.sku) IS NULL ELSE s ~ '^[A-Z]{3}-[0-9]+$' END; END;
ALTER DOMAIN dep.sku ADD CONSTRAINT sku_format CHECK (dep.sku_ok(VALUE));
COMMENT ON CONSTRAINT sku_format ON DOMAIN dep.sku IS 'three letters, a dash, digits';
CREATE TABLE dep.stock (sku dep.sku PRIMARY KEY, on_hand int);
INSERT INTO dep.stock VALUES ('ABC-1', 4), ('XYZ-22', 0);
\endif

-- NOT VALID constraints that existing rows violate: loaded first, added after, exactly once.
CREATE DOMAIN dep.nonneg AS int;
CREATE TABLE dep.readings (id int PRIMARY KEY, v dep.nonneg);
INSERT INTO dep.readings VALUES (1, 5), (2, -1);
ALTER DOMAIN dep.nonneg ADD CONSTRAINT nonneg_check CHECK (VALUE >= 0) NOT VALID;
COMMENT ON CONSTRAINT nonneg_check ON DOMAIN dep.nonneg IS 'old readings may be negative';
CREATE TABLE dep.animal (name text, legs int);
CREATE TABLE dep.bird (wingspan int) INHERITS (dep.animal);
INSERT INTO dep.bird VALUES ('odd', -2, 10);
ALTER TABLE dep.animal ADD CONSTRAINT legs_ok CHECK (legs >= 0) NOT VALID;
COMMENT ON CONSTRAINT legs_ok ON dep.animal IS 'not checked for old rows';
CREATE TABLE dep.events (id int NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE dep.events_2025 PARTITION OF dep.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE dep.events_2026 PARTITION OF dep.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO dep.events VALUES (-5, '2025-03-01'), (7, '2026-03-01');
ALTER TABLE dep.events ADD CONSTRAINT events_id_positive CHECK (id > 0) NOT VALID;
ALTER TABLE dep.item ADD CONSTRAINT item_qty_small CHECK (qty < 3) NOT VALID;
COMMENT ON CONSTRAINT item_qty_small ON dep.item IS 'new items only';

-- State of inheritance children and partitions that differs from the parent's.
CREATE TABLE dep.vehicle (wheels int, plate text);
CREATE TABLE dep.car () INHERITS (dep.vehicle);
ALTER TABLE dep.car ALTER COLUMN wheels SET NOT NULL;
INSERT INTO dep.car VALUES (4, 'CB-1');
CREATE FUNCTION dep.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER events_audit AFTER INSERT ON dep.events FOR EACH ROW EXECUTE FUNCTION dep.noop();
ALTER TABLE dep.events_2025 DISABLE TRIGGER events_audit;
CREATE INDEX events_expr ON dep.events_2026 ((id * 2), at);
ALTER INDEX dep.events_expr ALTER COLUMN 1 SET STATISTICS 321;

-- Comments on every post-data kind.
CREATE TABLE dep.booking (id int PRIMARY KEY, room int NOT NULL, during tsrange NOT NULL, order_id int,
  CONSTRAINT booking_no_overlap EXCLUDE USING gist (during WITH &&));
ALTER TABLE dep.booking ADD CONSTRAINT booking_order_fk FOREIGN KEY (order_id) REFERENCES dep.shop_order (id) DEFERRABLE;
CREATE INDEX booking_room ON dep.booking (room);
CREATE TRIGGER booking_touch BEFORE UPDATE ON dep.booking FOR EACH ROW EXECUTE FUNCTION dep.noop();
CREATE CONSTRAINT TRIGGER booking_check AFTER INSERT ON dep.booking DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION dep.noop();
CREATE RULE booking_no_delete AS ON DELETE TO dep.booking DO INSTEAD NOTHING;
CREATE POLICY booking_mine ON dep.booking USING (room > 0);
INSERT INTO dep.booking VALUES (1, 101, '[2026-02-01,2026-02-03)', 3);
COMMENT ON CONSTRAINT booking_no_overlap ON dep.booking IS 'exclusion';
COMMENT ON CONSTRAINT booking_order_fk ON dep.booking IS 'foreign key';
COMMENT ON CONSTRAINT booking_pkey ON dep.booking IS 'primary key';
COMMENT ON INDEX dep.booking_room IS 'index';
COMMENT ON TRIGGER booking_touch ON dep.booking IS 'trigger';
COMMENT ON TRIGGER booking_check ON dep.booking IS 'constraint trigger';
COMMENT ON RULE booking_no_delete ON dep.booking IS 'rule';
COMMENT ON POLICY booking_mine ON dep.booking IS 'policy';

-- A typed table (CREATE TABLE ... OF type), with a NOT NULL of its own.
CREATE TYPE dep.point3 AS (x int, y int, z int);
CREATE TABLE dep.points OF dep.point3 (x WITH OPTIONS NOT NULL);
INSERT INTO dep.points VALUES (1, 2, 3);
