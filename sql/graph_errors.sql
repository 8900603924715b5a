--
-- Graph helpers: every argument and option error.
--
SET client_min_messages = warning;
\set VERBOSITY default

CREATE TABLE graph_x (id int PRIMARY KEY, source int, target int, w float8, label text,
					  big bigint);
CREATE INDEX ON graph_x (source);
CREATE INDEX ON graph_x (target);
INSERT INTO graph_x VALUES (1, 1, 2, 1, 'x', 1), (2, 2, 3, -1, 'y', 2), (3, 3, 4, 'NaN', 'z', 3);
CREATE TABLE graph_xi (id int PRIMARY KEY, source int, target int);
CREATE INDEX ON graph_xi (target) WHERE target > 0;
CREATE INDEX ON graph_xi USING hash (source);
CREATE VIEW graph_xv AS SELECT * FROM graph_x;

-- unknown columns
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"from_col": "nope"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"to_col": "ctid"}');
SELECT * FROM edge_crdt.reachable('graph_x'::regclass, ARRAY[1], options => '{"weight_col": "nope"}');
-- wrong vertex type
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1::bigint);
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 'a'::text);
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"to_col": "big"}');
SELECT * FROM edge_crdt.reachable('graph_x'::regclass, ARRAY['1'::text]);
SELECT * FROM edge_crdt.shortest_path('graph_x'::regclass, 1, 2::bigint);
SELECT * FROM edge_crdt.k_shortest_paths('graph_x'::regclass, 1::bigint, 2::bigint, 1);
-- weight column that is not numeric
SELECT * FROM edge_crdt.shortest_path('graph_x'::regclass, 1, 2, options => '{"weight_col": "label"}');
-- negative and NaN weights, when met
SELECT * FROM edge_crdt.shortest_path('graph_x'::regclass, 1, 2, options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.shortest_path('graph_x'::regclass, 1, 3, options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 3, options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 2, options => '{"weight_col": "w", "edge_filter": "w >= 0"}');
-- unknown direction
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, 1, 1, 'sideways');
SELECT * FROM edge_crdt.neighbors('graph_x'::regclass, 1, 'OUTBOUND');
SELECT * FROM edge_crdt.reachable('graph_x'::regclass, ARRAY[1], direction => NULL);
SELECT * FROM edge_crdt.shortest_path('graph_x'::regclass, 1, 2, 'up');
SELECT * FROM edge_crdt.k_shortest_paths('graph_x'::regclass, 1, 2, 1, 'down');
-- unknown options and option values
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"colour": "red"}');
SELECT * FROM edge_crdt.neighbors('graph_x'::regclass, 1, options => '{"order": "dfs"}');
SELECT * FROM edge_crdt.shortest_path('graph_x'::regclass, 1, 2, options => '{"max_rows": 1}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"order": "random"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"unique_vertices": "all"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"unique_edges": "global"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"order": 1}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"max_rows": 0}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"max_rows": 1.5}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"max_rows": "1"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"default_weight": -1}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '[1]');
-- edge_filter is SQL: its errors are ordinary SQL errors
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"edge_filter": "nope > 1"}');
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, options => '{"edge_filter": "1"}');
-- depths
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, 3, 2);
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, -1, 2);
SELECT * FROM edge_crdt.traverse('graph_x'::regclass, 1, 0, -2);
SELECT * FROM edge_crdt.reachable('graph_x'::regclass, ARRAY[1], -1);
SELECT * FROM edge_crdt.reachable('graph_x'::regclass, ARRAY[1], max_cost => -1);
-- k < 1
SELECT * FROM edge_crdt.k_shortest_paths('graph_x'::regclass, 1, 2, 0);
-- missing indexes: partial and hash indexes do not count
SELECT * FROM edge_crdt.traverse('graph_xi'::regclass, 1);
SELECT * FROM edge_crdt.traverse('graph_xi'::regclass, 1, 1, 1, 'inbound');
SELECT * FROM edge_crdt.reachable('graph_xi'::regclass, ARRAY[1], direction => 'any');
-- not a table
SELECT * FROM edge_crdt.traverse('graph_xv'::regclass, 1);
-- NULL edges for reachable
SELECT * FROM edge_crdt.reachable(NULL::regclass, ARRAY[1]);
-- named graphs
SELECT * FROM edge_crdt.traverse('graph_nope', 1);
-- an untyped literal picks the named overload; with no such graph, a table
-- of that name is meant
SELECT * FROM edge_crdt.traverse('graph_x', 1);
SELECT edge_crdt.graph_create('graph_xn', 'graph_x', 'source', 'nope');
SELECT edge_crdt.graph_create('graph_xn', 'graph_xi', 'source', 'target');
SELECT edge_crdt.graph_create('graph_xn', 'graph_x', 'source', 'target', 'label');
SELECT edge_crdt.graph_create('graph_xn', 'graph_x', 'source', NULL);
SELECT edge_crdt.graph_create('graph_xn', 'graph_x', 'source', 'target', directed => false);
SELECT edge_crdt.graph_create('graph_xn', 'graph_x', 'source', 'target');
SELECT * FROM edge_crdt.traverse('graph_xn', 1, options => '{"from_col": "target"}');
SELECT * FROM edge_crdt.traverse('graph_xn', 1, 1, 1, 'outbound');
SELECT * FROM edge_crdt.traverse('graph_xn', NULL::int);
SELECT * FROM edge_crdt.k_shortest_paths('graph_xn', 1, 2, NULL);
SELECT edge_crdt.graph_drop('graph_xn');

DROP VIEW graph_xv;
DROP TABLE graph_x, graph_xi;
