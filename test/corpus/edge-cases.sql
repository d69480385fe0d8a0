-- Edge-case corpus: every object kind and value shape issue 3 lists, loaded with
--   psql -v ON_ERROR_STOP=1 -f edge-cases.sql
-- into an empty database on PostgreSQL 13 to 18. Parts newer than 13 are gated with \if.
SET check_function_bodies = off;
SELECT current_setting('server_version_num')::int >= 140000 AS pg14,
       current_setting('server_version_num')::int >= 150000 AS pg15,
       current_setting('server_version_num')::int >= 180000 AS pg18 \gset

-- schemas, extensions, comments --------------------------------------------------------------
CREATE SCHEMA app;
CREATE SCHEMA "Mixed Case ""Schema""";
CREATE SCHEMA ext;
COMMENT ON SCHEMA app IS 'application objects';
CREATE EXTENSION hstore WITH SCHEMA ext;
CREATE EXTENSION citext WITH SCHEMA ext;
CREATE EXTENSION pg_trgm WITH SCHEMA public;
CREATE EXTENSION btree_gist;

-- collations ---------------------------------------------------------------------------------
CREATE COLLATION app.german_icu (provider = icu, locale = 'de-DE');
CREATE COLLATION app.case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION app.posix_c (provider = libc, locale = 'C');
COMMENT ON COLLATION app.german_icu IS 'German, ICU';

-- types --------------------------------------------------------------------------------------
CREATE TYPE app.mood AS ENUM ('sad', 'ok');
ALTER TYPE app.mood ADD VALUE 'happy' AFTER 'ok';
ALTER TYPE app.mood ADD VALUE 'meh' BEFORE 'ok';
ALTER TYPE app.mood ADD VALUE 'ecstatic';
COMMENT ON TYPE app.mood IS 'how it feels';
CREATE DOMAIN app.positive_int AS integer NOT NULL DEFAULT 1 CONSTRAINT positive CHECK (VALUE > 0);
CREATE DOMAIN app.email AS ext.citext CONSTRAINT has_at CHECK (VALUE ~ '@');
CREATE DOMAIN app.short_text AS text COLLATE app.posix_c CONSTRAINT short CHECK (length(VALUE) < 100);
ALTER DOMAIN app.short_text ADD CONSTRAINT not_blank CHECK (VALUE <> '') NOT VALID;
COMMENT ON DOMAIN app.email IS 'an address';
COMMENT ON CONSTRAINT positive ON DOMAIN app.positive_int IS 'strictly positive';
CREATE TYPE app.address AS (street text COLLATE app.german_icu, zip varchar(10), tags text[]);
COMMENT ON COLUMN app.address.zip IS 'postal code';
CREATE TYPE app.floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);

-- sequences ----------------------------------------------------------------------------------
CREATE SEQUENCE app.invoice_no AS smallint START WITH 100 INCREMENT BY 5 MINVALUE 50 MAXVALUE 30000 CACHE 3 CYCLE;
SELECT setval('app.invoice_no', 250, false);
CREATE SEQUENCE app.descending INCREMENT BY -2;
SELECT nextval('app.descending');
CREATE SEQUENCE app.untouched;
COMMENT ON SEQUENCE app.invoice_no IS 'invoice numbers';

-- functions, procedures, aggregates ----------------------------------------------------------
CREATE FUNCTION app.add(a integer, b integer DEFAULT 1) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT a + b';
CREATE FUNCTION app.add(a numeric, b numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT a + b';
CREATE FUNCTION app.split_name(full_name text, OUT first text, OUT last text) LANGUAGE plpgsql STABLE AS $$
BEGIN first := split_part(full_name, ' ', 1); last := split_part(full_name, ' ', 2); END $$;
CREATE FUNCTION app.secure_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, app
  AS 'SELECT count(*) FROM app.people';
CREATE PROCEDURE app.bump(INOUT n integer) LANGUAGE plpgsql AS $$ BEGIN n := n + 1; END $$;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := now(); RETURN NEW; END $$;
CREATE FUNCTION app.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE AGGREGATE app.text_concat(text) (SFUNC = textcat, STYPE = text, INITCOND = '');
CREATE AGGREGATE app.my_sum(integer) (SFUNC = int4pl, STYPE = integer, COMBINEFUNC = int4pl, PARALLEL = SAFE);
COMMENT ON FUNCTION app.add(integer, integer) IS 'adds';
COMMENT ON AGGREGATE app.text_concat(text) IS 'concatenates';
COMMENT ON PROCEDURE app.bump(integer) IS 'bumps';

-- tables -------------------------------------------------------------------------------------
CREATE TABLE app.people (
    id bigserial PRIMARY KEY,
    name text NOT NULL COLLATE app.german_icu,
    nick text COLLATE app.case_insensitive,
    email app.email,
    mood app.mood DEFAULT 'ok',
    score app.positive_int,
    home app.address,
    attrs ext.hstore,
    born date,
    updated timestamptz DEFAULT now(),
    name_upper text GENERATED ALWAYS AS (upper(name)) STORED,
    CONSTRAINT name_len CHECK (length(name) < 200)
);
ALTER TABLE app.people ALTER COLUMN name SET STATISTICS 500;
ALTER TABLE app.people ALTER COLUMN attrs SET STORAGE MAIN;
ALTER TABLE app.people CLUSTER ON people_pkey;
COMMENT ON TABLE app.people IS 'people';
COMMENT ON COLUMN app.people.name IS 'full name';
COMMENT ON CONSTRAINT name_len ON app.people IS 'names stay short';

CREATE TABLE app.identity_always (id integer GENERATED ALWAYS AS IDENTITY (START WITH 10 INCREMENT BY 10) PRIMARY KEY, v text);
CREATE TABLE app.identity_default (id bigint GENERATED BY DEFAULT AS IDENTITY (MINVALUE 5 MAXVALUE 5000 CACHE 2 CYCLE), v text);
CREATE TABLE app.serials (a serial, b bigserial, c smallserial);
CREATE TABLE app.dropped (a int, gone text, b int, also_gone int, c text);
ALTER TABLE app.dropped DROP COLUMN gone;
ALTER TABLE app.dropped DROP COLUMN also_gone;
CREATE TABLE app.filled (id int PRIMARY KEY, v text) WITH (fillfactor = 70, autovacuum_enabled = false);
CREATE UNLOGGED TABLE app.scratch (id int, v text);
CREATE TABLE app.no_columns ();
CREATE TABLE app.parent_tab (id int NOT NULL, kind text, CONSTRAINT kind_ok CHECK (kind <> ''));
CREATE TABLE app.child_tab (extra text) INHERITS (app.parent_tab);
CREATE TABLE "Mixed Case ""Schema"""."Table With ""Quotes"" And Spaces" ("Column One" int, "select" text, "ünïcødé" text, "from" int);
CREATE TABLE app."order" ("user" text, "group" int);

-- partitioning: range with sub-partitions and default, list, hash; partitioned indexes
CREATE TABLE app.events (id bigint NOT NULL, at timestamptz NOT NULL, region text NOT NULL, payload jsonb) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
CREATE TABLE app.events_2024_eu PARTITION OF app.events_2024 FOR VALUES IN ('eu', 'uk');
CREATE TABLE app.events_2024_other PARTITION OF app.events_2024 DEFAULT;
CREATE TABLE app.events_2025 PARTITION OF app.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events_default PARTITION OF app.events DEFAULT;
ALTER TABLE app.events ADD PRIMARY KEY (id, at, region);
CREATE INDEX events_region_idx ON app.events (region);
CREATE TABLE app.buckets (id int NOT NULL, v text) PARTITION BY HASH (id);
CREATE TABLE app.buckets_0 PARTITION OF app.buckets FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE app.buckets_1 PARTITION OF app.buckets FOR VALUES WITH (MODULUS 2, REMAINDER 1);

-- constraints --------------------------------------------------------------------------------
CREATE TABLE app.accounts (id int PRIMARY KEY, owner bigint REFERENCES app.people(id) ON DELETE CASCADE ON UPDATE SET NULL, code text UNIQUE, parent int);
ALTER TABLE app.accounts ADD CONSTRAINT accounts_parent_fk FOREIGN KEY (parent) REFERENCES app.accounts(id) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE app.cycle_a (id int PRIMARY KEY, b_id int);
CREATE TABLE app.cycle_b (id int PRIMARY KEY, a_id int REFERENCES app.cycle_a(id) DEFERRABLE);
ALTER TABLE app.cycle_a ADD CONSTRAINT cycle_a_b_fk FOREIGN KEY (b_id) REFERENCES app.cycle_b(id) DEFERRABLE INITIALLY DEFERRED;
CREATE TABLE app.bookings (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));
COMMENT ON CONSTRAINT accounts_parent_fk ON app.accounts IS 'tree';

-- indexes ------------------------------------------------------------------------------------
CREATE INDEX people_name_pattern ON app.people (name text_pattern_ops);
CREATE INDEX people_nick_trgm ON app.people USING gin (nick public.gin_trgm_ops);
CREATE INDEX people_partial ON app.people (born) WHERE born IS NOT NULL;
CREATE INDEX people_expr ON app.people (lower(name), (score * 2) DESC NULLS FIRST);
CREATE UNIQUE INDEX people_email_incl ON app.people (email) INCLUDE (name);
CREATE INDEX people_hash ON app.people USING hash (nick);
CREATE INDEX people_attrs_gin ON app.people USING gin (attrs);
CREATE INDEX people_born_brin ON app.people USING brin (born) WITH (pages_per_range = 16);
CREATE INDEX bookings_gist ON app.bookings USING gist (during);
CREATE INDEX people_varchar ON app.people ((name::varchar) varchar_pattern_ops);
COMMENT ON INDEX app.people_partial IS 'only the born';

-- views, materialized views, rules -------------------------------------------------------------
CREATE VIEW app.adults AS SELECT id, name, born FROM app.people WHERE born < now() - interval '18 years';
CREATE VIEW app.adult_names WITH (security_barrier = true) AS SELECT name FROM app.adults;
CREATE VIEW app.checked AS SELECT id, name FROM app.people WHERE score > 10 WITH CASCADED CHECK OPTION;
CREATE RECURSIVE VIEW app.countdown (n) AS SELECT 3 UNION ALL SELECT n - 1 FROM countdown WHERE n > 0;
CREATE MATERIALIZED VIEW app.mood_counts AS SELECT mood, count(*) AS n FROM app.people GROUP BY mood;
CREATE UNIQUE INDEX mood_counts_mood ON app.mood_counts (mood);
CREATE MATERIALIZED VIEW app.never_filled AS SELECT id FROM app.people WITH NO DATA;
CREATE TABLE app.log (msg text);
CREATE RULE log_no_delete AS ON DELETE TO app.log DO INSTEAD NOTHING;
COMMENT ON VIEW app.adults IS 'grown ups';
COMMENT ON MATERIALIZED VIEW app.mood_counts IS 'per mood';
COMMENT ON RULE log_no_delete ON app.log IS 'append only';

-- triggers, row level security, statistics ---------------------------------------------------
CREATE TRIGGER people_touch BEFORE UPDATE ON app.people FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER people_audit AFTER INSERT OR DELETE ON app.people FOR EACH STATEMENT EXECUTE FUNCTION app.audit();
CREATE CONSTRAINT TRIGGER accounts_check AFTER INSERT ON app.accounts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION app.audit();
CREATE TRIGGER disabled_one AFTER UPDATE ON app.accounts FOR EACH ROW EXECUTE FUNCTION app.audit();
ALTER TABLE app.accounts DISABLE TRIGGER disabled_one;
CREATE TRIGGER replica_one AFTER UPDATE ON app.log FOR EACH ROW EXECUTE FUNCTION app.audit();
ALTER TABLE app.log ENABLE REPLICA TRIGGER replica_one;
CREATE TRIGGER always_one AFTER INSERT ON app.log FOR EACH ROW EXECUTE FUNCTION app.audit();
ALTER TABLE app.log ENABLE ALWAYS TRIGGER always_one;
COMMENT ON TRIGGER people_touch ON app.people IS 'keeps updated current';
ALTER TABLE app.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON app.accounts FOR SELECT TO PUBLIC USING (owner IS NOT NULL);
CREATE POLICY no_writes ON app.accounts AS RESTRICTIVE FOR INSERT WITH CHECK (false);
COMMENT ON POLICY own_rows ON app.accounts IS 'visibility';
CREATE STATISTICS app.people_stats (dependencies, ndistinct) ON name, born FROM app.people;
COMMENT ON STATISTICS app.people_stats IS 'correlated';

-- values -------------------------------------------------------------------------------------
INSERT INTO app.people (name, nick, email, mood, score, home, attrs, born) VALUES
  ('Ada Lovelace', 'ada', 'ada@example.org', 'happy', 5, ROW('Main St', '12345', ARRAY['a', 'b'])::app.address, 'a=>1, b=>"x y"', '1815-12-10'),
  ('Tab	Newline
Back\slash', '\N', 'x@y', 'meh', 7, NULL, NULL, '0044-03-15 BC'),
  ('', NULL, NULL, 'ecstatic', 5000000, ROW(NULL, NULL, '{}')::app.address, '', NULL),
  ('Ünïcødé ☃ 名前', 'ADA', 'z@z', 'sad', 3, ROW('"quoted", street', NULL, ARRAY[NULL, 'n'])::app.address, 'k=>NULL', 'infinity'),
  (repeat('long ', 30), 'big', 'big@x', NULL, 2, NULL, NULL, '-infinity');
-- the row with score 5000000 violates this check, which must stay NOT VALID
ALTER TABLE app.people ADD CONSTRAINT score_small CHECK (score < 1000000) NOT VALID;

CREATE TABLE app.values_zoo (
    id serial PRIMARY KEY,
    t text, bin bytea, f4 real, f8 double precision, num numeric, num_big numeric(40, 10),
    ts timestamp, tstz timestamptz, iv interval, j json, jb jsonb,
    arr2 int[][], comp_arr app.address[], rng int4range, trng tstzrange, x xml, tsv tsvector,
    pt point, ln line, bx box, poly polygon, circ circle, ip inet, mac macaddr, bits bit varying(16), u uuid, big text
);
INSERT INTO app.values_zoo (t, bin, f4, f8, num, num_big, ts, tstz, iv, j, jb, arr2, comp_arr, rng, trng, x, tsv, pt, ln, bx, poly, circ, ip, mac, bits, u, big) VALUES
  (NULL, '\x00ff00'::bytea, 'NaN', 'Infinity', 'NaN', 123456789012345678901234567890.0123456789,
   'infinity', '-infinity', '1 year 2 mons -3 days 04:05:06.789', '{"a": 1,   "a": 2, "b" : [1, 2]}', '{"b": [1, 2], "a": {"c": null}}',
   '{{1,2},{3,4}}', ARRAY[ROW('s', 'z', '{x}')::app.address, NULL], '[1,10)', '[2024-01-01 00:00+00,infinity)', '<a b="1">text &amp; more</a>',
   'the quick:1 brown:2A fox', '(1.5,-2)', '{1,-1,0}', '(1,1),(0,0)', '((0,0),(1,1),(1,0))', '<(0,0),5>', '192.168.0.1/24', '08:00:2b:01:02:03', B'1011', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', repeat('M', 3 * 1024 * 1024)),
  ('\N', '\x', '-0', '-Infinity', 0, -0.0000000001, '4713-01-01 BC', '2024-02-29 23:59:59.999999+05:30', '-178000000 years', '[]', 'null',
   '{}', '{}', 'empty', '(,)', '<empty/>', '', '(0,0)', '{0,1,0}', '(0,0),(0,0)', '((0,0))', '<(0,0),0>', '::1', '00:00:00:00:00:00', B'', '00000000-0000-0000-0000-000000000000', ''),
  ('', NULL, 1.17549435e-38, 2.2250738585072014e-308, 1e-30, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

INSERT INTO app.identity_always (v) VALUES ('a'), ('b');
INSERT INTO app.identity_default (v) VALUES ('x');
INSERT INTO app.serials DEFAULT VALUES;
INSERT INTO app.dropped VALUES (1, 2, 'three');
INSERT INTO app.filled SELECT g, md5(g::text) FROM generate_series(1, 200) g;
INSERT INTO app.no_columns DEFAULT VALUES;
INSERT INTO app.no_columns DEFAULT VALUES;
INSERT INTO app.parent_tab VALUES (1, 'p');
INSERT INTO app.child_tab VALUES (2, 'c', 'extra');
INSERT INTO "Mixed Case ""Schema"""."Table With ""Quotes"" And Spaces" VALUES (1, 'sel', 'ü', 2);
INSERT INTO app."order" VALUES ('u', 1);
INSERT INTO app.events VALUES (1, '2024-03-01', 'eu', '{"k": 1}'), (2, '2024-05-01', 'us', NULL), (3, '2025-06-01', 'eu', '[]'), (4, '2030-01-01', 'mars', '{}');
INSERT INTO app.buckets SELECT g, g::text FROM generate_series(1, 20) g;
INSERT INTO app.accounts VALUES (1, 1, 'root', NULL), (2, 1, 'child', 1), (3, NULL, 'orphan', 1);
INSERT INTO app.cycle_a VALUES (1, NULL);
INSERT INTO app.cycle_b VALUES (1, 1);
UPDATE app.cycle_a SET b_id = 1;
INSERT INTO app.bookings VALUES (1, '[2024-01-01,2024-01-02)'), (1, '[2024-01-02,2024-01-03)');
INSERT INTO app.log VALUES ('kept');
SELECT lo_from_bytea(424242, '\x00010203'::bytea);
COMMENT ON LARGE OBJECT 424242 IS 'a commented large object';
REFRESH MATERIALIZED VIEW app.mood_counts;

-- version-specific ---------------------------------------------------------------------------
\if :pg14
CREATE FUNCTION app.sql_body(i integer) RETURNS integer LANGUAGE sql IMMUTABLE RETURN i * 2;
CREATE FUNCTION app.sql_atomic(i integer) RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) + i FROM app.people; END;
CREATE TABLE app.multi (id int, spans int4multirange);
-- a cycle: the table's default calls a function whose body reads the table
CREATE TABLE app.numbered (id int PRIMARY KEY, n int);
CREATE FUNCTION app.next_n() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT coalesce(max(n), 0) + 1 FROM app.numbered; END;
ALTER TABLE app.numbered ALTER COLUMN n SET DEFAULT app.next_n();
INSERT INTO app.numbered (id) VALUES (1), (2);
INSERT INTO app.multi VALUES (1, '{[1,3), [5,8)}');
\endif
\if :pg15
CREATE TABLE app.nulls_nd (a int, b int, CONSTRAINT nulls_nd_uniq UNIQUE NULLS NOT DISTINCT (a, b));
INSERT INTO app.nulls_nd VALUES (NULL, 1);
CREATE UNLOGGED SEQUENCE app.unlogged_seq;
\endif
\if :pg18
-- NOT NULL constraints are catalog rows with names, NOT VALID and NO INHERIT
CREATE TABLE app.named_not_null (a int CONSTRAINT a_is_required NOT NULL, b int, c int NOT NULL NO INHERIT, d int NOT NULL);
INSERT INTO app.named_not_null VALUES (1, NULL, 3, 4);
ALTER TABLE app.named_not_null ADD CONSTRAINT b_later NOT NULL b NOT VALID;
\endif
