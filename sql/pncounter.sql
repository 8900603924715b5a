--
-- pncounter: text and binary I/O, errors, operators, lattice functions,
-- casts and limits.  The init test made this database node 1000.
--
-- The operators live in schema edge_crdt.
SET search_path = public, edge_crdt;

-- A zero needs no node: run this before anything caches the node id.
BEGIN;
DELETE FROM edge_crdt.node;
SELECT 0::pncounter AS zero_cast, '{7:+1-0}'::pncounter - 0 AS minus_zero;
SELECT '{}'::pncounter - 1;
ROLLBACK;

-- Input: any order, whitespace, all-zero items dropped; output canonical.
SELECT '{}'::pncounter;
SELECT '{7:+5-2,9:+0-3}'::pncounter;
SELECT ' { 9 : + 0 - 3 ,	3:+0-0, 7:+005-2 } '::pncounter;
SELECT '{2147483647:+9223372036854775807-9223372036854775807}'::pncounter;
SELECT c::text::pncounter = c AS text_roundtrip
FROM (VALUES ('{}'::pncounter), ('{3:+1-0,1:+0-2}'), ('{1:+9-9}')) v(c);

-- Input errors.
SELECT ''::pncounter;
SELECT '{7:5}'::pncounter;
SELECT '{7:+5}'::pncounter;
SELECT '{7:-2+5}'::pncounter;
SELECT '{7:+-5-2}'::pncounter;
SELECT '{7:+5--2}'::pncounter;
SELECT '{7:+5-2,}'::pncounter;
SELECT '{7:+5-2}}'::pncounter;
SELECT '{0:+5-2}'::pncounter;
SELECT '{-7:+5-2}'::pncounter;
SELECT '{7:+5-2,7:+0-0}'::pncounter;
SELECT '{7:+9223372036854775808-0}'::pncounter;
SELECT '{7:+0-9223372036854775808}'::pncounter;

-- At most 4096 distinct nodes over increments and decrements.
SELECT value(('{' || string_agg(g || ':+2-1', ',') || '}')::pncounter)
FROM generate_series(1, 4096) g;
SELECT ('{' || string_agg(g || ':+0-1', ',') || '}')::pncounter
FROM generate_series(1, 4097) g;

-- + and - act on the local node (1000): increments on its P entry,
-- decrements on its N entry, and a negative amount swaps the two.
SELECT '{}'::pncounter + 5;
SELECT '{}'::pncounter - 5;
SELECT '{7:+3-0,1000:+1-1}'::pncounter + 5 - 2;
SELECT '{7:+3-0}'::pncounter + (-4);
SELECT '{7:+3-0}'::pncounter - (-4);
SELECT '{7:+3-0}'::pncounter + 0, '{7:+3-0}'::pncounter - 0;
SELECT pncounter_add('{}', 2::bigint), pncounter_sub('{}', 2::bigint);
SELECT '{1000:+9223372036854775807-0}'::pncounter + 1;
SELECT '{1000:+0-9223372036854775807}'::pncounter - 1;
SELECT '{}'::pncounter + (-9223372036854775807 - 1);
SELECT '{}'::pncounter - (-9223372036854775807 - 1);
-- A new node must fit the bound; a known node may start decrementing.
SELECT ('{' || string_agg(g || ':+1-0', ',') || '}')::pncounter - 1
FROM generate_series(2001, 2000 + 4096) g;
SELECT value(('{' || string_agg(g || ':+1-0', ',') || '}')::pncounter - 1)
FROM generate_series(1, 4096) g;

-- value = increments - decrements, exact even when one side alone
-- exceeds bigint.
SELECT value('{}'::pncounter), value('{7:+5-2,9:+0-3}'::pncounter),
	'{7:+5-2,9:+0-4}'::pncounter::bigint;
SELECT value('{1:+9223372036854775807-9223372036854775807,2:+9223372036854775807-0}'::pncounter);
SELECT value('{1:+0-9223372036854775807,2:+0-1}'::pncounter);
SELECT value('{1:+9223372036854775807-0,2:+1-0}'::pncounter);
SELECT '{1:+0-9223372036854775807,2:+0-2}'::pncounter::bigint;

-- Equality is on the canonical state.
SELECT '{7:+5-2,9:+0-3}'::pncounter = '{9:+0-3, 8:+0-0, 7:+5-2}'::pncounter AS eq,
	'{7:+5-2}'::pncounter <> '{7:+5-3}'::pncounter AS ne,
	'{7:+1-1}'::pncounter = '{}'::pncounter AS eq_false;
SELECT c::text, count(*)
FROM (VALUES ('{7:+5-2,9:+0-3}'::pncounter), ('{9:+0-3,7:+5-2}'), ('{}'),
			 ('{1:+0-0}'), ('{7:+1-1}')) v(c)
GROUP BY c ORDER BY 1;

-- merge is per-node max of each side; leq is "merge(a, b) = b".
SELECT merge('{1:+5-1,2:+1-0}'::pncounter, '{1:+2-4,3:+0-1}'::pncounter);
SELECT merge_agg(c)
FROM (VALUES ('{1:+5-1}'::pncounter), (NULL), ('{1:+2-4}'), ('{3:+0-1}')) v(c);
SELECT a::text, b::text, leq(a, b), merge(a, b) = b AS merge_is_b
FROM (VALUES ('{1:+1-1}'::pncounter, '{1:+2-1}'::pncounter),
			 ('{1:+1-2}', '{1:+2-1}'),
			 ('{}', '{1:+0-1}'),
			 ('{1:+0-1}', '{}'),
			 ('{1:+1-0}', '{1:+1-0,2:+0-5}')) v(a, b);
SELECT merge(x.c, y.c)
FROM (SELECT ('{' || string_agg(g || ':+1-0', ',') || '}')::pncounter
	  FROM generate_series(1, 4096) g) x(c),
	 (SELECT '{5000:+0-1}'::pncounter) y(c);

-- Columns: integers cast on assignment; negative ones are decrements.
CREATE TABLE pncounter_t (id int PRIMARY KEY, c pncounter NOT NULL DEFAULT 0);
INSERT INTO pncounter_t VALUES (1, 0), (2, 7), (3, -7::bigint), (4, '{5:+2-1}');
INSERT INTO pncounter_t (id) VALUES (5);
UPDATE pncounter_t SET c = c + 5 WHERE id IN (1, 2, 4);
UPDATE pncounter_t SET c = c - 3;
SELECT id, c, c::bigint AS total, value(c) FROM pncounter_t ORDER BY id;
SELECT 7::pncounter, pncounter(-8::bigint), (-9)::pncounter;

-- Binary I/O: version, then P and N each as a count and
-- (node int4, count int8) pairs, big-endian.
SELECT pncounter_send('{}'), pncounter_send('{7:+5-2}');

CREATE TABLE pncounter_recv_t (c pncounter);
CREATE FUNCTION pncounter_recv_test(b bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	f text := current_setting('data_directory') || '/pncounter_regress.bin';
	msg text;
	detail text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
	TRUNCATE pncounter_recv_t;
	EXECUTE format('COPY pncounter_recv_t FROM %L WITH (FORMAT binary)', f);
	RETURN (SELECT c::text FROM pncounter_recv_t);
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' ' || msg || ': ' || detail;
END
$$;
SELECT what, pncounter_recv_test(b)
FROM (VALUES
	('empty', '\x010000000000000000'::bytea),
	('{7:+5-2}', '\x010000000100000007000000000000000500000001000000070000000000000002'),
	('N missing', '\x0100000001000000070000000000000005'),
	('unknown version', '\x030000000000000000'),
	('trailing byte', '\x01000000000000000000'),
	('N unsorted', '\x01000000000000000200000009000000000000000100000007000000000000000001'),
	('N count 0', '\x010000000000000001000000070000000000000000')
	) v(what, b);
-- 4096 increment nodes plus one more decrementing node.
SELECT pncounter_recv_test('\x0100001000'::bytea
						   || string_agg(int4send(g) || int8send(1), '' ORDER BY g)
						   || '\x00000001'::bytea || int4send(5000) || int8send(1))
FROM generate_series(1, 4096) g;

CREATE TABLE pncounter_t2 (LIKE pncounter_t);
DO $$
DECLARE
	f text := current_setting('data_directory') || '/pncounter_regress.bin';
BEGIN
	EXECUTE format('COPY pncounter_t TO %L WITH (FORMAT binary)', f);
	EXECUTE format('COPY pncounter_t2 FROM %L WITH (FORMAT binary)', f);
END
$$;
SELECT count(*) AS same_rows
FROM pncounter_t a JOIN pncounter_t2 b ON a.id = b.id AND a.c = b.c;

-- The type is registered for replication.
SELECT typ, merge_fn, leq_fn, inflation_hint
FROM edge_crdt.crdt_type WHERE typ = 'edge_crdt.pncounter'::regtype;

DROP FUNCTION pncounter_recv_test(bytea);
DROP TABLE pncounter_t, pncounter_t2, pncounter_recv_t;
