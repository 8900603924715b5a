-- graph_bench_setup.sql: the benchmark graphs (psql variables: edges,
-- vertices, grid, starts, pairs, covering).  Run by graph_bench.sh.

-- Power-law digraph: both endpoints drawn with density ~ v^(-2/3), so
-- out- and in-degrees follow a power law (exponent ~2.5) with hubs.
SELECT setseed(0.5) \g /dev/null
CREATE TABLE graph_bench_pl AS
SELECT i::bigint AS id,
	   1 + floor(:vertices * random() ^ 3)::int AS source,
	   1 + floor(:vertices * random() ^ 3)::int AS target
FROM generate_series(1, :edges) i;
ALTER TABLE graph_bench_pl ADD PRIMARY KEY (id);
-- covering = 1: indexes that also hold the neighbour (and cost), so both
-- edge_crdt and the baselines can read edges without the heap
\if :covering
CREATE INDEX ON graph_bench_pl (source) INCLUDE (target);
CREATE INDEX ON graph_bench_pl (target) INCLUDE (source);
\else
CREATE INDEX ON graph_bench_pl (source);
CREATE INDEX ON graph_bench_pl (target);
\endif
VACUUM ANALYZE graph_bench_pl;

-- Road-like grid: grid x grid vertices, an edge each way between 4-neighbours,
-- integer costs 1..10 (pgRouting's id/source/target/cost layout).
SELECT setseed(0.7) \g /dev/null
CREATE TABLE graph_bench_grid AS
WITH cells AS (
	SELECT x, y, x * :grid + y + 1 AS v
	FROM generate_series(0, :grid - 1) x, generate_series(0, :grid - 1) y),
dirs AS (SELECT * FROM (VALUES (1, 0), (-1, 0), (0, 1), (0, -1)) d(dx, dy))
SELECT row_number() OVER ()::bigint AS id, c.v::bigint AS source,
	   ((c.x + dx) * :grid + c.y + dy + 1)::bigint AS target,
	   (1 + floor(random() * 10))::float8 AS cost
FROM cells c, dirs
WHERE c.x + dx BETWEEN 0 AND :grid - 1 AND c.y + dy BETWEEN 0 AND :grid - 1;
ALTER TABLE graph_bench_grid ADD PRIMARY KEY (id);
\if :covering
CREATE INDEX ON graph_bench_grid (source) INCLUDE (target, cost);
CREATE INDEX ON graph_bench_grid (target) INCLUDE (source, cost);
\else
CREATE INDEX ON graph_bench_grid (source);
CREATE INDEX ON graph_bench_grid (target);
\endif
VACUUM ANALYZE graph_bench_grid;

SELECT 'power-law' AS graph, count(*) AS edges,
	   (SELECT count(*) FROM (SELECT source FROM graph_bench_pl UNION SELECT target FROM graph_bench_pl) v) AS vertices,
	   (SELECT max(c) FROM (SELECT count(*) c FROM graph_bench_pl GROUP BY source) d) AS max_out_degree
FROM graph_bench_pl
UNION ALL
SELECT 'grid', count(*), (:grid * :grid)::bigint, 4 FROM graph_bench_grid;

-- Random starts and pairs, fixed seeds.
SELECT setseed(0.3) \g /dev/null
CREATE TABLE graph_bench_starts AS
SELECT row_number() OVER () AS n, s
FROM (SELECT s FROM (SELECT DISTINCT source AS s FROM graph_bench_pl ORDER BY 1) d
	  ORDER BY random() LIMIT :starts) x;
SELECT setseed(0.9) \g /dev/null
CREATE TABLE graph_bench_pairs AS
SELECT n, 1 + floor(random() * :grid * :grid)::bigint + n * 0 AS s,
	   1 + floor(random() * :grid * :grid)::bigint + n * 0 AS t
FROM generate_series(1, :pairs) n;
