--
-- Node identity and the hybrid logical clock.
--

-- a database is one node, created once
SELECT edge_crdt.create_node('another_name');

-- name validation (checked before the singleton test, so these show the reason)
SELECT edge_crdt.create_node('');
SELECT edge_crdt.create_node('1abc');
SELECT edge_crdt.create_node('has space');
SELECT edge_crdt.create_node(repeat('x', 64));
SELECT edge_crdt.create_node(NULL);
SELECT edge_crdt.create_node('ok_name', 'bad region');
SELECT edge_crdt.create_node('ok_name', 'eu-west', node_id => 0);
SELECT edge_crdt.create_node('ok_name', 'eu-west', node_id => -5);

-- management functions are not for everybody
SELECT has_function_privilege('public', 'edge_crdt.create_node(text,text,int4)', 'execute') AS public_can_create,
       has_function_privilege('public', 'edge_crdt.hlc_observe(int8)', 'execute') AS public_can_observe,
       has_function_privilege('public', 'edge_crdt.hlc_now()', 'execute') AS public_can_read_clock;

-- a fresh database gets a random positive id
CREATE DATABASE regress_edge_crdt_node;
\c regress_edge_crdt_node
CREATE EXTENSION edge_crdt;
SELECT count(*) AS nodes FROM edge_crdt.local_node;
SELECT edge_crdt.create_node('n1', NULL) > 0 AS random_id_positive;
SELECT node_name, region, node_id > 0 AS positive FROM edge_crdt.local_node;
-- and only once (the error names the random id, so only its SQLSTATE is shown)
DO $$
BEGIN
	PERFORM edge_crdt.create_node('n2');
	RAISE EXCEPTION 'a second create_node succeeded';
EXCEPTION WHEN duplicate_object THEN
	RAISE NOTICE 'second create_node refused with SQLSTATE %', SQLSTATE;
END
$$;
\c contrib_regression
DROP DATABASE regress_edge_crdt_node;

-- the clock is strictly increasing, also within one statement
SELECT bool_and(h > prev) AS strictly_increasing, count(*)
FROM (SELECT h, lag(h) OVER (ORDER BY g) AS prev
      FROM (SELECT g, edge_crdt.hlc_now() AS h FROM generate_series(1, 10000) g) s) t
WHERE prev IS NOT NULL;

-- its wall-clock part is now
SELECT abs(extract(epoch FROM edge_crdt.hlc_to_timestamptz(edge_crdt.hlc_now()) - clock_timestamp())) < 5
	AS close_to_wall_clock;
SELECT edge_crdt.hlc_to_timestamptz(0);
SELECT edge_crdt.hlc_to_timestamptz((1700000000123::int8 << 16) | 42);
SELECT edge_crdt.hlc_to_timestamptz(-1);

-- observing a remote value a little ahead moves the clock past it
SELECT (extract(epoch FROM clock_timestamp())::int8 * 1000 + 20000) << 16 AS ahead \gset
SELECT edge_crdt.hlc_observe(:ahead) >= :ahead AS observed;
SELECT edge_crdt.hlc_now() > :ahead AS now_after_observed;
-- observing the past changes nothing
SELECT edge_crdt.hlc_observe(1) > :ahead AS past_ignored;

-- but not one beyond edge_crdt.max_clock_skew
SELECT (extract(epoch FROM clock_timestamp())::int8 * 1000 + 600 * 1000) << 16 AS far \gset
\set VERBOSITY terse
SELECT edge_crdt.hlc_observe(:far);
\set VERBOSITY default
SET edge_crdt.max_clock_skew = '20min';
SELECT edge_crdt.hlc_observe(:far) = :far AS accepted_with_larger_skew;
RESET edge_crdt.max_clock_skew;
SELECT edge_crdt.hlc_now() > :far AS still_monotonic;
SELECT edge_crdt.hlc_observe(-1);
SET edge_crdt.max_clock_skew = 0;
