--
-- Replicated tables: replicate_table errors, metadata of local writes,
-- tombstones, CRDT inflation checks, TRUNCATE.
--
\set SHOW_CONTEXT never

-- refused tables
CREATE TABLE cap_nopk (a int);
SELECT edge_crdt.replicate_table('cap_nopk');
CREATE TEMP TABLE cap_temp (id int PRIMARY KEY);
SELECT edge_crdt.replicate_table('cap_temp');
CREATE UNLOGGED TABLE cap_unlogged (id int PRIMARY KEY);
SELECT edge_crdt.replicate_table('cap_unlogged');
CREATE VIEW cap_view AS SELECT 1 AS id;
SELECT edge_crdt.replicate_table('cap_view');
CREATE TABLE cap_parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
SELECT edge_crdt.replicate_table('cap_parted');
SELECT edge_crdt.replicate_table('edge_crdt.node');
CREATE TABLE cap_reserved (id int PRIMARY KEY, _edge_crdt int);
SELECT edge_crdt.replicate_table('cap_reserved');
SELECT edge_crdt.replicate_table('cap_no_such_table');
DROP TABLE cap_nopk, cap_unlogged, cap_parted, cap_reserved;
DROP VIEW cap_view;

-- a replicated table with existing rows
CREATE TABLE cap_t (id int PRIMARY KEY, name text, qty int, note text);
INSERT INTO cap_t VALUES (1, 'one', 10, NULL), (2, 'two', 20, 'x');
SELECT edge_crdt.replicate_table('cap_t');
SELECT edge_crdt.replicate_table('cap_t');
SELECT table_name, columns, crdt_columns FROM edge_crdt.tables;
-- existing rows got valid metadata: first incarnation, all columns stamped by us
SELECT id, edge_crdt.row_cl(_edge_crdt) AS cl,
       (SELECT count(*) FROM edge_crdt.row_versions('cap_t', _edge_crdt) v
        WHERE v.node = 1000 AND v.hlc > 0) AS stamped
FROM cap_t ORDER BY id;

-- INSERT: causal length 1, every column stamped with one fresh version
INSERT INTO cap_t VALUES (3, 'three', 30, 'n');
SELECT edge_crdt.row_cl(_edge_crdt) AS cl,
       count(DISTINCT (v.hlc, v.node)) AS distinct_versions, count(*) AS columns
FROM cap_t, edge_crdt.row_versions('cap_t', _edge_crdt) v
WHERE id = 3 GROUP BY 1;

-- whatever a client writes into the metadata column is overwritten
INSERT INTO cap_t VALUES (4, 'four', 40, NULL, '99;1=5@7');
SELECT edge_crdt.row_cl(_edge_crdt) AS cl, _edge_crdt::text LIKE '99;%' AS kept_client_value
FROM cap_t WHERE id = 4;

-- UPDATE: only the columns whose value changed get a new version
CREATE TEMP TABLE cap_before AS
	SELECT v.* FROM cap_t, edge_crdt.row_versions('cap_t', _edge_crdt) v WHERE id = 3;
UPDATE cap_t SET qty = 31, name = 'three' WHERE id = 3;
SELECT v.column_name, v.hlc > b.hlc AS restamped, v.node
FROM cap_t, edge_crdt.row_versions('cap_t', _edge_crdt) v
JOIN cap_before b USING (column_name)
WHERE id = 3 ORDER BY v.column_name;
-- setting a NULL column is a change; a no-op update changes nothing
UPDATE cap_t SET note = NULL WHERE id = 3;
UPDATE cap_t SET note = NULL WHERE id = 3;
SELECT v.column_name, v.hlc > b.hlc AS restamped
FROM cap_t, edge_crdt.row_versions('cap_t', _edge_crdt) v
JOIN cap_before b USING (column_name)
WHERE id = 3 ORDER BY v.column_name;
SELECT edge_crdt.row_cl(_edge_crdt) AS cl FROM cap_t WHERE id = 3;

-- DELETE leaves a tombstone with cl + 1; a re-insert starts incarnation 3
DELETE FROM cap_t WHERE id = 3;
SELECT cl, node FROM edge_crdt.tombstone WHERE relid = 'cap_t'::regclass;
INSERT INTO cap_t VALUES (3, 'again', 0, NULL);
SELECT edge_crdt.row_cl(_edge_crdt) AS cl FROM cap_t WHERE id = 3;
DELETE FROM cap_t WHERE id = 3;
INSERT INTO cap_t VALUES (3, 'third life', 0, NULL);
SELECT edge_crdt.row_cl(_edge_crdt) AS cl FROM cap_t WHERE id = 3;
SELECT cl FROM edge_crdt.tombstone WHERE relid = 'cap_t'::regclass;

-- a primary-key change is a delete of the old key and an insert of the new
UPDATE cap_t SET id = 30 WHERE id = 3;
SELECT id, edge_crdt.row_cl(_edge_crdt) AS cl FROM cap_t WHERE id IN (3, 30);
SELECT cl FROM edge_crdt.tombstone WHERE relid = 'cap_t'::regclass ORDER BY cl;

-- COPY goes through the same trigger
COPY cap_t (id, name, qty) FROM stdin;
5	five	50
\.
SELECT edge_crdt.row_cl(_edge_crdt) AS cl, count(*) AS columns_stamped
FROM cap_t, edge_crdt.row_versions('cap_t', _edge_crdt) v
WHERE id = 5 AND v.node = 1000 GROUP BY 1;

-- TRUNCATE is refused
TRUNCATE cap_t;
SELECT count(*) FROM cap_t;

-- the trigger only serves replicated tables
CREATE TABLE cap_plain (id int PRIMARY KEY);
CREATE TRIGGER t BEFORE INSERT ON cap_plain FOR EACH ROW
	EXECUTE FUNCTION edge_crdt.capture_trigger();
INSERT INTO cap_plain VALUES (1);
DROP TABLE cap_plain;

-- rowmeta text I/O
SELECT '3;2=5@7,1=5@7,4=9@1000'::edge_crdt.rowmeta;
SELECT '1;'::edge_crdt.rowmeta;
SELECT '0;1=5@7'::edge_crdt.rowmeta;
SELECT '1;1=5@0'::edge_crdt.rowmeta;
SELECT '1;1=5@7,1=6@7'::edge_crdt.rowmeta;
SELECT '1;1=5@7;'::edge_crdt.rowmeta;

-- unreplicate removes metadata, triggers and tombstones
SELECT edge_crdt.unreplicate_table('cap_t');
SELECT edge_crdt.unreplicate_table('cap_t');
SELECT count(*) FROM edge_crdt.tombstone WHERE relid = 'cap_t'::regclass;
SELECT count(*) FROM pg_attribute WHERE attrelid = 'cap_t'::regclass AND attname = '_edge_crdt';
TRUNCATE cap_t;

-- dropping a replicated table cleans up after it
SELECT edge_crdt.replicate_table('cap_t');
INSERT INTO cap_t VALUES (1, 'a', 1, NULL);
DELETE FROM cap_t;
DROP TABLE cap_t;
SELECT count(*) AS registered FROM edge_crdt.replicated_table;
SELECT count(*) AS tombstones FROM edge_crdt.tombstone;
