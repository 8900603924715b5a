--
-- Graph helpers: the direct index path reads the heap in block order
-- (graph_common.c, direct_bitmap_scan).  Its results must equal the SQL
-- path's (forced by an edge_filter) whatever state the heap pages are in:
-- fresh (not all-visible), all-visible after VACUUM, with HOT chains and
-- deleted rows, and with pruned chains (redirect line pointers) after
-- another VACUUM.  Every "diff" query must return 0.
-- Each state is checked twice: as the defaults choose, and with
-- edge_crdt.graph_scan_fraction = 0, which makes every step over several
-- vertices take its large-step path: a reachability step with an index on
-- the neighbour column answers from the two indexes and the visibility map
-- (reader_pass), any other step reads the whole heap in order
-- (reader_seqscan; graph_hs has no index to pass over).
--
SET client_min_messages = warning;

-- 2000 vertices, 12000 edges over many pages; integer keys are dense, so
-- frontier walks cover runs of keys as well as isolated ones
CREATE TABLE graph_h (id int PRIMARY KEY, source int, target int, w int, pad text);
CREATE INDEX ON graph_h (source);
CREATE INDEX ON graph_h (target);
SELECT setseed(0.25);
INSERT INTO graph_h
SELECT i, 1 + floor(2000 * random() ^ 2)::int, 1 + floor(2000 * random() ^ 2)::int,
	   floor(random() * 10)::int, repeat('x', 40)
FROM generate_series(1, 12000) i;
-- the same graph with text vertices (no integer fast paths)
CREATE TABLE graph_ht (id int PRIMARY KEY, source text, target text, w int);
CREATE INDEX ON graph_ht (source);
CREATE INDEX ON graph_ht (target);
-- and with bigint vertices spread far apart (most outside any key window)
CREATE TABLE graph_hb (id int PRIMARY KEY, source bigint, target bigint, w int);
CREATE INDEX ON graph_hb (source);
CREATE INDEX ON graph_hb (target);
-- and with an index on the source column only (outbound steps only)
CREATE TABLE graph_hs (id int PRIMARY KEY, source int, target int);
CREATE INDEX ON graph_hs (source);

CREATE FUNCTION graph_h_check() RETURNS TABLE (what text, diff bigint)
LANGUAGE sql AS $$
	DELETE FROM graph_ht;
	INSERT INTO graph_ht SELECT id, 'v' || source, 'v' || target, w FROM graph_h;
	DELETE FROM graph_hb;
	INSERT INTO graph_hb SELECT id, source * 1000003, target * 1000003, w FROM graph_h;
	DELETE FROM graph_hs;
	INSERT INTO graph_hs SELECT id, source, target FROM graph_h;
	SELECT 'reachable', count(*) FROM (
		(SELECT s, x.* FROM generate_series(1, 25) s,
			edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3) x
		 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 25) s,
			edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3, options => '{"edge_filter": "true"}') x)
		UNION ALL
		(SELECT s, x.* FROM generate_series(1, 25) s,
			edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3, options => '{"edge_filter": "true"}') x
		 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 25) s,
			edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3) x)) q
	UNION ALL
	SELECT 'reachable any', count(*) FROM (
		(SELECT x.* FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[1500, 1900], 2, direction => 'any') x
		 EXCEPT ALL SELECT x.* FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[1500, 1900], 2,
			direction => 'any', options => '{"edge_filter": "true"}') x)
		UNION ALL
		(SELECT x.* FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[1500, 1900], 2,
			direction => 'any', options => '{"edge_filter": "true"}') x
		 EXCEPT ALL SELECT x.* FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[1500, 1900], 2, direction => 'any') x)) q
	UNION ALL
	SELECT 'reachable weighted', count(*) FROM (
		SELECT x.* FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[7], 3, options => '{"weight_col": "w"}') x
		EXCEPT ALL SELECT x.* FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[7], 3,
			options => '{"weight_col": "w", "edge_filter": "true"}') x) q
	UNION ALL
	SELECT 'reachable text', count(*) FROM (
		(SELECT 'v' || x.vertex, x.depth FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[3], 3) x
		 EXCEPT ALL SELECT x.vertex, x.depth FROM edge_crdt.reachable('graph_ht'::regclass, ARRAY['v3'], 3) x)
		UNION ALL
		(SELECT x.vertex, x.depth FROM edge_crdt.reachable('graph_ht'::regclass, ARRAY['v3'], 3) x
		 EXCEPT ALL SELECT 'v' || x.vertex, x.depth FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[3], 3) x)) q
	UNION ALL
	SELECT 'reachable bigint', count(*) FROM (
		(SELECT x.vertex * 1000003, x.depth FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[3, 1700], 3) x
		 EXCEPT ALL SELECT x.vertex, x.depth FROM edge_crdt.reachable('graph_hb'::regclass,
			ARRAY[3 * 1000003, 1700 * 1000003]::bigint[], 3) x)
		UNION ALL
		(SELECT x.vertex, x.depth FROM edge_crdt.reachable('graph_hb'::regclass,
			ARRAY[3 * 1000003, 1700 * 1000003]::bigint[], 3) x
		 EXCEPT ALL SELECT x.vertex * 1000003, x.depth FROM edge_crdt.reachable('graph_h'::regclass, ARRAY[3, 1700], 3) x)) q
	UNION ALL
	SELECT 'reachable source index', count(*) FROM (
		(SELECT s, x.* FROM generate_series(1, 10) s,
			edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3) x
		 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 10) s,
			edge_crdt.reachable('graph_hs'::regclass, ARRAY[s], 3) x)
		UNION ALL
		(SELECT s, x.* FROM generate_series(1, 10) s,
			edge_crdt.reachable('graph_hs'::regclass, ARRAY[s], 3) x
		 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 10) s,
			edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3) x)) q
	UNION ALL
	SELECT 'traverse', count(*) FROM (
		(SELECT s, x.* FROM generate_series(98, 100) s,
			edge_crdt.traverse('graph_h'::regclass, s, 0, 2, 'any', '{"weight_col": "w"}') x
		 EXCEPT ALL SELECT s, x.* FROM generate_series(98, 100) s,
			edge_crdt.traverse('graph_h'::regclass, s, 0, 2, 'any', '{"weight_col": "w", "edge_filter": "true"}') x)
		UNION ALL
		(SELECT s, x.* FROM generate_series(98, 100) s,
			edge_crdt.traverse('graph_h'::regclass, s, 0, 2, 'any', '{"weight_col": "w", "edge_filter": "true"}') x
		 EXCEPT ALL SELECT s, x.* FROM generate_series(98, 100) s,
			edge_crdt.traverse('graph_h'::regclass, s, 0, 2, 'any', '{"weight_col": "w"}') x)) q
	UNION ALL
	SELECT 'traverse text', count(*) FROM (
		SELECT x.depth, x.edge_path FROM edge_crdt.traverse('graph_h'::regclass, 5, 1, 2) x
		EXCEPT ALL SELECT x.depth, x.edge_path FROM edge_crdt.traverse('graph_ht'::regclass, 'v5'::text, 1, 2) x) q
	UNION ALL
	SELECT 'shortest_path', count(*) FROM (
		SELECT s, t, x.* FROM generate_series(1500, 1505) s, generate_series(1990, 1995) t,
			edge_crdt.shortest_path('graph_h'::regclass, s, t, 'any', '{"weight_col": "w"}') x
		EXCEPT ALL
		SELECT s, t, x.* FROM generate_series(1500, 1505) s, generate_series(1990, 1995) t,
			edge_crdt.shortest_path('graph_h'::regclass, s, t, 'any', '{"weight_col": "w", "edge_filter": "true"}') x) q
	UNION ALL
	SELECT 'shortest_path bfs', count(*) FROM (
		SELECT s, t, x.* FROM generate_series(1500, 1504) s, generate_series(1996, 2000) t,
			edge_crdt.shortest_path('graph_h'::regclass, s, t) x
		EXCEPT ALL
		SELECT s, t, x.* FROM generate_series(1500, 1504) s, generate_series(1996, 2000) t,
			edge_crdt.shortest_path('graph_h'::regclass, s, t, options => '{"edge_filter": "true"}') x) q
$$;

-- fresh pages: every row goes through the visibility check
SELECT * FROM graph_h_check();
SET edge_crdt.graph_scan_fraction = 0;
SELECT * FROM graph_h_check();
RESET edge_crdt.graph_scan_fraction;
-- not vacuous: the reachability checks see many rows
SELECT count(*) > 10000 AS many FROM generate_series(1, 25) s,
	edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3);
-- all-visible pages: rows are read from their line pointers
VACUUM graph_h;
SELECT * FROM graph_h_check();
SET edge_crdt.graph_scan_fraction = 0;
SELECT * FROM graph_h_check();
RESET edge_crdt.graph_scan_fraction;
-- HOT chains (w and pad are not indexed) and deleted rows; a non-HOT
-- update moves some edges (new source) and another retargets some
UPDATE graph_h SET w = (w + 3) % 10 WHERE id % 3 = 0;
UPDATE graph_h SET pad = pad || 'y' WHERE id % 7 = 0;
DELETE FROM graph_h WHERE id % 11 = 0;
UPDATE graph_h SET source = 1 + (source * 7) % 2000 WHERE id % 13 = 0;
UPDATE graph_h SET target = 1 + (target * 3) % 2000 WHERE id % 17 = 0;
SELECT * FROM graph_h_check();
SET edge_crdt.graph_scan_fraction = 0;
SELECT * FROM graph_h_check();
RESET edge_crdt.graph_scan_fraction;
-- pruned chains: redirect line pointers on all-visible pages
VACUUM graph_h;
SELECT * FROM graph_h_check();
SET edge_crdt.graph_scan_fraction = 0;
SELECT * FROM graph_h_check();
RESET edge_crdt.graph_scan_fraction;
-- a tighter edge_crdt.graph_work_mem (smaller rounds of TIDs to sort and
-- read): the same result
SET edge_crdt.graph_work_mem = 1000;
SELECT count(*) AS diff FROM (
	(SELECT s, x.* FROM generate_series(1, 25) s,
		edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3) x
	 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 25) s,
		edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3, options => '{"edge_filter": "true"}') x)
	UNION ALL
	(SELECT s, x.* FROM generate_series(1, 25) s,
		edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3, options => '{"edge_filter": "true"}') x
	 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 25) s,
		edge_crdt.reachable('graph_h'::regclass, ARRAY[s], 3) x)) q;
RESET edge_crdt.graph_work_mem;
-- null endpoints, and indexes in descending or nulls-first order (an
-- index pass then reads every leaf page), all-visible or not
CREATE TABLE graph_hn (id int PRIMARY KEY, source int, target int);
CREATE INDEX ON graph_hn (source DESC);
CREATE INDEX ON graph_hn (target NULLS FIRST);
INSERT INTO graph_hn
SELECT id, CASE WHEN id % 10 = 0 THEN NULL ELSE source END,
	   CASE WHEN id % 7 = 0 THEN NULL ELSE target END
FROM graph_h;
CREATE FUNCTION graph_hn_check() RETURNS bigint
LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT s, d, x.* FROM generate_series(1, 15) s, unnest(ARRAY['outbound', 'inbound', 'any']) d,
			edge_crdt.reachable('graph_hn'::regclass, ARRAY[s], 3, direction => d) x
		 EXCEPT ALL SELECT s, d, x.* FROM generate_series(1, 15) s, unnest(ARRAY['outbound', 'inbound', 'any']) d,
			edge_crdt.reachable('graph_hn'::regclass, ARRAY[s], 3, direction => d,
								options => '{"edge_filter": "true"}') x)
		UNION ALL
		(SELECT s, d, x.* FROM generate_series(1, 15) s, unnest(ARRAY['outbound', 'inbound', 'any']) d,
			edge_crdt.reachable('graph_hn'::regclass, ARRAY[s], 3, direction => d,
								options => '{"edge_filter": "true"}') x
		 EXCEPT ALL SELECT s, d, x.* FROM generate_series(1, 15) s, unnest(ARRAY['outbound', 'inbound', 'any']) d,
			edge_crdt.reachable('graph_hn'::regclass, ARRAY[s], 3, direction => d) x)) q
$$;
SET edge_crdt.graph_scan_fraction = 0;
SELECT graph_hn_check() AS diff;
VACUUM graph_hn;
SELECT graph_hn_check() AS diff;
RESET edge_crdt.graph_scan_fraction;
SELECT graph_hn_check() AS diff;
DROP FUNCTION graph_hn_check();
DROP TABLE graph_hn;
-- the same within one transaction that changed the table (its own
-- uncommitted rows are visible to it, deleted ones are not)
BEGIN;
DELETE FROM graph_h WHERE id % 5 = 0;
INSERT INTO graph_h SELECT 20000 + i, i, 2001 - i, 1, 'new' FROM generate_series(1, 2000, 50) i;
SELECT * FROM graph_h_check();
SET edge_crdt.graph_scan_fraction = 0;
SELECT * FROM graph_h_check();
RESET edge_crdt.graph_scan_fraction;
ROLLBACK;

DROP FUNCTION graph_h_check();
DROP TABLE graph_h, graph_ht, graph_hb, graph_hs;
