--
-- Graph helpers: the memory bound (edge_crdt.graph_work_mem) and
-- cancellation of long traversals.
--
SET client_min_messages = warning;

-- complete digraph on 12 vertices with self-loops: paths explode
CREATE TABLE graph_l (id int PRIMARY KEY, source int, target int);
CREATE INDEX ON graph_l (source);
CREATE INDEX ON graph_l (target);
INSERT INTO graph_l SELECT row_number() OVER (), a, b
FROM generate_series(1, 12) a, generate_series(1, 12) b;

SHOW edge_crdt.graph_work_mem;
SET edge_crdt.graph_work_mem = 64;
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 1, 6,
	options => '{"unique_edges": "none"}');
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 1, 6,
	options => '{"unique_vertices": "path", "order": "dfs"}');
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 1, 6,
	options => '{"unique_vertices": "path", "order": "weighted"}');
-- reachability keeps a visited set only and fits
SELECT count(*) FROM edge_crdt.reachable('graph_l'::regclass, ARRAY[1]);
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 0, 6,
	options => '{"unique_vertices": "global"}');
-- max_rows stops enumeration before the bound is reached
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 1, 6,
	options => '{"unique_edges": "none", "max_rows": 100}');
SET edge_crdt.graph_work_mem = 63;
RESET edge_crdt.graph_work_mem;

-- every loop checks for interrupts: a runaway enumeration can be cancelled
SET edge_crdt.graph_work_mem = '1GB';
SET statement_timeout = '300ms';
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 1, 20,
	options => '{"unique_edges": "none"}');
SELECT count(*) FROM edge_crdt.traverse('graph_l'::regclass, 1, 1, 20,
	options => '{"unique_edges": "none", "order": "dfs"}');
RESET statement_timeout;
RESET edge_crdt.graph_work_mem;

DROP TABLE graph_l;
