--
-- Graph helpers against recursive-CTE references on random graphs.
-- Every "diff" query must return 0; the "rows" queries show the checks
-- were not vacuous.
--
SET client_min_messages = warning;

-- 40 vertices, 90 edges, integer weights 0..9: self-loops, parallel edges,
-- zero-weight cycles and unreachable parts all occur.
CREATE TABLE graph_r (id int PRIMARY KEY, source int, target int, w int);
CREATE INDEX ON graph_r (source);
CREATE INDEX ON graph_r (target);
SELECT setseed(0.42);
INSERT INTO graph_r
SELECT i, 1 + floor(random() * 40)::int, 1 + floor(random() * 40)::int, floor(random() * 10)::int
FROM generate_series(1, 90) i;
SELECT count(*) FILTER (WHERE source = target) AS self_loops,
	   count(*) - count(DISTINCT (source, target)) AS parallel,
	   count(*) FILTER (WHERE w = 0) AS zero_weight
FROM graph_r;
-- both directions, each edge once (a self-loop only forward)
CREATE VIEW graph_r_any AS
	SELECT id, source, target, w FROM graph_r
	UNION ALL
	SELECT id, target, source, w FROM graph_r WHERE source <> target;

-- BFS depth within 4 hops, from 10 starts: reachable and traverse(global)
CREATE TEMP TABLE graph_ref_bfs AS
WITH RECURSIVE r(s, v, d) AS (
	SELECT s, s, 0 FROM generate_series(1, 10) s
	UNION
	SELECT r.s, e.target, r.d + 1 FROM r JOIN graph_r e ON e.source = r.v WHERE r.d < 4)
SELECT s, v, min(d) AS d FROM r GROUP BY s, v;
SELECT count(*) AS rows FROM graph_ref_bfs;
SELECT count(*) AS diff FROM (
	(SELECT s, v, d FROM graph_ref_bfs
	 EXCEPT SELECT s, x.vertex, x.depth FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s], 4) x)
	UNION ALL
	(SELECT s, x.vertex, x.depth FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s], 4) x
	 EXCEPT ALL SELECT s, v, d FROM graph_ref_bfs)) q;
SELECT count(*) AS diff FROM (
	(SELECT s, v, d FROM graph_ref_bfs
	 EXCEPT SELECT s, x.vertex, x.depth FROM generate_series(1, 10) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 4, 'outbound', '{"unique_vertices": "global"}') x)
	UNION ALL
	(SELECT s, x.vertex, x.depth FROM generate_series(1, 10) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 4, 'outbound', '{"unique_vertices": "global"}') x
	 EXCEPT ALL SELECT s, v, d FROM graph_ref_bfs)) q;
-- the BFS tree paths are real paths of the reported length
SELECT count(*) AS bad FROM generate_series(1, 10) s,
	edge_crdt.traverse('graph_r'::regclass, s, 1, 4, 'outbound', '{"unique_vertices": "global"}') x
WHERE cardinality(x.edge_path) <> x.depth OR x.vertex_path[1] <> s
   OR x.vertex_path[x.depth + 1] <> x.vertex
   OR EXISTS (SELECT 1 FROM generate_series(1, x.depth) i
			  WHERE NOT EXISTS (SELECT 1 FROM graph_r e WHERE e.id::text = x.edge_path[i]
								AND e.source = x.vertex_path[i] AND e.target = x.vertex_path[i + 1]));
-- multi-source and multi-source inbound
SELECT count(*) AS diff FROM (
	(SELECT v, min(d) FROM graph_ref_bfs GROUP BY v
	 EXCEPT SELECT vertex, depth FROM edge_crdt.reachable('graph_r'::regclass, ARRAY(SELECT generate_series(1, 10)), 4))
	UNION ALL
	(SELECT vertex, depth FROM edge_crdt.reachable('graph_r'::regclass, ARRAY(SELECT generate_series(1, 10)), 4)
	 EXCEPT ALL SELECT v, min(d) FROM graph_ref_bfs GROUP BY v)) q;
SELECT count(*) AS diff FROM (
	(WITH RECURSIVE r(v, d) AS (
		SELECT 7, 0 UNION SELECT e.source, r.d + 1 FROM r JOIN graph_r e ON e.target = r.v WHERE r.d < 6)
	 SELECT v, min(d) FROM r GROUP BY v)
	EXCEPT
	SELECT vertex, depth FROM edge_crdt.reachable('graph_r'::regclass, ARRAY[7], 6, direction => 'inbound')) q;

-- simple paths (unique_vertices path), up to 4 edges
CREATE TEMP TABLE graph_ref_simple AS
WITH RECURSIVE p(s, vp, ep) AS (
	SELECT s, ARRAY[s], ARRAY[]::text[] FROM generate_series(1, 5) s
	UNION ALL
	SELECT p.s, p.vp || e.target, p.ep || e.id::text
	FROM p JOIN graph_r e ON e.source = p.vp[cardinality(p.vp)]
	WHERE cardinality(p.ep) < 4 AND e.target <> ALL (p.vp))
SELECT s, cardinality(ep) AS d, vp, ep FROM p WHERE cardinality(ep) >= 1;
SELECT count(*) AS rows FROM graph_ref_simple;
SELECT count(*) AS diff FROM (
	(SELECT s, d, vp, ep FROM graph_ref_simple
	 EXCEPT ALL SELECT s, x.depth, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 1, 4, 'outbound', '{"unique_vertices": "path"}') x)
	UNION ALL
	(SELECT s, x.depth, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 1, 4, 'outbound', '{"unique_vertices": "path"}') x
	 EXCEPT ALL SELECT s, d, vp, ep FROM graph_ref_simple)) q;
-- same set in dfs and weighted order
SELECT count(*) AS diff FROM (
	(SELECT s, d, vp, ep FROM graph_ref_simple
	 EXCEPT ALL SELECT s, x.depth, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 1, 4, 'outbound', '{"unique_vertices": "path", "order": "dfs"}') x)
	UNION ALL
	(SELECT s, x.depth, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 1, 4, 'outbound',
			'{"unique_vertices": "path", "order": "weighted", "weight_col": "w"}') x
	 EXCEPT ALL SELECT s, d, vp, ep FROM graph_ref_simple)) q;
-- the SQL path (forced by an edge_filter) and the direct index path agree
SELECT count(*) AS diff FROM (
	(SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w"}') x
	 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w", "edge_filter": "true"}') x)
	UNION ALL
	(SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w", "edge_filter": "true"}') x
	 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w"}') x)) q;
SELECT count(*) AS diff FROM (
	SELECT s, t, x.* FROM generate_series(1, 5) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t, 'inbound', '{"weight_col": "w"}') x
	EXCEPT ALL
	SELECT s, t, x.* FROM generate_series(1, 5) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t, 'inbound', '{"weight_col": "w", "edge_filter": "true"}') x) q;
-- covering indexes: rows on all-visible pages come from the index alone
CREATE INDEX graph_r_cover_s ON graph_r (source) INCLUDE (target, w, id);
CREATE INDEX graph_r_cover_t ON graph_r (target) INCLUDE (source, w, id);
VACUUM graph_r;
SELECT count(*) AS diff FROM (
	(SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w"}') x
	 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w", "edge_filter": "true"}') x)
	UNION ALL
	(SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w", "edge_filter": "true"}') x
	 EXCEPT ALL SELECT s, x.* FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 3, 'any', '{"weight_col": "w"}') x)) q;
SELECT count(*) AS diff FROM (
	SELECT s, t, x.* FROM generate_series(1, 5) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t, 'outbound', '{"weight_col": "w"}') x
	EXCEPT ALL
	SELECT s, t, x.* FROM generate_series(1, 5) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t, 'outbound', '{"weight_col": "w", "edge_filter": "true"}') x) q;
DROP INDEX graph_r_cover_s, graph_r_cover_t;
-- weighted order really is by cost, then depth
SELECT count(*) AS bad FROM (
	SELECT x.cost, x.depth, lag(x.cost) OVER w AS pc, lag(x.depth) OVER w AS pd
	FROM generate_series(1, 5) s,
		LATERAL (SELECT row_number() OVER () AS n, t.*
				 FROM edge_crdt.traverse('graph_r'::regclass, s, 1, 4, 'outbound',
					'{"unique_vertices": "path", "order": "weighted", "weight_col": "w"}') t) x
	WINDOW w AS (PARTITION BY s ORDER BY x.n)) q
WHERE pc > cost OR (pc = cost AND pd > depth);

-- default uniqueness (edges unique on a path), up to 3 edges
SELECT count(*) AS diff FROM (
	(WITH RECURSIVE p(s, vp, ep) AS (
		SELECT s, ARRAY[s], ARRAY[]::text[] FROM generate_series(1, 5) s
		UNION ALL
		SELECT p.s, p.vp || e.target, p.ep || e.id::text
		FROM p JOIN graph_r e ON e.source = p.vp[cardinality(p.vp)]
		WHERE cardinality(p.ep) < 3 AND e.id::text <> ALL (p.ep))
	 SELECT s, vp, ep FROM p WHERE cardinality(ep) >= 2
	 EXCEPT ALL SELECT s, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 2, 3) x)
	UNION ALL
	(SELECT s, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 2, 3) x
	 EXCEPT ALL
	 SELECT * FROM (WITH RECURSIVE p(s, vp, ep) AS (
		SELECT s, ARRAY[s], ARRAY[]::text[] FROM generate_series(1, 5) s
		UNION ALL
		SELECT p.s, p.vp || e.target, p.ep || e.id::text
		FROM p JOIN graph_r e ON e.source = p.vp[cardinality(p.vp)]
		WHERE cardinality(p.ep) < 3 AND e.id::text <> ALL (p.ep))
	 SELECT s, vp, ep FROM p WHERE cardinality(ep) >= 2) r)) q;
-- no uniqueness at all, up to 3 edges: count walks
SELECT (WITH RECURSIVE p(s, v, d) AS (
			SELECT s, s, 0 FROM generate_series(1, 5) s
			UNION ALL
			SELECT p.s, e.target, p.d + 1 FROM p JOIN graph_r e ON e.source = p.v WHERE p.d < 3)
		SELECT count(*) FROM p WHERE d >= 1)
	 - (SELECT count(*) FROM generate_series(1, 5) s,
			edge_crdt.traverse('graph_r'::regclass, s, 1, 3, 'outbound', '{"unique_edges": "none"}')) AS diff;
-- "any" direction simple paths, up to 3 edges
SELECT count(*) AS diff FROM (
	(WITH RECURSIVE p(s, vp, ep) AS (
		SELECT s, ARRAY[s], ARRAY[]::text[] FROM generate_series(1, 5) s
		UNION ALL
		SELECT p.s, p.vp || e.target, p.ep || e.id::text
		FROM p JOIN graph_r_any e ON e.source = p.vp[cardinality(p.vp)]
		WHERE cardinality(p.ep) < 3 AND e.target <> ALL (p.vp))
	 SELECT s, vp, ep FROM p WHERE cardinality(ep) >= 1
	 EXCEPT ALL SELECT s, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 1, 3, 'any', '{"unique_vertices": "path"}') x)
	UNION ALL
	(SELECT s, x.vertex_path, x.edge_path FROM generate_series(1, 5) s,
		edge_crdt.traverse('graph_r'::regclass, s, 1, 3, 'any', '{"unique_vertices": "path"}') x
	 EXCEPT ALL
	 SELECT * FROM (WITH RECURSIVE p(s, vp, ep) AS (
		SELECT s, ARRAY[s], ARRAY[]::text[] FROM generate_series(1, 5) s
		UNION ALL
		SELECT p.s, p.vp || e.target, p.ep || e.id::text
		FROM p JOIN graph_r_any e ON e.source = p.vp[cardinality(p.vp)]
		WHERE cardinality(p.ep) < 3 AND e.target <> ALL (p.vp))
	 SELECT s, vp, ep FROM p WHERE cardinality(ep) >= 1) r)) q;
-- dfs with global uniqueness and no depth bound reaches the same vertices
SELECT count(*) AS diff FROM (
	(SELECT s, x.vertex FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s]) x
	 EXCEPT ALL SELECT s, x.vertex FROM generate_series(1, 10) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 1000, 'outbound',
			'{"unique_vertices": "global", "order": "dfs"}') x)
	UNION ALL
	(SELECT s, x.vertex FROM generate_series(1, 10) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 1000, 'outbound',
			'{"unique_vertices": "global", "order": "dfs"}') x
	 EXCEPT ALL SELECT s, x.vertex FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s]) x)) q;

-- cheapest cost (ties: fewest edges) per vertex: states (vertex, cost,
-- edges) bounded by cost <= 40 and edges <= 40 hold every optimum here
CREATE TEMP TABLE graph_ref_cost AS
WITH RECURSIVE r(s, v, c, d) AS (
	SELECT s, s, 0, 0 FROM generate_series(1, 10) s
	UNION
	SELECT r.s, e.target, r.c + e.w, r.d + 1 FROM r JOIN graph_r e ON e.source = r.v
	WHERE r.c + e.w <= 40 AND r.d < 40),
best AS (SELECT s, v, min(c) AS c FROM r GROUP BY s, v)
SELECT b.s, b.v, b.c, (SELECT min(d) FROM r WHERE r.s = b.s AND r.v = b.v AND r.c = b.c) AS d
FROM best b;
SELECT count(*) AS rows FROM graph_ref_cost;
-- Dijkstra (reachable with weights, max_cost 40)
SELECT count(*) AS diff FROM (
	(SELECT s, v, d, c FROM graph_ref_cost
	 EXCEPT SELECT s, x.vertex, x.depth, x.cost FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s], NULL, 40, options => '{"weight_col": "w"}') x)
	UNION ALL
	(SELECT s, x.vertex, x.depth, x.cost FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s], NULL, 40, options => '{"weight_col": "w"}') x
	 EXCEPT ALL SELECT s, v, d, c FROM graph_ref_cost)) q;
-- weighted traverse with global uniqueness is Dijkstra too
SELECT count(*) AS diff FROM (
	(SELECT s, v, c FROM graph_ref_cost
	 EXCEPT SELECT s, x.vertex, x.cost FROM generate_series(1, 10) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 40, 'outbound',
			'{"unique_vertices": "global", "order": "weighted", "weight_col": "w"}') x)
	UNION ALL
	(SELECT s, x.vertex, x.cost FROM generate_series(1, 10) s,
		edge_crdt.traverse('graph_r'::regclass, s, 0, 40, 'outbound',
			'{"unique_vertices": "global", "order": "weighted", "weight_col": "w"}') x
	 WHERE x.cost <= 40
	 EXCEPT ALL SELECT s, v, c FROM graph_ref_cost)) q;
-- shortest_path (bidirectional Dijkstra) cost to every reachable vertex,
-- and the path is made of real edges whose weights add up
CREATE TEMP TABLE graph_sp AS
SELECT s, t, x.* FROM generate_series(1, 10) s, generate_series(1, 40) t,
	edge_crdt.shortest_path('graph_r'::regclass, s, t, options => '{"weight_col": "w"}') x;
SELECT count(*) AS diff FROM (
	(SELECT s, v, c FROM graph_ref_cost
	 EXCEPT SELECT s, t, max(agg_cost) FROM graph_sp GROUP BY s, t)
	UNION ALL
	(SELECT s, t, max(agg_cost) FROM graph_sp GROUP BY s, t
	 EXCEPT ALL SELECT s, v, c FROM graph_ref_cost)) q;
SELECT count(*) AS bad FROM graph_sp a JOIN graph_sp b ON a.s = b.s AND a.t = b.t AND b.seq = a.seq + 1
WHERE NOT EXISTS (SELECT 1 FROM graph_r e WHERE e.id::text = b.edge_id AND e.source = a.vertex
				  AND e.target = b.vertex AND e.w = b.cost AND b.agg_cost = a.agg_cost + e.w);
-- unweighted shortest_path has the BFS depth
SELECT count(*) AS diff FROM (
	(SELECT s, v, d FROM graph_ref_bfs
	 EXCEPT SELECT s, t, max(x.seq) - 1 FROM generate_series(1, 10) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t) x GROUP BY s, t HAVING max(x.seq) <= 5)
	UNION ALL
	(SELECT s, t, max(x.seq) - 1 FROM generate_series(1, 10) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t) x GROUP BY s, t HAVING max(x.seq) <= 5
	 EXCEPT ALL SELECT s, v, d FROM graph_ref_bfs)) q;
-- "any" direction weighted shortest paths against the symmetric reference
SELECT count(*) AS diff FROM (
	(WITH RECURSIVE r(s, v, c) AS (
		SELECT s, s, 0 FROM generate_series(1, 3) s
		UNION
		SELECT r.s, e.target, r.c + e.w FROM r JOIN graph_r_any e ON e.source = r.v WHERE r.c + e.w <= 30)
	 SELECT s, v, min(c) FROM r GROUP BY s, v)
	EXCEPT
	SELECT s, t, max(x.agg_cost) FROM generate_series(1, 3) s, generate_series(1, 40) t,
		edge_crdt.shortest_path('graph_r'::regclass, s, t, 'any', '{"weight_col": "w"}') x
	GROUP BY s, t) q;
-- depth-bounded weighted reachability (at most 3 edges)
SELECT count(*) AS diff FROM (
	(WITH RECURSIVE r(s, v, c, d) AS (
		SELECT s, s, 0, 0 FROM generate_series(1, 10) s
		UNION
		SELECT r.s, e.target, r.c + e.w, r.d + 1 FROM r JOIN graph_r e ON e.source = r.v WHERE r.d < 3),
	 best AS (SELECT s, v, min(c) AS c FROM r GROUP BY s, v)
	 SELECT b.s, b.v, b.c, (SELECT min(d) FROM r WHERE r.s = b.s AND r.v = b.v AND r.c = b.c) FROM best b)
	EXCEPT
	SELECT s, x.vertex, x.cost, x.depth FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s], 3, options => '{"weight_col": "w"}') x) q;
-- edge_filter against the same filter in the reference
SELECT count(*) AS diff FROM (
	(WITH RECURSIVE r(s, v) AS (
		SELECT s, s FROM generate_series(1, 10) s
		UNION SELECT r.s, e.target FROM r JOIN graph_r e ON e.source = r.v AND e.w < 5)
	 SELECT s, v FROM r)
	EXCEPT
	SELECT s, x.vertex FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_r'::regclass, ARRAY[s], options => '{"edge_filter": "e.w < 5"}') x) q;
-- text vertices: the same graph with text keys
CREATE TABLE graph_rt AS SELECT id, 'v' || source AS source, 'v' || target AS target FROM graph_r;
ALTER TABLE graph_rt ADD PRIMARY KEY (id);
CREATE INDEX ON graph_rt (source);
SELECT count(*) AS diff FROM (
	(SELECT 'v' || s, 'v' || v, d FROM graph_ref_bfs
	 EXCEPT SELECT 'v' || s, x.vertex, x.depth FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_rt'::regclass, ARRAY['v' || s], 4) x)
	UNION ALL
	(SELECT 'v' || s, x.vertex, x.depth FROM generate_series(1, 10) s,
		edge_crdt.reachable('graph_rt'::regclass, ARRAY['v' || s], 4) x
	 EXCEPT ALL SELECT 'v' || s, 'v' || v, d FROM graph_ref_bfs)) q;

-- Yen on a smaller random graph: the k costs are the k smallest costs of
-- all simple paths, the paths are distinct, simple and made of real edges
CREATE TABLE graph_ry (id int PRIMARY KEY, source int, target int, w int);
CREATE INDEX ON graph_ry (source);
SELECT setseed(0.17);
INSERT INTO graph_ry
SELECT i, 1 + floor(random() * 10)::int, 1 + floor(random() * 10)::int, 1 + floor(random() * 9)::int
FROM generate_series(1, 30) i;
CREATE TEMP TABLE graph_ref_all AS
WITH RECURSIVE p(vp, ep, c) AS (
	SELECT ARRAY[s], ARRAY[]::int[], 0 FROM generate_series(1, 10) s
	UNION ALL
	SELECT p.vp || e.target, p.ep || e.id, p.c + e.w
	FROM p JOIN graph_ry e ON e.source = p.vp[cardinality(p.vp)]
	WHERE e.target <> ALL (p.vp))
SELECT vp[1] AS s, vp[cardinality(vp)] AS t, vp, ep, c FROM p WHERE cardinality(ep) >= 1;
CREATE TEMP TABLE graph_yen AS
SELECT s, t, x.* FROM generate_series(1, 10) s, generate_series(1, 10) t,
	edge_crdt.k_shortest_paths('graph_ry'::regclass, s, t, 6, options => '{"weight_col": "w"}') x
WHERE s <> t;
SELECT count(DISTINCT (s, t, path_id)) AS paths FROM graph_yen;
SELECT count(*) AS diff FROM (
	SELECT s, t, array_agg(c ORDER BY c) AS costs FROM (
		SELECT s, t, c, row_number() OVER (PARTITION BY s, t ORDER BY c) AS n FROM graph_ref_all WHERE s <> t) a
	WHERE n <= 6 GROUP BY s, t
	EXCEPT
	SELECT s, t, array_agg(c ORDER BY path_id) FROM (
		SELECT s, t, path_id, max(agg_cost) AS c FROM graph_yen GROUP BY s, t, path_id) b
	GROUP BY s, t) q;
SELECT count(*) AS bad FROM (
	SELECT s, t, path_id, array_agg(vertex ORDER BY seq) AS vp,
		   array_remove(array_agg(edge_id::int ORDER BY seq), NULL) AS ep, max(agg_cost) AS c
	FROM graph_yen GROUP BY s, t, path_id) y
WHERE NOT EXISTS (SELECT 1 FROM graph_ref_all r WHERE r.s = y.s AND r.t = y.t AND r.vp = y.vp
				  AND r.ep = y.ep AND r.c = y.c)
   OR (SELECT count(*) FROM graph_yen z WHERE z.s = y.s AND z.t = y.t) <> 0
	  AND EXISTS (SELECT 1 FROM (SELECT s, t, path_id, array_remove(array_agg(edge_id::int ORDER BY seq), NULL) AS ep
								  FROM graph_yen GROUP BY s, t, path_id) o
				  WHERE o.s = y.s AND o.t = y.t AND o.path_id <> y.path_id AND o.ep = y.ep);

DROP VIEW graph_r_any;
DROP TABLE graph_r, graph_rt, graph_ry;
