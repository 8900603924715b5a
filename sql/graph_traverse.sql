--
-- Graph helpers: traverse and neighbors on small hand-checked graphs.
--
SET client_min_messages = warning;

-- A 3-cycle 1->2->3->1, a chord 1->3, a self-loop on 3, parallel edges
-- 2->4 (ids 6 and 9), a tail 4->5 and a disconnected edge 9->10.
CREATE TABLE graph_t (id int PRIMARY KEY, source int, target int, w float8, kind text);
CREATE INDEX ON graph_t (source);
CREATE INDEX ON graph_t (target);
INSERT INTO graph_t VALUES
	(1, 1, 2, 1, 'a'), (2, 2, 3, 1, 'a'), (3, 3, 1, 1, 'b'), (4, 1, 3, 5, 'a'),
	(5, 3, 3, 1, 'b'), (6, 2, 4, 2, 'a'), (7, 4, 5, 1, 'a'), (8, 9, 10, 1, 'a'),
	(9, 2, 4, 3, 'b');

-- defaults: depth 1..1, outbound
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1);
-- min_depth = 0 includes the start with an empty edge path
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 0, 2);
-- default uniqueness (vertices none, edges path): cycles and the self-loop
-- are walked, no edge twice on one path
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 3, 3);
-- unique_edges none: the self-loop can repeat
SELECT vertex_path, edge_path FROM edge_crdt.traverse('graph_t'::regclass, 3, 2, 2,
	options => '{"unique_edges": "none"}');
-- unique_vertices path: simple paths only
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 4, 'outbound',
	'{"unique_vertices": "path"}');
-- unique_vertices global: each vertex once, BFS tree
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 0, 10, 'outbound',
	'{"unique_vertices": "global"}');
-- dfs preorder, global and path
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 0, 10, 'outbound',
	'{"unique_vertices": "global", "order": "dfs"}');
SELECT depth, vertex_path FROM edge_crdt.traverse('graph_t'::regclass, 1, 0, 10, 'outbound',
	'{"unique_vertices": "path", "order": "dfs"}');
-- weighted order: by cost, ties by fewer edges, then creation order
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 0, 3, 'outbound',
	'{"unique_vertices": "global", "order": "weighted", "weight_col": "w"}');
SELECT depth, vertex_path, edge_path, cost FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 3, 'outbound',
	'{"unique_vertices": "path", "order": "weighted", "weight_col": "w"}');
-- default_weight without a weight column scales the cost
SELECT depth, vertex, cost FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 2, 'outbound',
	'{"unique_vertices": "global", "default_weight": 2.5}');
-- inbound and any
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 4, 1, 2, 'inbound',
	'{"unique_vertices": "global"}');
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 5, 0, 10, 'any',
	'{"unique_vertices": "global"}');
-- "any" walks an edge either way but never back along the same edge
SELECT vertex_path, edge_path FROM edge_crdt.traverse('graph_t'::regclass, 9, 1, 3, 'any');
-- disconnected part: nothing beyond 10
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 10, 0, 5);
-- a start vertex that is not in the graph
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 42, 0, 5);
-- max_depth 0
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 0, 0);
-- edge_filter: a boolean expression over the edge row (alias e)
SELECT vertex_path, edge_path FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 3, 'outbound',
	'{"unique_vertices": "path", "edge_filter": "e.kind = ''a''"}');
SELECT vertex_path FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 3, 'outbound',
	'{"unique_vertices": "global", "edge_filter": "w < 2"}');
-- max_rows stops after that many rows
SELECT * FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 3, 'outbound', '{"max_rows": 3}');

-- custom column names, composite primary key (row literal edge ids)
CREATE TABLE graph_t2 (a int, b int, src int, dst int, PRIMARY KEY (a, b));
CREATE INDEX ON graph_t2 (src);
CREATE INDEX ON graph_t2 (dst);
INSERT INTO graph_t2 VALUES (1, 1, 10, 20), (1, 2, 20, 30), (2, 1, 10, 30);
SELECT * FROM edge_crdt.traverse('graph_t2'::regclass, 10, 1, 2, 'outbound',
	'{"from_col": "src", "to_col": "dst"}');
-- no primary key: ctid edge ids
CREATE TABLE graph_t3 (source int, target int);
CREATE INDEX ON graph_t3 (source);
INSERT INTO graph_t3 VALUES (1, 2), (2, 3);
SELECT depth, vertex, edge_path FROM edge_crdt.traverse('graph_t3'::regclass, 1, 1, 2);

-- partitioned and materialized edge tables (ctid edge ids carry the partition)
CREATE TABLE graph_tp (source int, target int) PARTITION BY RANGE (source);
CREATE TABLE graph_tp_1 PARTITION OF graph_tp FOR VALUES FROM (0) TO (100);
CREATE INDEX ON graph_tp (source);
INSERT INTO graph_tp VALUES (1, 2), (2, 3);
SELECT * FROM edge_crdt.traverse('graph_tp'::regclass, 1, 1, 2);
CREATE MATERIALIZED VIEW graph_tm AS SELECT * FROM graph_t2;
CREATE INDEX ON graph_tm (src);
SELECT vertex, edge_id FROM edge_crdt.neighbors('graph_tm'::regclass, 10,
	options => '{"from_col": "src", "to_col": "dst"}');
DROP MATERIALIZED VIEW graph_tm;
DROP TABLE graph_tp;

-- neighbors: one row per edge, by neighbour then edge id
SELECT * FROM edge_crdt.neighbors('graph_t'::regclass, 2);
SELECT * FROM edge_crdt.neighbors('graph_t'::regclass, 3, 'any');
SELECT * FROM edge_crdt.neighbors('graph_t'::regclass, 3, 'inbound', '{"weight_col": "w"}');
SELECT * FROM edge_crdt.neighbors('graph_t'::regclass, 2, 'outbound',
	'{"edge_filter": "e.kind = ''b''", "max_rows": 1}');

-- text, bigint and uuid vertices
CREATE TABLE graph_tx (id int PRIMARY KEY, source text, target text);
CREATE INDEX ON graph_tx (source);
CREATE INDEX ON graph_tx (target);
INSERT INTO graph_tx VALUES (1, 'b', 'c'), (2, 'a', 'd'), (3, 'a', 'b'), (4, 'c', 'a');
SELECT * FROM edge_crdt.traverse('graph_tx'::regclass, 'a'::text, 0, 3, 'outbound',
	'{"unique_vertices": "global"}');
CREATE TABLE graph_tb (id bigint PRIMARY KEY, source bigint, target bigint);
CREATE INDEX ON graph_tb (source);
INSERT INTO graph_tb VALUES (1, 5000000000, 5000000001), (2, 5000000001, 5000000002);
SELECT * FROM edge_crdt.traverse('graph_tb'::regclass, 5000000000::bigint, 1, 2);
CREATE TABLE graph_tu (id int PRIMARY KEY, source uuid, target uuid);
CREATE INDEX ON graph_tu (source);
INSERT INTO graph_tu VALUES
	(1, '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000002'),
	(2, '00000000-0000-0000-0000-000000000002', '00000000-0000-0000-0000-000000000003');
SELECT depth, vertex, edge_path FROM edge_crdt.traverse('graph_tu'::regclass,
	'00000000-0000-0000-0000-000000000001'::uuid, 1, 5);

-- row-level security and grants apply: the function runs as the caller
CREATE ROLE regress_graph_reader;
ALTER TABLE graph_t ENABLE ROW LEVEL SECURITY;
CREATE POLICY graph_t_a ON graph_t FOR SELECT USING (kind = 'a');
GRANT SELECT ON graph_t TO regress_graph_reader;
GRANT USAGE ON SCHEMA edge_crdt TO regress_graph_reader;
SET ROLE regress_graph_reader;
SELECT vertex_path FROM edge_crdt.traverse('graph_t'::regclass, 1, 1, 4, 'outbound',
	'{"unique_vertices": "path"}');
SELECT * FROM edge_crdt.traverse('graph_t2'::regclass, 10, 1, 2, 'outbound',
	'{"from_col": "src", "to_col": "dst"}');
RESET ROLE;
ALTER TABLE graph_t DISABLE ROW LEVEL SECURITY;
DROP POLICY graph_t_a ON graph_t;
REVOKE SELECT ON graph_t FROM regress_graph_reader;
REVOKE USAGE ON SCHEMA edge_crdt FROM regress_graph_reader;
DROP ROLE regress_graph_reader;

DROP TABLE graph_t, graph_t2, graph_t3, graph_tx, graph_tb, graph_tu;
