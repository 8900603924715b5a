--
-- The edge_crdt output plugin, rendered through changeset_to_json: every
-- change kind, NULLs, TOASTed values, dropped columns, messages, origin
-- filtering and option errors.
--
\set SHOW_CONTEXT never

-- Hide what differs between runs (LSNs, xids, times, clock values) and
-- show the length of large values instead of the values.
CREATE FUNCTION plug_show(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT CASE j->>'type'
		WHEN 'begin' THEN j - '{final_lsn,commit_time,xid}'::text[]
		WHEN 'commit' THEN jsonb_build_object('type', 'commit',
			'lsns_ordered', (j->>'commit_lsn')::pg_lsn <= (j->>'end_lsn')::pg_lsn)
		WHEN 'row' THEN (j - 'columns') || jsonb_build_object('columns',
			(SELECT jsonb_agg(CASE WHEN c->>'name' = 'big'
								   THEN c - '{hlc,value}'::text[] || jsonb_build_object('length', length(c->>'value'))
								   ELSE c - 'hlc' END ORDER BY o)
			 FROM jsonb_array_elements(j->'columns') WITH ORDINALITY AS e(c, o)))
		WHEN 'delete' THEN j - 'hlc'
		ELSE j END
$$;

CREATE TABLE plug_t (id int PRIMARY KEY, name text, qty int, note text, big text);
ALTER TABLE plug_t ALTER COLUMN big SET STORAGE EXTERNAL;
SELECT edge_crdt.replicate_table('plug_t');
CREATE TABLE plug_other (id int PRIMARY KEY);
SELECT 'ok' FROM pg_create_logical_replication_slot('plug_slot', 'edge_crdt');

-- insert, update, delete, re-insert; NULLs are explicit
INSERT INTO plug_t VALUES (1, 'one', 10, NULL, NULL);
UPDATE plug_t SET qty = 11 WHERE id = 1;
DELETE FROM plug_t WHERE id = 1;
INSERT INTO plug_t VALUES (1, 'again', NULL, 'n', NULL);
-- a transaction touching only other tables sends nothing, not even BEGIN;
-- a copy of a replicated table has the metadata column but is not replicated
INSERT INTO plug_other VALUES (1);
CREATE TABLE plug_copy AS SELECT * FROM plug_t;
INSERT INTO plug_copy SELECT * FROM plug_t;
SELECT plug_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_get_binary_changes('plug_slot', NULL, NULL, 'proto_version', '1');

-- a TOASTed value left unchanged by an UPDATE still travels in full
INSERT INTO plug_t VALUES (2, 'big', 0, NULL, repeat('0123456789', 10000));
SELECT pg_relation_size(reltoastrelid) > 0 AS stored_out_of_line FROM pg_class WHERE oid = 'plug_t'::regclass;
UPDATE plug_t SET qty = 1 WHERE id = 2;
SELECT plug_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_get_binary_changes('plug_slot', NULL, NULL, 'proto_version', '1')
WHERE get_byte(data, 1) = ascii('R');

-- a primary-key change: tombstone for the old key, row for the new
UPDATE plug_t SET id = 3 WHERE id = 1;
-- dropped columns are not sent; columns travel by name
ALTER TABLE plug_t DROP COLUMN note;
UPDATE plug_t SET name = 'three' WHERE id = 3;
SELECT plug_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_get_binary_changes('plug_slot', NULL, NULL, 'proto_version', '1');

-- transactional messages with prefix edge_crdt pass; others do not
SELECT 'ok' FROM pg_logical_emit_message(true, 'edge_crdt', 'ddl goes here');
SELECT 'ok' FROM pg_logical_emit_message(true, 'other', 'not for us');
SELECT 'ok' FROM pg_logical_emit_message(false, 'edge_crdt', 'not transactional');
SELECT plug_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_get_binary_changes('plug_slot', NULL, NULL, 'proto_version', '1');

-- changes written under a replication origin (i.e. applied from a peer)
-- are not sent by default, only with origins 'any'
SELECT 'ok' FROM pg_replication_origin_create('edge_crdt_4242');
SELECT 'ok' FROM pg_replication_origin_session_setup('edge_crdt_4242');
INSERT INTO plug_t VALUES (4, 'from a peer', 4, NULL);
SELECT 'ok' FROM pg_replication_origin_session_reset();
INSERT INTO plug_t VALUES (5, 'local', 5, NULL);
SELECT plug_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_peek_binary_changes('plug_slot', NULL, NULL, 'proto_version', '1');
SELECT plug_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_get_binary_changes('plug_slot', NULL, NULL, 'origins', 'any');
SELECT pg_replication_origin_drop('edge_crdt_4242');

-- batch 'on' (what the replicator asks for): a transaction's messages in
-- one write, as frames of uint32 length + wire message
CREATE FUNCTION plug_frames(data bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	pos		int := 0;
	len		int;
	kinds	text := '';
BEGIN
	WHILE pos < length(data) LOOP
		len := (get_byte(data, pos) << 24) | (get_byte(data, pos + 1) << 16)
			| (get_byte(data, pos + 2) << 8) | get_byte(data, pos + 3);
		kinds := kinds || chr(get_byte(data, pos + 5));
		pos := pos + 4 + len;
	END LOOP;
	RETURN CASE WHEN pos = length(data) THEN kinds ELSE 'frames overrun the write' END;
END;
$$;
BEGIN;
INSERT INTO plug_t VALUES (6, 'batched', 6, NULL);
INSERT INTO plug_t VALUES (7, 'batched', 7, NULL);
SELECT 'ok' FROM pg_logical_emit_message(true, 'edge_crdt', 'P');
COMMIT;
INSERT INTO plug_t VALUES (8, 'alone', 8, NULL);
SELECT plug_frames(data) FROM pg_logical_slot_peek_binary_changes('plug_slot', NULL, NULL, 'batch', 'on');
SELECT count(*) AS writes_unbatched FROM pg_logical_slot_get_binary_changes('plug_slot', NULL, NULL, 'batch', 'off');

-- option errors
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('plug_slot', NULL, NULL, 'proto_version', '2');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('plug_slot', NULL, NULL, 'batch', 'maybe');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('plug_slot', NULL, NULL, 'origins', 'some');
SELECT count(*) FROM pg_logical_slot_peek_binary_changes('plug_slot', NULL, NULL, 'colour', 'blue');
SELECT count(*) FROM pg_logical_slot_peek_changes('plug_slot', NULL, NULL);

SELECT pg_drop_replication_slot('plug_slot');
DROP TABLE plug_t, plug_other, plug_copy;
DROP FUNCTION plug_show(jsonb);
DROP FUNCTION plug_frames(bytea);
