/*
 * Add-wins observed-remove set of text (src/types/orset*.c), ORSWOT style:
 * a version vector plus, per element, the dots (node.counter) of the adds
 * that are still live.  Removed elements leave no tombstone.  Text form:
 * {"apple":[1000.3],"pear":[7.2,1000.4]}@{7:2,1000:4}
 *
 * Functions that read the local node id (the + operators and the cast from
 * text[]) are STABLE and PARALLEL RESTRICTED: the id is read with SPI and
 * cached per backend.
 */

CREATE TYPE edge_crdt.orset;

CREATE FUNCTION edge_crdt.orset_in(cstring)
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.orset_out(edge_crdt.orset)
RETURNS cstring
AS 'MODULE_PATHNAME', 'orset_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- recv and send convert elements between client and server encoding, as
-- textrecv and textsend do, so they depend on client_encoding: STABLE.
CREATE FUNCTION edge_crdt.orset_recv(internal)
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_recv'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.orset_send(edge_crdt.orset)
RETURNS bytea
AS 'MODULE_PATHNAME', 'orset_send'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

-- ALIGNMENT = double: the flat layout holds int8 counters read in place.
CREATE TYPE edge_crdt.orset (
	INPUT = edge_crdt.orset_in,
	OUTPUT = edge_crdt.orset_out,
	RECEIVE = edge_crdt.orset_recv,
	SEND = edge_crdt.orset_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE edge_crdt.orset IS
	'add-wins observed-remove set of text (ORSWOT); text {"elem":[node.counter,...],...}@{node:counter,...}';

-- Equal states have equal bytes, so equality and hashing are byte-wise.
CREATE FUNCTION edge_crdt.orset_eq(edge_crdt.orset, edge_crdt.orset)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.orset_ne(edge_crdt.orset, edge_crdt.orset)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.orset_hash(edge_crdt.orset)
RETURNS int4
AS 'MODULE_PATHNAME', 'crdt_bytes_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.orset_hash_extended(edge_crdt.orset, int8)
RETURNS int8
AS 'MODULE_PATHNAME', 'crdt_bytes_hash_extended'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR edge_crdt.= (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = edge_crdt.orset,
	FUNCTION = edge_crdt.orset_eq,
	COMMUTATOR = OPERATOR(edge_crdt.=),
	NEGATOR = OPERATOR(edge_crdt.<>),
	RESTRICT = eqsel,
	JOIN = eqjoinsel,
	HASHES
);

CREATE OPERATOR edge_crdt.<> (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = edge_crdt.orset,
	FUNCTION = edge_crdt.orset_ne,
	COMMUTATOR = OPERATOR(edge_crdt.<>),
	NEGATOR = OPERATOR(edge_crdt.=),
	RESTRICT = neqsel,
	JOIN = neqjoinsel
);

CREATE OPERATOR CLASS edge_crdt.orset_hash_ops
	DEFAULT FOR TYPE edge_crdt.orset USING hash AS
	OPERATOR 1 edge_crdt.= (edge_crdt.orset, edge_crdt.orset),
	FUNCTION 1 edge_crdt.orset_hash(edge_crdt.orset),
	FUNCTION 2 edge_crdt.orset_hash_extended(edge_crdt.orset, int8);

-- local operations ------------------------------------------------------

CREATE FUNCTION edge_crdt.orset_add(edge_crdt.orset, text)
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_add_text'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.orset_add(edge_crdt.orset, text) IS
	'add an element with a fresh dot of the local node (replaces the element''s observed dots)';

CREATE FUNCTION edge_crdt.orset_add(edge_crdt.orset, text[])
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_add_array'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.orset_add(edge_crdt.orset, text[]) IS
	'add every element of the array, each with a fresh dot of the local node';

CREATE FUNCTION edge_crdt.orset_remove(edge_crdt.orset, text)
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_remove_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.orset_remove(edge_crdt.orset, text) IS
	'remove an element: drops the adds this state has observed (a concurrent add elsewhere wins)';

CREATE FUNCTION edge_crdt.orset_remove(edge_crdt.orset, text[])
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_remove_array'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.orset_remove(edge_crdt.orset, text[]) IS
	'remove every element of the array';

CREATE FUNCTION edge_crdt.orset_contains(edge_crdt.orset, text)
RETURNS bool
AS 'MODULE_PATHNAME', 'orset_contains_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.orset_contains(edge_crdt.orset, text) IS
	'true when the element is in the set';

CREATE OPERATOR edge_crdt.+ (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = text,
	FUNCTION = edge_crdt.orset_add
);

CREATE OPERATOR edge_crdt.+ (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = text[],
	FUNCTION = edge_crdt.orset_add
);

CREATE OPERATOR edge_crdt.- (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = text,
	FUNCTION = edge_crdt.orset_remove
);

CREATE OPERATOR edge_crdt.- (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = text[],
	FUNCTION = edge_crdt.orset_remove
);

CREATE OPERATOR edge_crdt.@> (
	LEFTARG = edge_crdt.orset,
	RIGHTARG = text,
	FUNCTION = edge_crdt.orset_contains,
	RESTRICT = contsel,
	JOIN = contjoinsel
);

-- lattice --------------------------------------------------------------

CREATE FUNCTION edge_crdt.merge(edge_crdt.orset, edge_crdt.orset)
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_merge_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.merge(edge_crdt.orset, edge_crdt.orset) IS
	'least upper bound of two orsets: an element stays unless one side removed it after observing every add the other side has';

CREATE AGGREGATE edge_crdt.merge_agg(edge_crdt.orset) (
	SFUNC = edge_crdt.merge,
	STYPE = edge_crdt.orset,
	COMBINEFUNC = edge_crdt.merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE edge_crdt.merge_agg(edge_crdt.orset) IS
	'merge of all non-null orsets';

CREATE FUNCTION edge_crdt.leq(edge_crdt.orset, edge_crdt.orset)
RETURNS bool
AS 'MODULE_PATHNAME', 'orset_leq_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.leq(edge_crdt.orset, edge_crdt.orset) IS
	'true when the first orset is included in the second (merge(a, b) = b)';

-- reading --------------------------------------------------------------

CREATE FUNCTION edge_crdt.cardinality(edge_crdt.orset)
RETURNS int4
AS 'MODULE_PATHNAME', 'orset_cardinality'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.cardinality(edge_crdt.orset) IS
	'number of elements in the set';

CREATE FUNCTION edge_crdt.elements(edge_crdt.orset)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'orset_elements'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.elements(edge_crdt.orset) IS
	'the elements, sorted by bytes';

-- casts ----------------------------------------------------------------

CREATE FUNCTION edge_crdt.orset(text[])
RETURNS edge_crdt.orset
AS 'MODULE_PATHNAME', 'orset_from_array'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.orset(text[]) IS
	'a set of the array''s elements, added by the local node';

CREATE FUNCTION edge_crdt.orset_to_array(edge_crdt.orset)
RETURNS text[]
AS 'MODULE_PATHNAME', 'orset_to_array'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.orset_to_array(edge_crdt.orset) IS
	'the elements as an array, sorted by bytes';

CREATE CAST (edge_crdt.orset AS text[])
	WITH FUNCTION edge_crdt.orset_to_array(edge_crdt.orset);
-- So that "INSERT ... VALUES (ARRAY['a', 'b'])" works.
CREATE CAST (text[] AS edge_crdt.orset)
	WITH FUNCTION edge_crdt.orset(text[]) AS ASSIGNMENT;

-- registry -------------------------------------------------------------

INSERT INTO edge_crdt.crdt_type VALUES
	('edge_crdt.orset',
	 'edge_crdt.merge(edge_crdt.orset,edge_crdt.orset)',
	 'edge_crdt.leq(edge_crdt.orset,edge_crdt.orset)',
	 'Write "{column} = {column} + ''x''" or "{column} = {column} - ''x''" instead.');
