--
-- Graph helpers: reachable, shortest_path, k_shortest_paths, named graphs.
--
SET client_min_messages = warning;

-- Two equal-cost routes 1-2-4 and 1-3-4 (cost 2), a heavier direct edge
-- 1-4 (3), parallel edges 4-5 (f, k), a zero-weight edge 5-6, a cycle
-- 4-5-6-4, a self-loop on 2, an edge 3-5 with a NULL weight, and a
-- disconnected edge 7-8.  Text primary keys are the edge ids.
CREATE TABLE graph_p (id text PRIMARY KEY, source int, target int, w numeric);
CREATE INDEX ON graph_p (source);
CREATE INDEX ON graph_p (target);
INSERT INTO graph_p VALUES
	('a', 1, 2, 1), ('b', 2, 4, 1), ('c', 1, 3, 1), ('d', 3, 4, 1),
	('e', 1, 4, 3), ('f', 4, 5, 1), ('g', 5, 6, 0), ('h', 6, 4, 1),
	('i', 7, 8, 1), ('j', 2, 2, 1), ('k', 4, 5, 1), ('l', 3, 5, NULL);

-- reachable: each vertex once with its BFS depth (sources at depth 0)
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1]);
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1, 7, 1, NULL], 1);
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[6], direction => 'inbound');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[8], direction => 'any');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1], max_cost => 1);
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[]::int[]);
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, NULL::int[]);
-- weighted (Dijkstra): the NULL weight counts as default_weight
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1],
	options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1],
	options => '{"weight_col": "w", "default_weight": 5}');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1], max_cost => 2,
	options => '{"weight_col": "w", "default_weight": 5}');
-- weighted with max_depth: cheapest cost using at most max_depth edges
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1], 1,
	options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1], 2,
	options => '{"weight_col": "w", "default_weight": 5}');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1], 2, 2.5,
	options => '{"weight_col": "w", "default_weight": 5}');
SELECT * FROM edge_crdt.reachable('graph_p'::regclass, ARRAY[1],
	options => '{"edge_filter": "e.id <> ''c''", "max_rows": 3}');

-- shortest_path without weights: breadth-first, fewest edges
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 5);
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 6);
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 1);
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 7);
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 42);
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 6, 1, 'inbound');
-- with weights: bidirectional Dijkstra
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 5,
	options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 6,
	options => '{"weight_col": "w", "default_weight": 5}');
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 6, 1, 'any',
	'{"weight_col": "w", "default_weight": 5}');
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 8,
	options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 4, 4,
	options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 6,
	options => '{"weight_col": "w", "default_weight": 5, "edge_filter": "e.id NOT IN (''b'', ''d'')"}');
-- ties are deterministic: the same answer every time
SELECT count(DISTINCT p) FROM generate_series(1, 20) i,
	LATERAL (SELECT array_agg(edge_id ORDER BY seq) p
			 FROM edge_crdt.shortest_path('graph_p'::regclass, 1, 6,
				options => '{"weight_col": "w", "default_weight": 5}')) s;

-- k_shortest_paths (Yen): loopless, by cost, then fewer edges
SELECT path_id, array_agg(vertex ORDER BY seq) AS vertices,
	   array_agg(edge_id ORDER BY seq) AS edges, max(agg_cost) AS cost
FROM edge_crdt.k_shortest_paths('graph_p'::regclass, 1, 5, 10,
	options => '{"weight_col": "w", "default_weight": 5}')
GROUP BY path_id ORDER BY path_id;
SELECT * FROM edge_crdt.k_shortest_paths('graph_p'::regclass, 1, 4, 2,
	options => '{"weight_col": "w"}');
SELECT * FROM edge_crdt.k_shortest_paths('graph_p'::regclass, 1, 7, 3);
SELECT * FROM edge_crdt.k_shortest_paths('graph_p'::regclass, 2, 2, 3);
SELECT path_id, array_agg(vertex ORDER BY seq) AS vertices
FROM edge_crdt.k_shortest_paths('graph_p'::regclass, 5, 1, 3, 'any')
GROUP BY path_id ORDER BY path_id;

-- named graphs
SELECT edge_crdt.graph_create('graph_named', 'graph_p', 'source', 'target', 'w');
SELECT edge_crdt.graph_create('graph_und', 'graph_p', 'source', 'target', directed => false);
SELECT name, edges, from_col, to_col, weight_col, directed FROM edge_crdt.graph
WHERE name LIKE 'graph\_%' ORDER BY name;
SELECT * FROM edge_crdt.traverse('graph_named', 1, 1, 2, options => '{"unique_vertices": "global"}');
SELECT * FROM edge_crdt.traverse('graph_und', 8, 1, 2);
SELECT * FROM edge_crdt.neighbors('graph_named', 4);
SELECT * FROM edge_crdt.neighbors('graph_named', 4, 'inbound');
SELECT * FROM edge_crdt.reachable('graph_named', ARRAY[1], max_cost => 2);
SELECT * FROM edge_crdt.shortest_path('graph_named', 1, 5);
SELECT * FROM edge_crdt.shortest_path('graph_und', 6, 1);
SELECT path_id, max(agg_cost) FROM edge_crdt.k_shortest_paths('graph_named', 1, 4, 3)
GROUP BY path_id ORDER BY path_id;
SELECT edge_crdt.graph_drop('graph_named'), edge_crdt.graph_drop('graph_und'),
	   edge_crdt.graph_drop('graph_none');

DROP TABLE graph_p;
