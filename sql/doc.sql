--
-- doc: the JSON document CRDT.  Text and binary I/O, errors, local writes,
-- merge semantics, casts and a table.  The init test made this database
-- node 1000.  States written by local operations carry clock values, so
-- they are only ever shown materialized (as jsonb); states shown as text
-- are literals with chosen versions.
--
-- The operators live in schema edge_crdt.
SET search_path = public, edge_crdt;

-- Local writes need a node: run this before anything caches the node id.
BEGIN;
DELETE FROM edge_crdt.node;
SELECT doc_set('[]', '{a}', '1');
ROLLBACK;

--
-- Text input and output
--
SELECT '[]'::doc;
SELECT ' [
 ] '::doc;
SELECT '[{"p": [], "v": "5.1000", "k": "obj"}, {"p": ["a"], "v": "7.1000", "k": "val", "j": [1, 2]}, {"p": ["a", "b"], "v": "9.2000", "k": "del"}]'::doc;
-- Any entry and field order and whitespace; values become canonical jsonb
-- text; keys sort like jsonb's (shorter first).
SELECT '[ {"j" : [1,{"b":2,"a":1}], "k":"val", "v":"3.7", "p":["zz"]},
	{"v":"4.7","p":["y"],"k":"val","j":1.50},
	{"k":"val","p":["x"],"v":"5.7","j":"\u0041\n"},
	{"p":["w"],"k":"val","v":"6.7","j":1e2} ]'::doc;
-- Keys are escaped like JSON strings.
SELECT '[{"p": ["a\"b", "\\", "\u0001\t\/"], "v": "1.1", "k": "obj"}]'::doc;
-- Entries hidden by a newer ancestor entry are dropped.
SELECT '[{"p": ["a"], "v": "5.1", "k": "del"},
	{"p": ["a", "x"], "v": "3.1", "k": "val", "j": 1},
	{"p": ["a", "y"], "v": "7.1", "k": "val", "j": 2},
	{"p": ["a", "y", "z"], "v": "6.1", "k": "val", "j": 3}]'::doc;
-- Equal versions do not hide.
SELECT '[{"p": ["a"], "v": "5.1", "k": "obj"}, {"p": ["a", "x"], "v": "5.1", "k": "val", "j": 1}]'::doc;
SELECT d::text::doc = d AS text_roundtrip
FROM (VALUES ('[]'::doc),
	('[{"p": [], "v": "0.1", "k": "val", "j": null}]'),
	('[{"p": ["a", ""], "v": "9223372036854775807.2147483647", "k": "val", "j": [{"x": [true]}, "\"q\""]}]')) v(d);

-- Input errors: syntax.
SELECT ''::doc;
SELECT '['::doc;
SELECT '[] x'::doc;
SELECT '[{}]'::doc;
SELECT '[{"p": [], "v": "1.1"}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "val"}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "obj", "j": 1}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "set"}]'::doc;
SELECT '[{"p": [], "p": [], "v": "1.1", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "obj", "x": 1}]'::doc;
SELECT '[{"p": ["a" "b"], "v": "1.1", "k": "obj"}]'::doc;
SELECT '[{"p": [1], "v": "1.1", "k": "obj"}]'::doc;
SELECT '[{"p": ["\u00e9"], "v": "1.1", "k": "obj"}]'::doc;
SELECT '[{"p": ["\u0000"], "v": "1.1", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": "1", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": 1.1, "k": "obj"}]'::doc;
-- A JSON object is not the text form of a state, but what ORMs send for a
-- document column: it is written by this node, like the jsonb cast.
SELECT '{"a": 1, "b": {"c": [1, 2]}}'::doc::jsonb;
SELECT (SELECT count(*) FROM regexp_matches('{"a": 1}'::doc::text, '1000', 'g')) AS entries_by_node_1000;
SELECT '{"a": 1'::doc;
-- Invalid versions.
SELECT '[{"p": [], "v": "1.0", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": "1.-5", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": "1.2147483648", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": "-1.1", "k": "obj"}]'::doc;
SELECT '[{"p": [], "v": "9223372036854775808.1", "k": "obj"}]'::doc;
-- Bad JSON values.
SELECT '[{"p": [], "v": "1.1", "k": "val", "j": [1,]}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "val", "j": 01}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "val", "j": nul}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "val", "j": "a}]'::doc;
SELECT '[{"p": [], "v": "1.1", "k": "val", "j": {"a": 1}}]'::doc;
-- The core's scanner accepts this; jsonb does not.
SELECT '[{"p": ["a"], "v": "1.1", "k": "val", "j": "\u0000"}]'::doc;
-- Duplicate paths, even with different versions.
SELECT '[{"p": ["a"], "v": "1.1", "k": "obj"}, {"p": ["a"], "v": "2.1", "k": "del"}]'::doc;
-- Bounds: 64 keys in a path, 1024 bytes in a key, 1000 nested arrays in
-- a value, 100000 entries.
SELECT ('[{"p": [' || string_agg('"k"', ',') || '], "v": "1.1", "k": "obj"}]')::doc::text = '[{"p": [' || string_agg('"k"', ', ') || '], "v": "1.1", "k": "obj"}]' AS depth_64_ok
FROM generate_series(1, 64);
SELECT ('[{"p": [' || string_agg('"k"', ',') || '], "v": "1.1", "k": "obj"}]')::doc
FROM generate_series(1, 65);
SELECT length(('[{"p": ["' || repeat('x', 1024) || '"], "v": "1.1", "k": "obj"}]')::doc::text);
SELECT ('[{"p": ["' || repeat('x', 1025) || '"], "v": "1.1", "k": "obj"}]')::doc;
SELECT ('[{"p": [], "v": "1.1", "k": "val", "j": ' || repeat('[', 1001) || repeat(']', 1001) || '}]')::doc;
SELECT ('[' || string_agg(format('{"p": ["%s"], "v": "1.1", "k": "del"}', g), ',') || ']')::doc = '[]'
FROM generate_series(1, 100001) g;

--
-- Binary I/O.  recv is reached through COPY: doc_test_recv copies the
-- given bytes into a doc column with binary COPY and returns the state as
-- text, or the error.
--
SELECT doc_send('[]');
SELECT doc_send('[{"p": ["a"], "v": "5.1", "k": "val", "j": 1}]');
CREATE TABLE doc_test_recv_t (d edge_crdt.doc);
CREATE FUNCTION doc_test_recv(b text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	f text := current_setting('data_directory') || '/doc_test_recv.bin';
	msg text;
	det text;
	result text;
BEGIN
	EXECUTE format('COPY (SELECT %L::bytea) TO %L WITH (FORMAT binary)', b, f);
	TRUNCATE doc_test_recv_t;
	EXECUTE format('COPY doc_test_recv_t FROM %L WITH (FORMAT binary)', f);
	SELECT d::text INTO result FROM doc_test_recv_t;
	RETURN result;
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
	RETURN 'ERROR: ' || msg || coalesce(' DETAIL: ' || nullif(det, ''), '');
END
$$;
SELECT doc_test_recv(doc_send(d)::text) = d::text AS binary_roundtrip
FROM (VALUES ('[]'::doc),
	('[{"p": [], "v": "5.1000", "k": "obj"}, {"p": ["a"], "v": "7.1000", "k": "val", "j": [1, {"x": "y"}]}, {"p": ["a", "b"], "v": "9.2000", "k": "del"}]'),
	('[{"p": ["a\"b", "\t"], "v": "1.1", "k": "val", "j": "\\"}]')) v(d);
-- one entry: ["a"], 5.1, val, 1
SELECT doc_test_recv('\x01000000010100000001610000000000000005000000010200000001' || '31');
-- receive errors
SELECT doc_test_recv('\x');
SELECT doc_test_recv('\x02');
SELECT doc_test_recv('\x01');
SELECT doc_test_recv('\x0100000001010000000161000000000000000500000001020000000131' || '00');
SELECT doc_test_recv('\x01000000010100000001610000000000000005000000010200000001');
SELECT doc_test_recv('\x010000ffff');
SELECT doc_test_recv('\x01000000010100000001610000000000000005000000000200000001' || '31');
SELECT doc_test_recv('\x01000000010100000001610000000000000005000000010400000001' || '31');
SELECT doc_test_recv('\x010000000101000000016100000000000000050000000102000000025b31');
SELECT doc_test_recv('\x01000000010100000001610000000000000005000000010200000001' || '7b');
SELECT doc_test_recv('\x0100000001410000000161000000000000000500000001' || '03');
SELECT doc_test_recv('\x0100000001010000040178' || '0000000000000000000000000000');
SELECT doc_test_recv('\x0100000001010000000100000000000000000500000001' || '03');
-- "[1,2]" is valid JSON but not jsonb's canonical "[1, 2]"
SELECT doc_test_recv('\x0100000001010000000161000000000000000500000001020000000' || '55b312c325d');
-- unsorted: ["b"] before ["a"]
SELECT doc_test_recv('\x0100000002' ||
	'010000000162000000000000000500000001' || '03' ||
	'010000000161000000000000000500000001' || '03');
-- duplicate path
SELECT doc_test_recv('\x0100000002' ||
	'010000000161000000000000000500000001' || '03' ||
	'010000000161000000000000000600000001' || '03');
-- hidden: ["a"] deleted at 5.1 above ["a", "b"] written at 3.1
SELECT doc_test_recv('\x0100000002' ||
	'010000000161000000000000000500000001' || '03' ||
	'02000000016100000001620000000000000003000000010200000001' || '31');

--
-- Local writes (shown materialized)
--
SELECT doc_set('[]', '{a}', '1')::jsonb;
SELECT doc_set(NULL, '{a,b}', '"x"')::jsonb;
SELECT doc_set('[]', '{}', '{"x": 1, "y": {"z": [1, 2], "e": {}}}')::jsonb;
SELECT doc_set('[]', '{}', '[1, {"a": 2}]')::jsonb;
SELECT doc_set('[]', '{a}', 'null')::jsonb;
-- Nested writes build on each other; an object write replaces the subtree.
SELECT doc_set(doc_set('[]', '{a}', '{"x": 1, "y": {"z": 2}}'), '{a,y,w}', 'true')::jsonb;
SELECT doc_set(doc_set('[]', '{a}', '{"x": 1, "y": {"z": 2}}'), '{a}', '{"q": 3}')::jsonb;
SELECT doc_set(doc_set('[]', '{a}', '{"x": 1}'), '{a}', '"flat"')::jsonb;
SELECT doc_set(doc_set('[]', '{a}', '"flat"'), '{a,x}', '1')::jsonb;
SELECT doc_set(doc_set('[]', '{a}', '{"x": 1}'), '{}', '5')::jsonb;
SELECT doc_set(doc_set('[]', '{a}', '{"x": 1}'), '{}', '{}')::jsonb;
-- Deletes.
SELECT doc_delete(doc_set('[]', '{}', '{"a": {"x": 1, "y": 2}, "b": 3}'), '{a,x}')::jsonb;
SELECT doc_delete(doc_set('[]', '{}', '{"a": {"x": 1, "y": 2}, "b": 3}'), '{a}')::jsonb;
SELECT doc_delete(doc_set('[]', '{}', '{"a": {"x": 1, "y": 2}, "b": 3}'), '{}')::jsonb;
SELECT doc_delete(doc_set('[]', '{}', '{"a": 1}'), '{nothing,here}')::jsonb;
SELECT doc_set(doc_delete(doc_set('[]', '{}', '{"a": {"x": 1}}'), '{a}'), '{a,y}', '2')::jsonb;
-- A local write replaces a literal written at an earlier or equal clock.
SELECT doc_set('[{"p": ["k"], "v": "100.2000", "k": "val", "j": "remote"}]', '{k}', '"local"')::jsonb;
-- It also replaces one written slightly ahead of our clock: the write
-- first moves the clock past every version in the document.
-- (Other tests may have moved the clock ahead of the wall clock: allow it.)
SET edge_crdt.max_clock_skew = '1h';
SELECT doc_set(format('[{"p": ["k"], "v": "%s.2000", "k": "val", "j": "remote"}]',
	edge_crdt.hlc_now() + (100::bigint << 16))::doc, '{k}', '"local"')::jsonb;
RESET edge_crdt.max_clock_skew;
-- Every entry of one write carries the same version of node 1000.
SELECT count(DISTINCT e->>'v') AS versions, bool_and(e->>'v' LIKE '%.1000') AS local_node, count(*) AS entries
FROM jsonb_array_elements(doc_set('[]', '{}', '{"a": {"b": [1]}, "c": 2}')::text::jsonb) e;
-- Errors.
SELECT doc_set('[]', NULL, '1');
SELECT doc_set('[]', '{a}', NULL);
SELECT doc_delete('[]', NULL);
SELECT doc_patch('[]', NULL);
SELECT doc_set('[]', '{a,NULL}', '1');
SELECT doc_set('[]', '{{a},{b}}', '1');
SELECT doc_set('[]', array_fill('k'::text, ARRAY[65]), '1');
SELECT doc_set('[]', ARRAY[repeat('x', 1025)], '1');
SELECT doc_set('[]', array_fill('k'::text, ARRAY[63]), '{"a": {"b": 1}}');
SELECT doc_set('[]', '{a}', (repeat('[', 1001) || repeat(']', 1001))::jsonb);
SELECT doc_set('[]', '{}', (SELECT jsonb_object_agg(g, g) FROM generate_series(1, 100000) g));
SELECT doc_get(doc_set('[]', array_fill('k'::text, ARRAY[64]), '1'), array_fill('k'::text, ARRAY[64]));

-- doc_get reads a path: object members only.
SELECT doc_get(d, '{}') AS root, doc_get(d, '{a}') AS a, doc_get(d, '{a,y}') AS a_y,
	doc_get(d, '{a,missing}') AS missing, doc_get(d, '{b,0}') AS in_array,
	doc_get(d, '{a,x,deeper}') AS in_scalar
FROM (SELECT doc_set('[]', '{}', '{"a": {"x": 1, "y": {"z": null}}, "b": [1, 2]}') AS d) s;
SELECT doc_get('[]'), doc_get('[]', '{}'), doc_get('[]', '{a}');

--
-- doc_patch: the examples of RFC 7386, appendix A.  A non-object patch
-- replaces the whole document (so the patch null gives a JSON null).
--
SELECT o AS original, p AS patch, doc_patch(o::jsonb::doc, p::jsonb)::jsonb AS result,
	doc_patch(o::jsonb::doc, p::jsonb)::jsonb = r::jsonb AS as_rfc
FROM (VALUES
	('{"a":"b"}', '{"a":"c"}', '{"a":"c"}'),
	('{"a":"b"}', '{"b":"c"}', '{"a":"b","b":"c"}'),
	('{"a":"b"}', '{"a":null}', '{}'),
	('{"a":"b","b":"c"}', '{"a":null}', '{"b":"c"}'),
	('{"a":["b"]}', '{"a":"c"}', '{"a":"c"}'),
	('{"a":"c"}', '{"a":["b"]}', '{"a":["b"]}'),
	('{"a":{"b":"c"}}', '{"a":{"b":"d","c":null}}', '{"a":{"b":"d"}}'),
	('{"a":[{"b":"c"}]}', '{"a":[1]}', '{"a":[1]}'),
	('["a","b"]', '["c","d"]', '["c","d"]'),
	('{"a":"b"}', '["c"]', '["c"]'),
	('{"a":"foo"}', 'null', 'null'),
	('{"a":"foo"}', '"bar"', '"bar"'),
	('{"e":null}', '{"a":1}', '{"e":null,"a":1}'),
	('[1,2]', '{"a":"b","c":null}', '{"a":"b"}'),
	('{}', '{"a":{"bb":{"ccc":null}}}', '{"a":{"bb":{}}}')) v(o, p, r);
-- More: objects merge into objects, an empty patch object creates one.
SELECT doc_patch(doc_set('[]', '{}', '{"a": {"x": 1}}'), '{"a": {"y": 2}, "b": {}}')::jsonb;
SELECT doc_patch(doc_set('[]', '{}', '{"a": 5}'), '{"a": {}}')::jsonb;
SELECT doc_patch(doc_set('[]', '{}', '{"a": 5}'), '{"a": {"x": null}}')::jsonb;
SELECT doc_patch(NULL, '{"a": 1}')::jsonb;
SELECT doc_patch('[]', '{}')::jsonb;

--
-- Merge semantics, on literal states with chosen versions
--
-- A delete of a parent hides children written before it and keeps those
-- written after it, whatever the merge order.
CREATE TABLE doc_test_states (name text PRIMARY KEY, d edge_crdt.doc);
INSERT INTO doc_test_states VALUES
	('write_a', '[{"p": ["a"], "v": "3.1", "k": "obj"}, {"p": ["a", "x"], "v": "3.1", "k": "val", "j": 1}]'),
	('delete_a', '[{"p": ["a"], "v": "5.2", "k": "del"}]'),
	('write_a_y', '[{"p": ["a", "y"], "v": "7.3", "k": "val", "j": 2}]'),
	('write_a_z_old', '[{"p": ["a", "z"], "v": "4.3", "k": "val", "j": 3}]');
SELECT merge(a.d, b.d) AS merged, merge(a.d, b.d)::jsonb AS doc,
	merge(a.d, b.d) = merge(b.d, a.d) AS commutes
FROM doc_test_states a, doc_test_states b
WHERE a.name = 'write_a' AND b.name = 'delete_a';
SELECT merge_agg(d ORDER BY name) AS merged, merge_agg(d ORDER BY name)::jsonb AS doc
FROM doc_test_states;
SELECT count(DISTINCT m::text) AS distinct_results, min(m::text) AS result
FROM (SELECT merge(merge(a.d, b.d), merge(c.d, e.d)) AS m
	  FROM doc_test_states a, doc_test_states b, doc_test_states c, doc_test_states e
	  WHERE a.name <> b.name AND c.name NOT IN (a.name, b.name)
		AND e.name NOT IN (a.name, b.name, c.name)) s;
-- Concurrent writes of different keys both survive.
SELECT merge('[{"p": [], "v": "1.1", "k": "obj"}, {"p": ["a"], "v": "2.1", "k": "val", "j": 1}]'::doc,
	'[{"p": [], "v": "1.1", "k": "obj"}, {"p": ["b"], "v": "2.2", "k": "val", "j": 2}]'::doc)::jsonb;
SELECT merge(doc_set(base, '{a}', '1'), doc_set(base, '{b}', '2'))::jsonb
FROM (SELECT '[{"p": [], "v": "1.1", "k": "obj"}]'::doc AS base) s;
-- The same key: the higher version wins in both orders (hlc first, then
-- the node id, never the value).
SELECT merge(x, y)::jsonb AS xy, merge(y, x)::jsonb AS yx, merge(x, y) = merge(y, x) AS same
FROM (VALUES
	('[{"p": ["k"], "v": "10.1", "k": "val", "j": "low node"}]'::doc,
	 '[{"p": ["k"], "v": "10.2", "k": "val", "j": "high node"}]'::doc),
	('[{"p": ["k"], "v": "11.1", "k": "val", "j": "newer"}]',
	 '[{"p": ["k"], "v": "10.9", "k": "val", "j": "older"}]'),
	('[{"p": ["k"], "v": "10.1", "k": "del"}]',
	 '[{"p": ["k"], "v": "9.1", "k": "val", "j": "older"}]'),
	-- one version with two contents (only hostile input does this): kind,
	-- then value bytes decide, the same in both orders
	('[{"p": ["k"], "v": "10.1", "k": "val", "j": "a"}]',
	 '[{"p": ["k"], "v": "10.1", "k": "val", "j": "b"}]'),
	('[{"p": ["k"], "v": "10.1", "k": "val", "j": 1}]',
	 '[{"p": ["k"], "v": "10.1", "k": "obj"}]')) v(x, y);
-- A newer write below a value turns the value into an object; an older
-- one is hidden by it; a newer delete below it changes nothing.
SELECT merge('[{"p": ["a"], "v": "5.1", "k": "val", "j": 1}]', v)::jsonb
FROM (VALUES ('[{"p": ["a", "b"], "v": "6.2", "k": "val", "j": 2}]'::doc),
	('[{"p": ["a", "b"], "v": "4.2", "k": "val", "j": 2}]'),
	('[{"p": ["a", "b"], "v": "6.2", "k": "del"}]')) s(v);
-- leq is merge(a, b) = b.
SELECT leq(a, merge(a, b)) AS a_le_ab, leq(b, merge(a, b)) AS b_le_ab,
	leq(merge(a, b), a) AS ab_le_a, leq(a, a) AS a_le_a, leq('[]', a) AS bottom,
	leq(a, b) AS a_le_b, leq(b, a) AS b_le_a
FROM (SELECT '[{"p": ["a"], "v": "3.1", "k": "val", "j": 1}]'::doc AS a,
			 '[{"p": ["b"], "v": "3.2", "k": "val", "j": 2}]'::doc AS b) s;
SELECT leq('[{"p": ["a", "x"], "v": "3.1", "k": "val", "j": 1}]'::doc,
	'[{"p": ["a"], "v": "5.2", "k": "del"}]'::doc) AS hidden_is_below;
SELECT leq(d, doc_set(d, '{a}', '2')) AS set_inflates, leq(d, doc_delete(d, '{a}')) AS delete_inflates,
	leq(d, doc_patch(d, '{"a": null, "b": {}}')) AS patch_inflates
FROM (SELECT '[{"p": ["a"], "v": "3.1", "k": "val", "j": 1}]'::doc AS d) s;
-- merge_agg skips NULLs; equality and hashing are by canonical bytes.
SELECT merge_agg(d)::jsonb FROM (VALUES (NULL::doc),
	('[{"p": ["a"], "v": "1.1", "k": "val", "j": 1}]'), (NULL),
	('[{"p": ["b"], "v": "1.1", "k": "val", "j": 2}]')) v(d);
SELECT merge_agg(d) IS NULL AS empty_is_null FROM doc_test_states WHERE false;
SELECT '[]'::doc = ' [ ]'::doc AS eq, '[]'::doc <> '[{"p": [], "v": "1.1", "k": "del"}]'::doc AS ne,
	'[{"p": ["a"], "v": "1.1", "k": "val", "j": [1,2]}]'::doc = '[{"k": "val", "j": [1, 2], "p": ["a"], "v": "1.1"}]'::doc AS canonical_eq;
SELECT count(*) AS groups FROM (SELECT d FROM (VALUES ('[]'::doc), ('[ ]'), ('[{"p": [], "v": "1.1", "k": "del"}]')) v(d) GROUP BY d) s;

--
-- Casts and a table
--
CREATE TABLE doc_test_t (id int PRIMARY KEY, d edge_crdt.doc);
INSERT INTO doc_test_t VALUES (1, '{"name": "x", "tags": ["a"], "address": {"city": "Oslo"}}'::jsonb);
INSERT INTO doc_test_t VALUES (2, NULL);
INSERT INTO doc_test_t VALUES (3, '{}'::jsonb);
INSERT INTO doc_test_t VALUES (4, '7'::jsonb);
UPDATE doc_test_t SET d = doc_patch(d, '{"name": "y", "n": 1, "address": {"zip": "0150"}}') WHERE id = 1;
UPDATE doc_test_t SET d = doc_set(d, '{address,city}', '"Bergen"') WHERE id = 2;
UPDATE doc_test_t SET d = doc_delete(d, '{tags}') WHERE id = 1;
SELECT id, d::jsonb, doc_get(d, '{address,city}') AS city FROM doc_test_t ORDER BY id;
-- '{}' gives a root object entry; an empty document is [].
SELECT d::text LIKE '[{"p": [], "v": "%.1000", "k": "obj"}]' AS root_object FROM doc_test_t WHERE id = 3;
SELECT '{}'::jsonb::doc::jsonb, '[]'::doc::jsonb, '"s"'::jsonb::doc::jsonb;
-- Binary COPY of the whole table round-trips.
CREATE TABLE doc_test_t2 (LIKE doc_test_t);
DO $$
BEGIN
	EXECUTE format('COPY doc_test_t TO %L WITH (FORMAT binary)',
				   current_setting('data_directory') || '/doc_test_t.bin');
	EXECUTE format('COPY doc_test_t2 FROM %L WITH (FORMAT binary)',
				   current_setting('data_directory') || '/doc_test_t.bin');
END
$$;
SELECT count(*) AS rows, bool_and(a.d = b.d) AS identical
FROM doc_test_t a JOIN doc_test_t2 b USING (id);

-- Registered for replication.
SELECT typ, merge_fn, leq_fn, inflation_hint FROM edge_crdt.crdt_type WHERE typ = 'edge_crdt.doc'::regtype;

DROP TABLE doc_test_t, doc_test_t2, doc_test_states, doc_test_recv_t;
DROP FUNCTION doc_test_recv(text);
