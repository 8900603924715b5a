-- replicate_ddl and table announcements on one node: what is refused,
-- what is remembered, and what the receiving side checks.
SET search_path = public, edge_crdt;
CREATE TABLE ddl_t (id int PRIMARY KEY, v text, n int);
-- The announcement of the new table and the DDL are in the change stream.
SELECT slot_name FROM pg_create_logical_replication_slot('ddl_slot', 'edge_crdt');
SELECT edge_crdt.replicate_table('ddl_t');
SELECT edge_crdt.replicate_ddl('ALTER TABLE ddl_t ADD COLUMN extra text');
SELECT edge_crdt.replicate_ddl('ALTER TABLE ddl_t DROP COLUMN n');
SELECT left(j->>'content', 1) AS kind, substr(j->>'content', 2)::jsonb AS content
FROM (SELECT edge_crdt.changeset_to_json(data) AS j
	  FROM pg_logical_slot_get_binary_changes('ddl_slot', NULL, NULL)) c
WHERE j->>'type' = 'message';
SELECT pg_drop_replication_slot('ddl_slot');
SELECT column_name FROM edge_crdt.dropped_column WHERE relid = 'ddl_t'::regclass;
SELECT columns FROM edge_crdt.tables WHERE table_name = 'ddl_t'::regclass;
-- Refused: the primary key, a column type, the metadata.  Nothing changes.
SELECT edge_crdt.replicate_ddl('ALTER TABLE ddl_t ALTER COLUMN id TYPE bigint');
SELECT edge_crdt.replicate_ddl('ALTER TABLE ddl_t ALTER COLUMN v TYPE varchar(10)');
SELECT edge_crdt.replicate_ddl('ALTER TABLE ddl_t DROP COLUMN _edge_crdt');
SELECT edge_crdt.replicate_ddl('DROP TRIGGER zz_edge_crdt_capture ON ddl_t');
SELECT edge_crdt.replicate_ddl('ALTER TABLE ddl_t DROP CONSTRAINT ddl_t_pkey, ADD PRIMARY KEY (id, v)');
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid = 'ddl_t'::regclass AND attname IN ('id', 'v') ORDER BY attnum;
-- DDL that fails fails as itself.
SELECT edge_crdt.replicate_ddl('ALTER TABLE no_such_table ADD COLUMN x int');
-- The search path of the caller is the one the DDL runs (and travels) with.
CREATE SCHEMA ddl_s;
SET search_path = ddl_s, public, edge_crdt;
SELECT edge_crdt.replicate_ddl('CREATE TABLE ddl_in_s (id int PRIMARY KEY)');
SELECT to_regclass('ddl_s.ddl_in_s') IS NOT NULL AS created_in_ddl_s;
SET search_path = public, edge_crdt;
-- A peer announcing a table: it must exist here with the same columns.
SELECT edge_crdt.apply_table_message('{"table": "public.ddl_absent", "columns": [["id", "integer"]]}', 7);
SELECT edge_crdt.apply_table_message('{"table": "public.ddl_t", "columns": [["id", "integer"], ["v", "integer"], ["other", "text"]]}', 7);
SELECT edge_crdt.apply_table_message('{"table": 1}', 7);
CREATE TABLE ddl_u (id int PRIMARY KEY, v text);
-- Same columns: replicated here too; no copy queued without such a peer.
SELECT edge_crdt.apply_table_message('{"table": "public.ddl_u", "columns": [["id", "integer"], ["v", "text"]]}', 7);
SELECT table_name FROM edge_crdt.tables WHERE table_name = 'ddl_u'::regclass;
SELECT edge_crdt.apply_ddl_message('{"command": 5}', 7);
-- Only table, DDL and frontier messages can be emitted from SQL.
SELECT edge_crdt.emit_message('S', 'x');
SELECT edge_crdt.unreplicate_table('ddl_u');
SELECT edge_crdt.unreplicate_table('ddl_t');
DROP TABLE ddl_t, ddl_u, ddl_s.ddl_in_s;
DROP SCHEMA ddl_s;
