-- graph_bench_run.sql: time one method over the starts or pairs in one
-- session (run with PGOPTIONS -c bench.method=... -c bench.depth=...
-- -c bench.limit=...).  Prints total seconds, a checksum to compare methods,
-- and the backend's peak memory from /proc.  Method "interleaved" times
-- reachable and the CTE start by start in turn, so that a change of load on
-- a shared machine weighs on both alike: it prints both totals and both
-- checksums (RESULT interleaved t_reachable t_cte runs sum_reachable sum_cte).
\set ON_ERROR_STOP 1
SET jit = off;
CREATE TEMP TABLE bench_out (n int, val float8, val2 float8);
DO $$
DECLARE
	r record;
	t0 timestamptz;
	total float8 := 0;
	total2 float8 := 0;
	val float8;
	val2 float8;
	m text := current_setting('bench.method');
	maxd int := current_setting('bench.depth')::int;
	lim int := current_setting('bench.limit')::int;
BEGIN
	IF m = 'interleaved' THEN
		FOR r IN SELECT n, s FROM graph_bench_starts ORDER BY n LIMIT lim LOOP
			t0 := clock_timestamp();
			SELECT count(*) INTO val
			FROM edge_crdt.reachable('graph_bench_pl'::regclass, ARRAY[r.s], maxd);
			total := total + extract(epoch FROM clock_timestamp() - t0);
			t0 := clock_timestamp();
			WITH RECURSIVE c(v, k) AS (
				SELECT r.s, 0
				UNION
				SELECT e.target, c.k + 1 FROM c JOIN graph_bench_pl e ON e.source = c.v
				WHERE c.k < maxd)
			SELECT count(DISTINCT c.v) INTO val2 FROM c;
			total2 := total2 + extract(epoch FROM clock_timestamp() - t0);
			INSERT INTO bench_out VALUES (r.n, val, val2);
		END LOOP;
	ELSIF m IN ('reachable', 'cte') THEN
		FOR r IN SELECT n, s FROM graph_bench_starts ORDER BY n LIMIT lim LOOP
			t0 := clock_timestamp();
			IF m = 'reachable' THEN
				SELECT count(*) INTO val
				FROM edge_crdt.reachable('graph_bench_pl'::regclass, ARRAY[r.s], maxd);
			ELSE
				WITH RECURSIVE c(v, k) AS (
					SELECT r.s, 0
					UNION
					SELECT e.target, c.k + 1 FROM c JOIN graph_bench_pl e ON e.source = c.v
					WHERE c.k < maxd)
				SELECT count(DISTINCT c.v) INTO val FROM c;
			END IF;
			total := total + extract(epoch FROM clock_timestamp() - t0);
			INSERT INTO bench_out VALUES (r.n, val);
		END LOOP;
	ELSE
		FOR r IN SELECT n, s, t FROM graph_bench_pairs ORDER BY n LIMIT lim LOOP
			t0 := clock_timestamp();
			IF m = 'shortest_path' THEN
				SELECT max(agg_cost) INTO val
				FROM edge_crdt.shortest_path('graph_bench_grid'::regclass, r.s, r.t,
											 options => '{"weight_col": "cost"}');
			ELSIF m = 'pgr_dijkstra' THEN
				SELECT max(agg_cost) INTO val
				FROM pgr_dijkstra('SELECT id, source, target, cost FROM graph_bench_grid', r.s, r.t);
			ELSE
				SELECT max(agg_cost) INTO val
				FROM pgr_bdDijkstra('SELECT id, source, target, cost FROM graph_bench_grid', r.s, r.t);
			END IF;
			total := total + extract(epoch FROM clock_timestamp() - t0);
			INSERT INTO bench_out VALUES (r.n, val);
		END LOOP;
	END IF;
	PERFORM set_config('bench.total', total::text, false);
	PERFORM set_config('bench.total2', total2::text, false);
END $$;
SELECT current_setting('bench.method') AS method,
	   round(current_setting('bench.total')::numeric, 3) AS seconds,
	   count(*) AS runs, sum(val) AS checksum,
	   round(current_setting('bench.total2')::numeric, 3) AS seconds2,
	   sum(val2) AS checksum2,
	   current_setting('bench.method') = 'interleaved' AS interleaved,
	   (SELECT (regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint / 1024 FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s) AS peak_rss_mb,
	   (SELECT ((regexp_match(s, 'VmHWM:\s+(\d+)'))[1]::bigint
			   - (regexp_match(s, 'RssShmem:\s+(\d+)'))[1]::bigint
			   - (regexp_match(s, 'RssFile:\s+(\d+)'))[1]::bigint) / 1024
		FROM pg_read_file('/proc/' || pg_backend_pid() || '/status') s) AS peak_private_mb
FROM bench_out \gset b_
\if :b_interleaved
\echo RESULT :b_method :b_seconds :b_seconds2 :b_runs :b_checksum :b_checksum2
\else
\echo RESULT :b_method :b_seconds :b_runs :b_checksum :b_peak_rss_mb :b_peak_private_mb
\endif
