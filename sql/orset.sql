--
-- orset: add-wins observed-remove set of text.  Text and binary I/O,
-- errors, local operations, add-wins merges, lattice functions, casts and
-- limits.  The init test made this database node 1000.
--
-- The operators live in schema edge_crdt.
SET search_path = public, edge_crdt;

-- Adding nothing needs no node: run this before anything caches the node id.
BEGIN;
DELETE FROM edge_crdt.node;
SELECT '{}'::text[]::orset AS empty_cast,
       '{"a":[7.1]}@{7:1}'::orset + '{}'::text[] AS plus_nothing;
SELECT '{}@{}'::orset + 'x';
ROLLBACK;

-- Input: any order and whitespace, zero vv entries dropped; output canonical.
SELECT '{}@{}'::orset;
SELECT '  {  }  @  {  }  '::orset;
SELECT '{"pear":[1000.4,7.2],"apple":[1000.3]}@{1000:4,7:2}'::orset;
SELECT E' {\n "b" : [ 7.1 ] ,\t"a":[ +7.2 ] } @ { 7 : 2 , 9:0 , 3:0 } '::orset;
SELECT '{"x":[2147483647.9223372036854775807]}@{2147483647:9223372036854775807}'::orset;
-- Elements are any text: the quotes make spaces, commas, colons, brackets
-- and the empty string unambiguous.  Output escapes only " \ and control
-- characters; input also accepts \/ and \u0001 to \u007f.
SELECT '{"a b, c":[1.1],"{}@[]:.":[1.2],"":[1.3],"café":[1.4]}@{1:4}'::orset;
SELECT '{"q\"uote":[1.1],"back\\slash":[1.2],"tab\tnew\nline":[1.3]}@{1:3}'::orset;
SELECT '{"\u0041\/\u007f\u001b\r\b\f":[1.1]}@{1:1}'::orset;
SELECT elements('{"q\"uote":[1.1],"back\\slash":[1.2],"\/":[1.3]}@{1:3}'::orset);
-- Canonical: the same state written differently is the same value.
SELECT '{"b":[7.1],"a":[7.2,1000.1]}@{1000:1,7:2}'::orset
     = '{ "a" : [1000.1, 7.2], "\u0062" : [7.1] } @ { 7:2, 1000:1, 5:0 }'::orset AS same;
SELECT s::text::orset = s AS text_roundtrip
FROM (VALUES ('{}@{}'::orset), ('{"a":[1.1]}@{1:1}'),
             ('{"\"\\\n":[3.1,9.2]}@{3:1,9:7}')) v(s);
-- The binary form: version, vv, then each element with its dots.
SELECT orset_send('{}@{}');
SELECT orset_send('{"a":[7.1]}@{7:1,1000:2}');

-- Input errors: syntax.
SELECT ''::orset;
SELECT '{}'::orset;
SELECT '{}@'::orset;
SELECT '{}@{}x'::orset;
SELECT '{"a":[1.1]}@{1:1'::orset;
SELECT '{a:[1.1]}@{1:1}'::orset;
SELECT '{"a:[1.1]}@{1:1}'::orset;
SELECT '{"a"[1.1]}@{1:1}'::orset;
SELECT '{"a":[1.1],}@{1:1}'::orset;
SELECT '{"a":[1]}@{1:1}'::orset;
SELECT '{"a":[1 .1]}@{1:1}'::orset;
SELECT '{"a":[1.x]}@{1:1}'::orset;
SELECT '{}@{1}'::orset;
SELECT '{"a"é:[1.1]}@{1:1}'::orset;
SELECT '{"\q":[1.1]}@{1:1}'::orset;
SELECT '{"\u12":[1.1]}@{1:1}'::orset;
SELECT '{"\u0000":[1.1]}@{1:1}'::orset;
SELECT '{"\u00e9":[1.1]}@{1:1}'::orset;
-- Input errors: invalid node ids and counters.
SELECT '{}@{0:1}'::orset;
SELECT '{}@{-7:1}'::orset;
SELECT '{"a":[2147483648.1]}@{1:1}'::orset;
SELECT '{"a":[1.0]}@{1:1}'::orset;
SELECT '{"a":[1.-1]}@{1:1}'::orset;
SELECT '{}@{1:-1}'::orset;
SELECT '{}@{1:9223372036854775808}'::orset;
-- Input errors: invalid states.
SELECT '{"a":[1.2]}@{1:1}'::orset;
SELECT '{"a":[7.1]}@{1:1}'::orset;
SELECT '{"a":[1.1],"a":[1.1]}@{1:1}'::orset;
SELECT '{"a":[1.1,1.1]}@{1:1}'::orset;
SELECT '{}@{1:1,1:2}'::orset;
SELECT '{"a":[]}@{1:1}'::orset;

-- Elements: at most 8192 bytes.
SELECT cardinality(('{"' || repeat('x', 8192) || '":[1.1]}@{1:1}')::orset);
SELECT ('{"' || repeat('x', 8193) || '":[1.1]}@{1:1}')::orset;
SELECT '{}@{}'::orset + repeat('x', 8193);
SELECT ARRAY[repeat('x', 8193)]::text[]::orset;
-- Long elements are quoted in messages only up to a prefix.
SELECT ('{"' || repeat('long', 20) || '":[1.1],"' || repeat('long', 20) || '":[1.1]}@{1:1}')::orset;

-- + adds with a fresh dot of the local node (1000), replacing the dots the
-- state had observed for that element.
SELECT '{}@{}'::orset + 'apple';
SELECT '{}@{}'::orset + 'apple' + 'pear' + 'apple';
SELECT '{"apple":[7.1,42.3]}@{7:1,42:3}'::orset + 'apple';
SELECT orset_add('{"apple":[7.1]}@{7:1,1000:5}', 'apple');
-- An array adds each distinct element once, in byte order whatever the
-- array's order, so equal inputs give equal states.
SELECT '{"apple":[7.1]}@{7:1,1000:5}'::orset + ARRAY['pear', 'fig', 'pear'];
SELECT '{}@{}'::orset + ARRAY['b', 'a'] = '{}@{}'::orset + ARRAY['a', 'b'] AS order_free;
-- An unknown literal is an element, not an array: write ARRAY[...] or a cast.
SELECT '{}@{}'::orset + '{a,b}';
SELECT '{}@{}'::orset + '{a,b}'::text[];
SELECT '{}@{1000:9223372036854775807}'::orset + 'x';
SELECT '{}@{}'::orset + ARRAY['a', NULL];
SELECT '{}@{}'::orset + NULL::text;

-- - removes the element and leaves no tombstone: the version vector
-- remembers the removed dots.
SELECT '{"apple":[7.1],"pear":[1000.2]}@{7:1,1000:2}'::orset - 'apple';
SELECT '{"apple":[7.1],"pear":[1000.2]}@{7:1,1000:2}'::orset - 'fig';
SELECT '{"apple":[7.1],"pear":[1000.2]}@{7:1,1000:2}'::orset - ARRAY['pear', 'apple', 'fig'];
SELECT orset_remove('{"apple":[7.1]}@{7:1}', 'apple');
SELECT '{}@{}'::orset - ARRAY['a', NULL];

-- Reading: @>, cardinality, elements and the cast to text[] (byte order).
SELECT s @> 'apple' AS has_apple, s @> 'fig' AS has_fig, s @> '' AS has_empty,
       cardinality(s), s::text[] AS elements
FROM (SELECT '{"pear":[1.2],"apple":[1.1],"Zebra":[1.3]}@{1:3}'::orset AS s) v;
SELECT e FROM elements('{"b":[1.2],"a b":[1.1],"":[1.3],"B":[1.4]}@{1:4}'::orset) e;
SELECT cardinality('{}@{5:5}'::orset), '{}@{5:5}'::orset::text[], count(*)
FROM elements('{}@{5:5}'::orset);

-- Add wins.  x was added by node 7 and both nodes saw it.  Node 7 removes
-- it while node 1000 concurrently re-adds it: the re-add's dot 1000.1 is
-- not covered by node 7's version vector, so it survives the merge.
SELECT merge('{}@{7:1}'::orset, '{"x":[1000.1]}@{7:1,1000:1}'::orset) AS merged,
       merge('{"x":[1000.1]}@{7:1,1000:1}'::orset, '{}@{7:1}'::orset) AS swapped;
-- The same, computed from the shared state with the operators.
SELECT merge(s - 'x', s + 'x') @> 'x' AS add_wins,
       merge(s - 'x', s + 'x') = merge(s + 'x', s - 'x') AS commutes
FROM (SELECT '{"x":[7.1]}@{7:1}'::orset AS s) v;
-- Concurrent adds on two nodes keep both dots; a remove on node 7 that saw
-- only its own add leaves node 1000's add.
SELECT merge('{"x":[7.1]}@{7:1}'::orset, '{"x":[1000.1]}@{1000:1}'::orset);
SELECT merge('{}@{7:1}'::orset, '{"x":[1000.1]}@{1000:1}'::orset);
-- A remove that saw both adds wins over neither: x is gone.
SELECT merge('{}@{7:1,1000:1}'::orset, '{"x":[7.1,1000.1]}@{7:1,1000:1}'::orset);

-- Removes do not resurrect: merging a removal with the state it came from,
-- or with a later state of another node that did not touch x, keeps x out.
SELECT merge(s - 'x', s) AS with_origin, merge(s, s - 'x') = s - 'x' AS absorbed
FROM (SELECT '{"x":[7.1],"y":[7.2]}@{7:2}'::orset AS s) v;
SELECT merge('{"y":[7.2]}@{7:2}'::orset,
             '{"x":[7.1],"y":[7.2],"z":[1000.1]}@{7:2,1000:1}'::orset);

-- merge is idempotent; merge_agg skips NULLs.
SELECT merge(s, s) = s AS idempotent
FROM (SELECT '{"a":[7.1,1000.3]}@{7:1,1000:3}'::orset AS s) v;
SELECT merge_agg(s) FROM (VALUES ('{"a":[7.1]}@{7:1}'::orset), (NULL),
                                 ('{"b":[1000.1]}@{1000:1}'), ('{}@{7:1}')) v(s);
SELECT merge_agg(s) IS NULL AS all_null FROM (VALUES (NULL::orset)) v(s);

-- leq(a, b) is "merge(a, b) = b".
SELECT a, b, leq(a, b) AS a_le_b, leq(b, a) AS b_le_a, merge(a, b) = b AS merge_is_b
FROM (VALUES ('{}@{}'::orset, '{"x":[7.1]}@{7:1}'::orset),
             ('{"x":[7.1]}@{7:1}', '{}@{7:1}'),
             ('{"x":[7.1]}@{7:1}', '{"x":[7.1,1000.1]}@{7:1,1000:1}'),
             ('{"x":[7.1]}@{7:1}', '{"x":[1000.1]}@{1000:1}'),
             ('{"x":[7.1]}@{7:1}', '{"x":[7.1]}@{7:1}')) v(a, b);

-- = and <> are byte equality of canonical states; hashing groups them.
SELECT '{"a":[1.1]}@{1:1}'::orset <> '{"a":[1.1]}@{1:2}'::orset AS differ;
SELECT s, count(*)
FROM (VALUES ('{"a":[1.1]}@{1:1}'::orset), (' { "\u0061" : [1.1] } @ { 1:1 } '),
             ('{}@{1:1}')) v(s)
GROUP BY s ORDER BY count(*);

-- Casts through a table: text[] is an assignment cast, + and - update.
CREATE TABLE orset_regress_tags (id int PRIMARY KEY, tags orset);
INSERT INTO orset_regress_tags VALUES
	(1, ARRAY['b', 'a']), (2, '{}'::text[]), (3, '{"x":[7.1]}@{7:1}');
INSERT INTO orset_regress_tags VALUES (4, ARRAY['a', NULL]);
INSERT INTO orset_regress_tags VALUES (4, '{}');
UPDATE orset_regress_tags SET tags = tags + 'c' WHERE id = 1;
UPDATE orset_regress_tags SET tags = tags - 'a' WHERE id = 1;
UPDATE orset_regress_tags SET tags = tags + ARRAY['p', 'q'] WHERE id = 2;
UPDATE orset_regress_tags SET tags = tags - 'x' WHERE id = 3;
SELECT id, tags, tags::text[] AS elements, cardinality(tags)
FROM orset_regress_tags ORDER BY id;
SELECT id, e FROM orset_regress_tags, elements(tags) e ORDER BY id, e;
SELECT id FROM orset_regress_tags WHERE tags @> 'c';

-- Binary round trip through COPY.
\copy orset_regress_tags TO 'results/orset_regress.bin' (FORMAT binary)
CREATE TABLE orset_regress_copy (LIKE orset_regress_tags);
\copy orset_regress_copy FROM 'results/orset_regress.bin' (FORMAT binary)
SELECT a.id, a.tags = b.tags AS same
FROM orset_regress_tags a JOIN orset_regress_copy b USING (id) ORDER BY a.id;
DROP TABLE orset_regress_tags, orset_regress_copy;

-- Bounds: at most 100000 elements and 64 MB per state.
SELECT cardinality(orset(array_agg('e' || g))) FROM generate_series(1, 100000) g;
SELECT orset(array_agg('e' || g)) FROM generate_series(1, 100001) g;
-- A large set stored out of line, compressed or not: cardinality reads
-- only the header slice.
CREATE TABLE orset_regress_big (id int, s orset);
INSERT INTO orset_regress_big SELECT 1, orset(array_agg('e' || g)) FROM generate_series(1, 100000) g;
ALTER TABLE orset_regress_big ALTER COLUMN s SET STORAGE external;
INSERT INTO orset_regress_big SELECT 2, orset(array_agg('e' || g)) FROM generate_series(1, 5000) g;
SELECT id, cardinality(s), (SELECT count(*) FROM elements(s)) AS elements,
       s @> 'e4999' AS has_e4999, cardinality(s - 'e1' + 'x') AS changed,
       pg_column_compression(s) IS NOT NULL AS compressed
FROM orset_regress_big ORDER BY id;
DROP TABLE orset_regress_big;
SELECT merge(a, b)
FROM (SELECT orset(array_agg('e' || g)) AS a FROM generate_series(1, 60000) g) x,
     (SELECT ('{' || string_agg(format('"f%s":[7.%s]', g, g), ',') || '}@{7:40001}')::orset AS b
      FROM generate_series(1, 40001) g) y;
SELECT orset(array_agg(lpad(g::text, 8192, 'x'))) FROM generate_series(1, 8200) g;

-- The registry entry used by replicated tables.
SELECT typ, merge_fn, leq_fn, inflation_hint FROM edge_crdt.crdt_type
WHERE typ = 'edge_crdt.orset'::regtype;
