--
-- apply: edge_crdt.apply_change merges one change-set message into the
-- local tables (replicator/apply.c, lattice of DESIGN.md section 2).
--
-- Real messages come from the edge_crdt output plugin of this very node:
-- writes are captured from a logical slot, the table is then made to
-- diverge with writes under session_replication_role = replica (no capture
-- trigger: no stamps, no tombstones), and the captured messages are fed
-- back.  Hand-built messages (wire.h layout) cover what the plugin never
-- sends.  The DEBUG1 line of each apply says what the merge did.
--
SET search_path = public, edge_crdt;

CREATE TABLE apply_t (id int PRIMARY KEY, a text, b int, views gcounter);
SELECT edge_crdt.replicate_table('apply_t');
CREATE TABLE apply_e (id int PRIMARY KEY, v int);
SELECT edge_crdt.replicate_table('apply_e');
SELECT 'slot' FROM pg_create_logical_replication_slot('apply_slot', 'edge_crdt');

-- Captured ROW and DELETE messages, labelled by the step that made them.
CREATE TEMP TABLE apply_msg (n serial, tag text, data bytea);
CREATE FUNCTION pg_temp.capture(p_tag text) RETURNS bool LANGUAGE sql AS $$
	WITH c AS (
		INSERT INTO apply_msg (tag, data)
		SELECT p_tag, data
		FROM pg_logical_slot_get_binary_changes('apply_slot', NULL, NULL)
		WHERE get_byte(data, 1) IN (82, 68)
		RETURNING 1)
	SELECT count(*) > 0 FROM c;
$$;
-- The latest message of a step for one key (id is the first column).
CREATE FUNCTION pg_temp.msg(p_tag text, p_rel text, p_id int) RETURNS bytea
LANGUAGE sql AS $$
	SELECT m.data FROM apply_msg m,
		LATERAL edge_crdt.changeset_to_json(m.data) j
	WHERE m.tag = p_tag AND j->>'relation' = p_rel
	  AND coalesce(j->'columns', j->'key')->0->'value' = to_jsonb(p_id)
	ORDER BY m.n DESC LIMIT 1;
$$;
-- Apply, showing the merge's summary.
CREATE FUNCTION pg_temp.apply(p_tag text, p_id int, p_rel text DEFAULT 'public.apply_t')
RETURNS void LANGUAGE sql SET client_min_messages = debug1 AS $$
	SELECT edge_crdt.apply_change(pg_temp.msg(p_tag, p_rel, p_id));
$$;
CREATE FUNCTION pg_temp.apply_bytes(p_data bytea)
RETURNS void LANGUAGE sql SET client_min_messages = debug1 AS $$
	SELECT edge_crdt.apply_change(p_data);
$$;
-- Saved row states, to restore ("diverge") and compare.
CREATE TEMP TABLE apply_snap (label text, id int, a text, b int, views gcounter,
	meta text);
CREATE FUNCTION pg_temp.snap(p_label text, p_id int) RETURNS void LANGUAGE sql AS $$
	INSERT INTO apply_snap SELECT p_label, id, a, b, views, _edge_crdt::text
	FROM apply_t WHERE id = p_id;
$$;
-- Put a saved row back as it was, with its metadata, and no tombstone.
CREATE FUNCTION pg_temp.restore(p_label text, p_id int) RETURNS void
LANGUAGE sql SET session_replication_role = replica AS $$
	DELETE FROM apply_t WHERE id = p_id;
	DELETE FROM edge_crdt.tombstone WHERE relid = 'apply_t'::regclass;
	INSERT INTO apply_t SELECT id, a, b, views, meta::edge_crdt.rowmeta
	FROM apply_snap WHERE label = p_label AND id = p_id;
$$;
-- Is the row exactly (values and metadata) a saved state?
CREATE FUNCTION pg_temp.same(p_label text, p_id int) RETURNS bool LANGUAGE sql AS $$
	SELECT count(*) = 1 FROM apply_t t JOIN apply_snap s USING (id)
	WHERE s.label = p_label AND id = p_id
	  AND (t.a, t.b, t.views::text, t._edge_crdt::text)
		  IS NOT DISTINCT FROM (s.a, s.b, s.views::text, s.meta);
$$;
-- Rows with their causal length.
CREATE VIEW pg_temp.apply_rows AS
	SELECT id, a, b, views, row_cl(_edge_crdt) AS cl FROM apply_t;

INSERT INTO apply_t VALUES (1, 'one', 10, '{1000:5}'), (2, 'two', 20, NULL),
	(3, 'three', 30, NULL);
INSERT INTO apply_e VALUES (1, 1);
SELECT pg_temp.capture('ins');
SELECT pg_temp.snap('ins', id) FROM apply_t ORDER BY id;

--
-- Insert of a missing row: exactly the captured state comes back.
--
DELETE FROM apply_t WHERE id = 1;	-- stamped, leaves a tombstone (cl 2)
SELECT pg_temp.restore('nothing', 1);	-- no row, no tombstone
SELECT pg_temp.apply('ins', 1);
SELECT pg_temp.same('ins', 1);
-- idempotence: applying again (and again) changes nothing
SELECT pg_temp.apply('ins', 1);
SELECT pg_temp.apply('ins', 1);
SELECT pg_temp.same('ins', 1);
-- the other rows are already here in that state
SELECT pg_temp.apply('ins', 2), pg_temp.apply('ins', 3);
SELECT pg_temp.same('ins', 2) AND pg_temp.same('ins', 3) AS unchanged;
-- the primary key index was maintained: the row is found through it
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT id, a FROM apply_t WHERE id = 1;
RESET enable_seqscan;
RESET enable_bitmapscan;

--
-- Plain columns: last writer wins per column, by version.
--
UPDATE apply_t SET a = 'two v2' WHERE id = 2;
SELECT pg_temp.capture('upd_a');
SELECT pg_temp.snap('upd_a', 2);
-- a node that has not seen the update takes it: the higher version wins
SELECT pg_temp.restore('ins', 2);
SELECT pg_temp.apply('upd_a', 2);
SELECT pg_temp.same('upd_a', 2);
-- a later local write is not undone by the older remote one (a conflict)
UPDATE apply_t SET a = 'two v3' WHERE id = 2;
SELECT pg_temp.capture('upd_a3');
SELECT pg_temp.snap('upd_a3', 2);
SELECT pg_temp.apply('upd_a', 2);
SELECT pg_temp.same('upd_a3', 2);
-- concurrent writes of different columns both survive: the remote change
-- of b (which carries the older a) meets a newer local a
UPDATE apply_t SET b = 21 WHERE id = 2;
SELECT pg_temp.capture('upd_b');
SELECT pg_temp.restore('upd_a3', 2);
UPDATE apply_t SET a = 'two v5' WHERE id = 2;
SELECT pg_temp.capture('upd_a5');
SELECT pg_temp.apply('upd_b', 2);
SELECT * FROM pg_temp.apply_rows WHERE id = 2;
-- b took the remote version, a kept the local one
SELECT v.column_name,
	v.hlc = (c->>'hlc')::int8 AND v.node = (c->>'node')::int4 AS remote_version
FROM apply_t t, edge_crdt.row_versions('apply_t', t._edge_crdt) v,
	jsonb_array_elements(changeset_to_json(pg_temp.msg('upd_b', 'public.apply_t', 2))->'columns') c
WHERE t.id = 2 AND c->>'name' = v.column_name::text
ORDER BY 1;
-- a node that has neither change converges to the same row, whatever
-- order they arrive in
SELECT pg_temp.snap('merged', 2);
SELECT pg_temp.restore('upd_a3', 2);
SELECT pg_temp.apply('upd_b', 2), pg_temp.apply('upd_a5', 2);
SELECT pg_temp.same('merged', 2);
-- in the other order too
SELECT pg_temp.restore('upd_a3', 2);
SELECT pg_temp.apply('upd_a5', 2), pg_temp.apply('upd_b', 2);
SELECT pg_temp.same('merged', 2);

-- a large (out-of-line) value kept from the local row survives the merge
INSERT INTO apply_t
	SELECT 4, string_agg(md5(i::text), '' ORDER BY i), 40, NULL
	FROM generate_series(1, 3000) i;
SELECT pg_temp.snap('big', 4);
UPDATE apply_t SET b = 41 WHERE id = 4;
SELECT pg_temp.capture('big_b');
SELECT pg_temp.snap('big_b', 4);
SELECT pg_temp.restore('big', 4);
SELECT pg_temp.apply('big_b', 4);
SELECT pg_temp.same('big_b', 4), length(a), b FROM apply_t WHERE id = 4;
DELETE FROM apply_t WHERE id = 4;

--
-- CRDT columns merge, whatever the versions say.
--
-- The same version with another state: a gcounter that node 7 counted up,
-- while this node holds node 1000's count.
SET session_replication_role = replica;
UPDATE apply_t SET views = '{7:3}' WHERE id = 1;
RESET session_replication_role;
SELECT pg_temp.apply('ins', 1);
SELECT id, views, views::bigint AS total FROM apply_t WHERE id = 1;
SELECT pg_temp.apply('ins', 1);		-- idempotent
SELECT views FROM apply_t WHERE id = 1;
-- a newer local increment: the older remote state is already included
UPDATE apply_t SET views = views + 1 WHERE id = 1;
SELECT pg_temp.apply('ins', 1);
SELECT views FROM apply_t WHERE id = 1;
-- a node with the first state that receives this node's newer row reaches
-- the same row
SELECT pg_temp.capture('views');
SELECT pg_temp.snap('views', 1);
SELECT pg_temp.restore('ins', 1);
SELECT pg_temp.apply('views', 1);
SELECT pg_temp.same('views', 1);

--
-- Deletes: the greater causal length wins.
--
DELETE FROM apply_t WHERE id = 3;
SELECT pg_temp.capture('del');
SELECT cl FROM edge_crdt.tombstone WHERE relid = 'apply_t'::regclass;
-- a node that still has the row (cl 1) and no tombstone deletes it
SELECT pg_temp.restore('ins', 3);
SELECT pg_temp.apply('del', 3);
SELECT * FROM pg_temp.apply_rows WHERE id = 3;
SELECT cl FROM edge_crdt.tombstone WHERE relid = 'apply_t'::regclass;
SELECT pg_temp.apply('del', 3);		-- idempotent
-- the tombstone blocks the older incarnation from coming back
SELECT pg_temp.apply('ins', 3);
SELECT * FROM pg_temp.apply_rows WHERE id = 3;
-- a re-insert is a new incarnation (cl 3) ...
INSERT INTO apply_t VALUES (3, 'three again', 33, '{1000:1}');
SELECT pg_temp.capture('reins');
SELECT pg_temp.snap('reins', 3);
SELECT * FROM pg_temp.apply_rows WHERE id = 3;
-- ... that replaces the old incarnation wholesale on a node that has it
SELECT pg_temp.restore('ins', 3);
SET session_replication_role = replica;
UPDATE apply_t SET views = '{7:9}' WHERE id = 3;	-- not merged: replaced
RESET session_replication_role;
SELECT pg_temp.apply('reins', 3);
SELECT pg_temp.same('reins', 3);
-- ... and that the older delete (cl 2) does not remove
SELECT pg_temp.apply('del', 3);
SELECT pg_temp.same('reins', 3);
SELECT cl FROM edge_crdt.tombstone WHERE relid = 'apply_t'::regclass;
-- ... and that comes back over the older tombstone on a node without the row
SELECT pg_temp.restore('nothing', 3);
SELECT pg_temp.apply('del', 3), pg_temp.apply('reins', 3);
SELECT pg_temp.same('reins', 3);
-- the newer incarnation is not touched by the older row either
SELECT pg_temp.apply('ins', 3);
SELECT pg_temp.same('reins', 3);

--
-- Errors.
--
-- a column this node does not have
ALTER TABLE apply_e RENAME COLUMN v TO w;
SELECT pg_temp.apply('ins', 1, 'public.apply_e');
ALTER TABLE apply_e RENAME COLUMN w TO v;
-- a column of another type
ALTER TABLE apply_e ALTER COLUMN v TYPE bigint;
SELECT pg_temp.apply('ins', 1, 'public.apply_e');
ALTER TABLE apply_e ALTER COLUMN v TYPE int;
-- a table this node does not have, or does not replicate
ALTER TABLE apply_e RENAME TO apply_e2;
SELECT pg_temp.apply('ins', 1, 'public.apply_e');
CREATE TABLE apply_e (id int PRIMARY KEY, v int);
SELECT pg_temp.apply('ins', 1, 'public.apply_e');
DROP TABLE apply_e;
ALTER TABLE apply_e2 RENAME TO apply_e;
-- the executor checks constraints
SET session_replication_role = replica;
DELETE FROM apply_e;
RESET session_replication_role;
ALTER TABLE apply_e ADD CONSTRAINT apply_e_v_check CHECK (v > 1);
\set VERBOSITY terse
SELECT pg_temp.apply('ins', 1, 'public.apply_e');
\set VERBOSITY default
ALTER TABLE apply_e DROP CONSTRAINT apply_e_v_check;
SELECT pg_temp.apply('ins', 1, 'public.apply_e');
SELECT id, v, row_cl(_edge_crdt) FROM apply_e;

-- Hand-built messages for public.apply_e (id int, v int).
CREATE FUNCTION pg_temp.wstr(s text) RETURNS bytea LANGUAGE sql AS $$
	SELECT int2send(octet_length(s)::int2) || convert_to(s, 'UTF8');
$$;
CREATE FUNCTION pg_temp.wcol(name text, typ text, hlc int8, node int4, kind text,
	val bytea DEFAULT NULL) RETURNS bytea LANGUAGE sql AS $$
	SELECT pg_temp.wstr(name) || pg_temp.wstr(typ) || int8send(hlc) || int4send(node)
		|| convert_to(kind, 'UTF8')
		|| CASE WHEN kind IN ('b', 't') THEN int4send(length(val)) || val ELSE '' END;
$$;
CREATE FUNCTION pg_temp.wrow(cl int8, VARIADIC cols bytea[]) RETURNS bytea
LANGUAGE sql AS $$
	SELECT '\x0152'::bytea || pg_temp.wstr('public') || pg_temp.wstr('apply_e')
		|| int8send(cl) || int2send(cardinality(cols)::int2)
		|| (SELECT string_agg(c, ''::bytea ORDER BY o)
			FROM unnest(cols) WITH ORDINALITY u(c, o));
$$;
-- well-formed: a text-format value is accepted too (hlc 1 is long past)
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2)),
	pg_temp.wcol('v', 'integer', 1, 7, 't', convert_to('22', 'UTF8'))));
SELECT id, v, row_cl(_edge_crdt) FROM apply_e ORDER BY id;
-- binary value with trailing bytes, invalid text value: the context names
-- peer, relation and column
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2)),
	pg_temp.wcol('v', 'integer', 1, 7, 'b', '\x0000000102')));
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2)),
	pg_temp.wcol('v', 'integer', 1, 7, 't', convert_to('x', 'UTF8'))));
-- an unchanged (unsent) value merges only against the version it refers to
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2)),
	pg_temp.wcol('v', 'integer', 1, 7, 'u')));
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2)),
	pg_temp.wcol('v', 'integer', 1, 8, 'u')));
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(3)),
	pg_temp.wcol('v', 'integer', 1, 7, 'u')));
-- the key is required; columns appear once; row causal lengths are odd
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('v', 'integer', 1, 7, 'b', int4send(5))));
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'n')));
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2)),
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2))));
SELECT pg_temp.apply_bytes(pg_temp.wrow(2,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(2))));
-- a version names a valid node
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 5, 0, 'b', int4send(2))));
-- a delete carries the key and nothing else, with an even causal length
CREATE FUNCTION pg_temp.wdel(cl int8, VARIADIC cols bytea[]) RETURNS bytea
LANGUAGE sql AS $$
	SELECT '\x0144'::bytea || pg_temp.wstr('public') || pg_temp.wstr('apply_e')
		|| int8send(cl) || int8send(1) || int4send(7)
		|| int2send(cardinality(cols)::int2)
		|| (SELECT string_agg(c, ''::bytea ORDER BY o)
			FROM unnest(cols) WITH ORDINALITY u(c, o));
$$;
SELECT pg_temp.apply_bytes(pg_temp.wdel(2,
	pg_temp.wcol('id', 'integer', 0, 0, 'b', int4send(2)),
	pg_temp.wcol('v', 'integer', 0, 0, 'b', int4send(22))));
SELECT pg_temp.apply_bytes(pg_temp.wdel(3,
	pg_temp.wcol('id', 'integer', 0, 0, 'b', int4send(2))));
SELECT pg_temp.apply_bytes(pg_temp.wdel(2,
	pg_temp.wcol('id', 'integer', 0, 0, 'b', int4send(2))));
SELECT id, v FROM apply_e ORDER BY id;
SELECT cl, hlc, node FROM edge_crdt.tombstone WHERE relid = 'apply_e'::regclass;
-- only row, delete and message messages apply
SELECT edge_crdt.apply_change('\x0143'
	'00000000016b3748'
	'00000001016b3778'
	'000304259596d640');
SELECT edge_crdt.apply_change('\x01');
-- a message of a kind this node does not know (a newer peer's) is an error
SELECT edge_crdt.apply_change('\x014d010009656467655f637264740000000158');
-- and so is a message under another prefix
SELECT edge_crdt.apply_change('\x014d010003666f6f0000000153');
-- a clock far ahead of ours is refused before anything is written
\set VERBOSITY terse
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(9)),
	pg_temp.wcol('v', 'integer',
		(extract(epoch FROM now() + interval '1 day') * 1000)::int8 << 16,
		7, 'b', int4send(9))));
\set VERBOSITY default
SELECT count(*) FROM apply_e WHERE id = 9;
-- and a clock within the allowed skew is observed: local writes now
-- stamp above it (2 s ahead: later tests expect a clock close to the wall)
SELECT (extract(epoch FROM clock_timestamp() + interval '2 seconds') * 1000)::int8 << 16
	AS ahead \gset
SELECT pg_temp.apply_bytes(pg_temp.wrow(1,
	pg_temp.wcol('id', 'integer', 1, 7, 'b', int4send(9)),
	pg_temp.wcol('v', 'integer', :ahead, 7, 'b', int4send(9))));
UPDATE apply_e SET v = 10 WHERE id = 9;
SELECT v.column_name, v.hlc > :ahead AS above_remote, v.node
FROM apply_e t, edge_crdt.row_versions('apply_e', t._edge_crdt) v
WHERE t.id = 9 ORDER BY 1;

-- not for everyone
SELECT has_function_privilege('public', 'edge_crdt.apply_change(bytea)', 'EXECUTE');

SELECT 'dropped' FROM pg_drop_replication_slot('apply_slot');
DROP VIEW pg_temp.apply_rows;
DROP TABLE apply_t, apply_e;
