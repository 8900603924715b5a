--
-- Tombstone collection, the parts one node shows: table floors (a local
-- insert starts above them; remote rows ignore them), frontier messages,
-- applied_through, and what the output plugin does not send (floors, the
-- stamping of our own deletions).  The condition itself needs peers: TAP
-- test/t/028_tombstone_gc.pl and the randomized 012_random.pl.
--
\set SHOW_CONTEXT never

CREATE FUNCTION gc_show(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
	SELECT CASE j->>'type'
		WHEN 'begin' THEN j - '{final_lsn,commit_time,xid}'::text[]
		WHEN 'commit' THEN jsonb_build_object('type', 'commit')
		WHEN 'row' THEN (j - 'columns') || jsonb_build_object('columns',
			(SELECT jsonb_agg(c - 'hlc' ORDER BY o)
			 FROM jsonb_array_elements(j->'columns') WITH ORDINALITY AS e(c, o)))
		WHEN 'delete' THEN j - 'hlc' - 'columns'
		ELSE j END
$$;

CREATE TABLE gc_t (id int PRIMARY KEY, v text);
SELECT edge_crdt.replicate_table('gc_t');
SELECT 'ok' FROM pg_create_logical_replication_slot('gc_slot', 'edge_crdt');

-- No floor: a new key starts at causal length 1.
INSERT INTO gc_t VALUES (1, 'a');
SELECT edge_crdt.table_floor('gc_t'), edge_crdt.row_cl(_edge_crdt) FROM gc_t;

-- Keep the change of a row at causal length 1 to apply later as if it came
-- from a peer, and remove the row without a trace (replica role).
INSERT INTO gc_t VALUES (9, 'remote');
CREATE TEMP TABLE gc_msg AS
	SELECT data FROM pg_logical_slot_get_binary_changes('gc_slot', NULL, NULL, 'proto_version', '1')
	WHERE edge_crdt.changeset_to_json(data)->'columns'->0->>'value' = '9';
SET session_replication_role = replica;
DELETE FROM gc_t WHERE id = 9;
RESET session_replication_role;

-- With a floor of 6 a new key starts at 7; a key with a greater
-- tombstone starts above the tombstone.
SELECT edge_crdt.raise_floor('gc_t', 6);
INSERT INTO gc_t VALUES (2, 'b');
DELETE FROM gc_t WHERE id = 2;		-- tombstone 8
INSERT INTO gc_t VALUES (2, 'b again');
UPDATE gc_t SET id = 3 WHERE id = 1;	-- a new key through a key change: 7
SELECT id, edge_crdt.row_cl(_edge_crdt) FROM gc_t ORDER BY id;

-- A floor never goes down, and is the causal length of a deletion.
SELECT edge_crdt.raise_floor('gc_t', 4);
SELECT edge_crdt.table_floor('gc_t');
SELECT edge_crdt.raise_floor('gc_t', 5);
SELECT edge_crdt.raise_floor('gc_t', -2);

-- The floor is not a tombstone: the status view counts two (ids 1 and 2).
SELECT tombstones, floor, oldest_deletion IS NOT NULL AS has_oldest
FROM edge_crdt.tombstone_status WHERE table_name = 'gc_t'::regclass;

-- Remote rows are not compared with the floor: the change of id 9 at
-- causal length 1 is applied as it is.  (Earlier tests moved the clock
-- ahead of the wall clock.)
SET edge_crdt.max_clock_skew = '1d';
SELECT count(*) FROM gc_msg;
SELECT edge_crdt.apply_change(data) FROM gc_msg;
SELECT id, v, edge_crdt.row_cl(_edge_crdt) FROM gc_t WHERE id = 9;

-- What the plugin sends: the rows and the deletions, not the floor,
-- and not tombstone collection stamping our own deletions (an update of a
-- tombstone of this node that sets lsn).  A frontier message travels.
UPDATE edge_crdt.tombstone SET lsn = pg_current_wal_insert_lsn()
WHERE relid = 'gc_t'::regclass AND pk <> '';
SELECT edge_crdt.emit_message('F', '{"v": 1, "applied": {}}');
SELECT gc_show(edge_crdt.changeset_to_json(data))
FROM pg_logical_slot_get_binary_changes('gc_slot', NULL, NULL, 'proto_version', '1');

-- Frontier messages: the latest one of a peer replaces its previous one.
SELECT edge_crdt.apply_frontier_message('{"v": 1, "applied": {"7": "0/10", "8": "0/20"}}', 5);
SELECT reporter, origin, applied_lsn FROM edge_crdt.frontier ORDER BY 1, 2;
SELECT edge_crdt.apply_frontier_message('{"v": 1, "applied": {"7": "0/5"}}', 5);
SELECT reporter, origin, applied_lsn FROM edge_crdt.frontier ORDER BY 1, 2;
-- malformed ones are errors (the apply quarantines them)
SELECT edge_crdt.apply_frontier_message('[]', 5);
SELECT edge_crdt.apply_frontier_message('{"v": 2, "applied": {}}', 5);
SELECT edge_crdt.apply_frontier_message('{"v": 1, "applied": {"x": "0/1"}}', 5);
SELECT edge_crdt.apply_frontier_message('{"v": 1, "applied": {"7": "zz"}}', 5);
SELECT reporter, origin, applied_lsn FROM edge_crdt.frontier ORDER BY 1, 2;
DELETE FROM edge_crdt.frontier;

-- applied_through: the origin's position, held back by a quarantined
-- transaction of that peer; NULL without an origin.
SELECT edge_crdt.applied_through(4243);
SELECT 'ok' FROM pg_replication_origin_create('edge_crdt_4243');
SELECT 'ok' FROM pg_replication_origin_session_setup('edge_crdt_4243');
BEGIN;
SELECT 'ok' FROM pg_replication_origin_xact_setup('0/ABCDEF', now());
INSERT INTO gc_t VALUES (10, 'from 4243');
COMMIT;
SELECT 'ok' FROM pg_replication_origin_session_reset();
SELECT edge_crdt.applied_through(4243);
INSERT INTO edge_crdt.apply_errors (peer_name, origin_node, commit_lsn, commit_time,
	sqlstate, error, messages)
VALUES ('p4243', 4243, '0/1000', now(), '23505', 'test', '{}');
SELECT edge_crdt.applied_through(4243);
DELETE FROM edge_crdt.apply_errors WHERE origin_node = 4243;
SELECT pg_replication_origin_drop('edge_crdt_4243');

-- Without peers nothing is collected and no frontier is written.
SELECT edge_crdt.collect_tombstones(), edge_crdt.emit_frontier();

SELECT pg_drop_replication_slot('gc_slot');
SELECT edge_crdt.unreplicate_table('gc_t');
SELECT count(*) FROM edge_crdt.tombstone WHERE relid = 'gc_t'::regclass;
DROP TABLE gc_t;
