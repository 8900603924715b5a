--
-- gcounter: text and binary I/O, errors, operators, lattice functions,
-- casts and limits.  The init test made this database node 1000.
--
-- The operators live in schema edge_crdt.
SET search_path = public, edge_crdt;

-- A zero needs no node: run this before anything caches the node id.
BEGIN;
DELETE FROM edge_crdt.node;
SELECT 0::gcounter AS zero_cast, '{7:1}'::gcounter + 0 AS plus_zero;
SELECT '{}'::gcounter + 1;
ROLLBACK;

-- Input: any order, whitespace, zero entries dropped; output canonical.
SELECT '{}'::gcounter;
SELECT ' { } '::gcounter;
SELECT ' { 9 : 3 , 2:0,	7: +5 } '::gcounter;
SELECT '{2147483647:9223372036854775807,1:1}'::gcounter;
SELECT '{007:1}'::gcounter;
SELECT c::text::gcounter = c AS text_roundtrip
FROM (VALUES ('{}'::gcounter), ('{3:1,1:2}'), ('{1:9223372036854775807}')) v(c);

-- Input errors.
SELECT ''::gcounter;
SELECT '{'::gcounter;
SELECT '{1:1'::gcounter;
SELECT '{1:1,}'::gcounter;
SELECT '{1 1}'::gcounter;
SELECT '{1:1} x'::gcounter;
SELECT '{1:x}'::gcounter;
SELECT '{:1}'::gcounter;
SELECT '{0:1}'::gcounter;
SELECT '{-3:1}'::gcounter;
SELECT '{2147483648:1}'::gcounter;
SELECT '{1:-1}'::gcounter;
SELECT '{1:1,1:2}'::gcounter;
SELECT '{4:0, 4:0}'::gcounter;
SELECT '{1:9223372036854775808}'::gcounter;

-- At most 4096 node entries.
SELECT value(('{' || string_agg(g || ':1', ',') || '}')::gcounter)
FROM generate_series(1, 4096) g;
SELECT ('{' || string_agg(g || ':1', ',') || '}')::gcounter
FROM generate_series(1, 4097) g;

-- + adds to the local node's entry (1000).
SELECT '{}'::gcounter + 5;
SELECT '{7:3,1000:1}'::gcounter + 5;
SELECT '{7:3}'::gcounter + 0;
SELECT gcounter_add('{7:3}', 2::bigint);
SELECT '{7:3}'::gcounter + (-1);
SELECT '{1000:9223372036854775807}'::gcounter + 1;
-- A new node entry must fit the bound (nodes 2001.. leave out 1000).
SELECT ('{' || string_agg(g || ':1', ',') || '}')::gcounter + 1
FROM generate_series(2001, 2000 + 4096) g;
SELECT value(('{' || string_agg(g || ':1', ',') || '}')::gcounter + 1)
FROM generate_series(2001, 2000 + 4095) g;

-- value and the cast to bigint.
SELECT value('{}'::gcounter), value('{1:2,3:4}'::gcounter),
	'{1:2,3:4}'::gcounter::bigint;
SELECT '{1:9223372036854775807}'::gcounter::bigint;
SELECT value('{1:9223372036854775807,2:1}'::gcounter);
SELECT '{1:9223372036854775807,2:1}'::gcounter::bigint;

-- Equality is on the canonical state.
SELECT '{1:1,2:2}'::gcounter = '{ 2:2, 1:1, 3:0 }'::gcounter AS eq,
	'{1:1,2:2}'::gcounter <> '{1:1,2:3}'::gcounter AS ne,
	'{1:1}'::gcounter = '{1:1,2:1}'::gcounter AS eq_false;
SELECT c::text, count(*)
FROM (VALUES ('{1:1,2:2}'::gcounter), ('{2:2,1:1}'), ('{}'), ('{1:0}'), ('{1:1}')) v(c)
GROUP BY c ORDER BY 1;

-- merge is per-node max; leq is "merge(a, b) = b".
SELECT merge('{1:5,2:1}'::gcounter, '{2:3,3:1}'::gcounter);
SELECT merge('{1:5}'::gcounter, '{}'::gcounter);
SELECT merge_agg(c)
FROM (VALUES ('{1:5,2:1}'::gcounter), (NULL), ('{2:3}'), ('{3:1,1:2}')) v(c);
SELECT merge_agg(c) IS NULL AS empty_is_null
FROM (VALUES (NULL::gcounter)) v(c);
SELECT a::text, b::text, leq(a, b), merge(a, b) = b AS merge_is_b
FROM (VALUES ('{1:1}'::gcounter, '{1:2}'::gcounter),
			 ('{1:2}', '{1:1}'),
			 ('{}', '{1:1}'),
			 ('{1:1}', '{}'),
			 ('{1:1,2:1}', '{1:1,3:1}'),
			 ('{1:1,2:1}', '{1:1,2:1,3:1}')) v(a, b);
SELECT merge(x.c, y.c)
FROM (SELECT ('{' || string_agg(g || ':1', ',') || '}')::gcounter
	  FROM generate_series(1, 4096) g) x(c),
	 (SELECT '{5000:1}'::gcounter) y(c);

-- Columns: integers cast on assignment to the local node's entry.
CREATE TABLE gcounter_t (id int PRIMARY KEY, c gcounter NOT NULL DEFAULT 0);
INSERT INTO gcounter_t VALUES (1, 0), (2, 7), (3, 7::bigint), (4, '{5:2}');
INSERT INTO gcounter_t (id) VALUES (5);
INSERT INTO gcounter_t VALUES (6, -1);
UPDATE gcounter_t SET c = c + 5 WHERE id IN (1, 2, 4);
UPDATE gcounter_t SET c = c + 1;
SELECT id, c, c::bigint AS total, value(c) FROM gcounter_t ORDER BY id;
SELECT 7::gcounter, gcounter(8::bigint), 9::bigint::gcounter;
SELECT 3::gcounter::bigint;

-- Binary I/O.  send output shows the format: version, count, then
-- (node int4, count int8) pairs, big-endian.
SELECT gcounter_send('{}'), gcounter_send('{7:5,1000:1}');

-- The receive function is reached through binary COPY: a bytea column
-- written in binary COPY format is read back as a gcounter column.
CREATE TABLE gcounter_recv_t (c gcounter);
CREATE FUNCTION gcounter_recv_test(b bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	f text := current_setting('data_directory') || '/gcounter_regress.bin';
	msg text;
	detail text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
	TRUNCATE gcounter_recv_t;
	EXECUTE format('COPY gcounter_recv_t FROM %L WITH (FORMAT binary)', f);
	RETURN (SELECT c::text FROM gcounter_recv_t);
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' ' || msg || ': ' || detail;
END
$$;
SELECT what, gcounter_recv_test(b)
FROM (VALUES
	('empty', '\x0100000000'::bytea),
	('two entries', '\x0100000002000000070000000000000005000003e80000000000000001'),
	('no version', '\x'),
	('unknown version', '\x0200000000'),
	('truncated count', '\x01000000'),
	('truncated entry', '\x01000000010000000700000000'),
	('trailing byte', '\x010000000100000007000000000000000500'),
	('unsorted', '\x0100000002000000090000000000000001000000070000000000000001'),
	('duplicate node', '\x0100000002000000070000000000000001000000070000000000000001'),
	('node 0', '\x0100000001000000000000000000000005'),
	('negative node', '\x0100000001fffffffb0000000000000005'),
	('count 0', '\x0100000001000000070000000000000000'),
	('negative count', '\x010000000100000007ffffffffffffffff'),
	('4096 announced, 1 sent', '\x0100001000000000070000000000000005'),
	('4097 announced', '\x0100001001000000070000000000000005')
	) v(what, b);

-- Whole tables survive a binary COPY round trip.
CREATE TABLE gcounter_t2 (LIKE gcounter_t);
DO $$
DECLARE
	f text := current_setting('data_directory') || '/gcounter_regress.bin';
BEGIN
	EXECUTE format('COPY gcounter_t TO %L WITH (FORMAT binary)', f);
	EXECUTE format('COPY gcounter_t2 FROM %L WITH (FORMAT binary)', f);
END
$$;
SELECT count(*) AS same_rows
FROM gcounter_t a JOIN gcounter_t2 b ON a.id = b.id AND a.c = b.c;

-- The type is registered for replication.
SELECT typ, merge_fn, leq_fn, inflation_hint
FROM edge_crdt.crdt_type WHERE typ = 'edge_crdt.gcounter'::regtype;

DROP FUNCTION gcounter_recv_test(bytea);
DROP TABLE gcounter_t, gcounter_t2, gcounter_recv_t;
