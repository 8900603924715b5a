/*
 * Counter CRDTs (src/types/gcounter*.c, src/types/pncounter*.c): the
 * grow-only gcounter and the increment/decrement pncounter, both maps from
 * node id to per-node counts that merge by per-node max.
 *
 * Functions that read the local node id (the + and - operators and the
 * casts from integers) are STABLE and PARALLEL RESTRICTED: the id is read
 * with SPI and cached per backend.
 */

-- gcounter -------------------------------------------------------------

CREATE TYPE edge_crdt.gcounter;

CREATE FUNCTION edge_crdt.gcounter_in(cstring)
RETURNS edge_crdt.gcounter
AS 'MODULE_PATHNAME', 'gcounter_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.gcounter_out(edge_crdt.gcounter)
RETURNS cstring
AS 'MODULE_PATHNAME', 'gcounter_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.gcounter_recv(internal)
RETURNS edge_crdt.gcounter
AS 'MODULE_PATHNAME', 'gcounter_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.gcounter_send(edge_crdt.gcounter)
RETURNS bytea
AS 'MODULE_PATHNAME', 'gcounter_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- ALIGNMENT = double: the flat entries hold int8 counts read in place.
CREATE TYPE edge_crdt.gcounter (
	INPUT = edge_crdt.gcounter_in,
	OUTPUT = edge_crdt.gcounter_out,
	RECEIVE = edge_crdt.gcounter_recv,
	SEND = edge_crdt.gcounter_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE edge_crdt.gcounter IS
	'grow-only counter CRDT: per-node counts, merged by per-node max; text {node:count,...}';

-- Equal states have equal bytes, so equality and hashing are byte-wise.
CREATE FUNCTION edge_crdt.gcounter_eq(edge_crdt.gcounter, edge_crdt.gcounter)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.gcounter_ne(edge_crdt.gcounter, edge_crdt.gcounter)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.gcounter_hash(edge_crdt.gcounter)
RETURNS int4
AS 'MODULE_PATHNAME', 'crdt_bytes_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR edge_crdt.= (
	LEFTARG = edge_crdt.gcounter,
	RIGHTARG = edge_crdt.gcounter,
	FUNCTION = edge_crdt.gcounter_eq,
	COMMUTATOR = OPERATOR(edge_crdt.=),
	NEGATOR = OPERATOR(edge_crdt.<>),
	RESTRICT = eqsel,
	JOIN = eqjoinsel,
	HASHES
);

CREATE OPERATOR edge_crdt.<> (
	LEFTARG = edge_crdt.gcounter,
	RIGHTARG = edge_crdt.gcounter,
	FUNCTION = edge_crdt.gcounter_ne,
	COMMUTATOR = OPERATOR(edge_crdt.<>),
	NEGATOR = OPERATOR(edge_crdt.=),
	RESTRICT = neqsel,
	JOIN = neqjoinsel
);

CREATE OPERATOR CLASS edge_crdt.gcounter_hash_ops
	DEFAULT FOR TYPE edge_crdt.gcounter USING hash AS
	OPERATOR 1 edge_crdt.= (edge_crdt.gcounter, edge_crdt.gcounter),
	FUNCTION 1 edge_crdt.gcounter_hash(edge_crdt.gcounter);

CREATE FUNCTION edge_crdt.gcounter_add(edge_crdt.gcounter, bigint)
RETURNS edge_crdt.gcounter
AS 'MODULE_PATHNAME', 'gcounter_add_sql'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.gcounter_add(edge_crdt.gcounter, bigint) IS
	'add a non-negative amount to the local node''s count';

CREATE OPERATOR edge_crdt.+ (
	LEFTARG = edge_crdt.gcounter,
	RIGHTARG = bigint,
	FUNCTION = edge_crdt.gcounter_add
);

CREATE FUNCTION edge_crdt.merge(edge_crdt.gcounter, edge_crdt.gcounter)
RETURNS edge_crdt.gcounter
AS 'MODULE_PATHNAME', 'gcounter_merge_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.merge(edge_crdt.gcounter, edge_crdt.gcounter) IS
	'least upper bound of two gcounters: per-node max';

CREATE AGGREGATE edge_crdt.merge_agg(edge_crdt.gcounter) (
	SFUNC = edge_crdt.merge,
	STYPE = edge_crdt.gcounter,
	COMBINEFUNC = edge_crdt.merge,
	PARALLEL = SAFE
);

CREATE FUNCTION edge_crdt.leq(edge_crdt.gcounter, edge_crdt.gcounter)
RETURNS bool
AS 'MODULE_PATHNAME', 'gcounter_leq_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.leq(edge_crdt.gcounter, edge_crdt.gcounter) IS
	'true when the first gcounter is included in the second (merge(a, b) = b)';

CREATE FUNCTION edge_crdt.value(edge_crdt.gcounter)
RETURNS bigint
AS 'MODULE_PATHNAME', 'gcounter_value_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.value(edge_crdt.gcounter) IS
	'the counter''s value: the sum of all nodes'' counts';

CREATE FUNCTION edge_crdt.gcounter(bigint)
RETURNS edge_crdt.gcounter
AS 'MODULE_PATHNAME', 'gcounter_from_int8'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION edge_crdt.gcounter(integer)
RETURNS edge_crdt.gcounter
AS 'MODULE_PATHNAME', 'gcounter_from_int4'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE CAST (edge_crdt.gcounter AS bigint)
	WITH FUNCTION edge_crdt.value(edge_crdt.gcounter);
-- So that "INSERT ... VALUES (0)" works: the value becomes the local count.
CREATE CAST (bigint AS edge_crdt.gcounter)
	WITH FUNCTION edge_crdt.gcounter(bigint) AS ASSIGNMENT;
CREATE CAST (integer AS edge_crdt.gcounter)
	WITH FUNCTION edge_crdt.gcounter(integer) AS ASSIGNMENT;

-- pncounter ------------------------------------------------------------

CREATE TYPE edge_crdt.pncounter;

CREATE FUNCTION edge_crdt.pncounter_in(cstring)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.pncounter_out(edge_crdt.pncounter)
RETURNS cstring
AS 'MODULE_PATHNAME', 'pncounter_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.pncounter_recv(internal)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION edge_crdt.pncounter_send(edge_crdt.pncounter)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pncounter_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE edge_crdt.pncounter (
	INPUT = edge_crdt.pncounter_in,
	OUTPUT = edge_crdt.pncounter_out,
	RECEIVE = edge_crdt.pncounter_recv,
	SEND = edge_crdt.pncounter_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = double,
	STORAGE = extended
);
COMMENT ON TYPE edge_crdt.pncounter IS
	'increment/decrement counter CRDT: per-node increments and decrements; text {node:+p-n,...}';

CREATE FUNCTION edge_crdt.pncounter_eq(edge_crdt.pncounter, edge_crdt.pncounter)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.pncounter_ne(edge_crdt.pncounter, edge_crdt.pncounter)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.pncounter_hash(edge_crdt.pncounter)
RETURNS int4
AS 'MODULE_PATHNAME', 'crdt_bytes_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR edge_crdt.= (
	LEFTARG = edge_crdt.pncounter,
	RIGHTARG = edge_crdt.pncounter,
	FUNCTION = edge_crdt.pncounter_eq,
	COMMUTATOR = OPERATOR(edge_crdt.=),
	NEGATOR = OPERATOR(edge_crdt.<>),
	RESTRICT = eqsel,
	JOIN = eqjoinsel,
	HASHES
);

CREATE OPERATOR edge_crdt.<> (
	LEFTARG = edge_crdt.pncounter,
	RIGHTARG = edge_crdt.pncounter,
	FUNCTION = edge_crdt.pncounter_ne,
	COMMUTATOR = OPERATOR(edge_crdt.<>),
	NEGATOR = OPERATOR(edge_crdt.=),
	RESTRICT = neqsel,
	JOIN = neqjoinsel
);

CREATE OPERATOR CLASS edge_crdt.pncounter_hash_ops
	DEFAULT FOR TYPE edge_crdt.pncounter USING hash AS
	OPERATOR 1 edge_crdt.= (edge_crdt.pncounter, edge_crdt.pncounter),
	FUNCTION 1 edge_crdt.pncounter_hash(edge_crdt.pncounter);

CREATE FUNCTION edge_crdt.pncounter_add(edge_crdt.pncounter, bigint)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_add_sql'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.pncounter_add(edge_crdt.pncounter, bigint) IS
	'add an amount (a negative one counts as a decrement) on the local node';

CREATE FUNCTION edge_crdt.pncounter_sub(edge_crdt.pncounter, bigint)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_sub_sql'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.pncounter_sub(edge_crdt.pncounter, bigint) IS
	'subtract an amount (a negative one counts as an increment) on the local node';

CREATE OPERATOR edge_crdt.+ (
	LEFTARG = edge_crdt.pncounter,
	RIGHTARG = bigint,
	FUNCTION = edge_crdt.pncounter_add
);

CREATE OPERATOR edge_crdt.- (
	LEFTARG = edge_crdt.pncounter,
	RIGHTARG = bigint,
	FUNCTION = edge_crdt.pncounter_sub
);

CREATE FUNCTION edge_crdt.merge(edge_crdt.pncounter, edge_crdt.pncounter)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_merge_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.merge(edge_crdt.pncounter, edge_crdt.pncounter) IS
	'least upper bound of two pncounters: per-node max of increments and of decrements';

CREATE AGGREGATE edge_crdt.merge_agg(edge_crdt.pncounter) (
	SFUNC = edge_crdt.merge,
	STYPE = edge_crdt.pncounter,
	COMBINEFUNC = edge_crdt.merge,
	PARALLEL = SAFE
);

CREATE FUNCTION edge_crdt.leq(edge_crdt.pncounter, edge_crdt.pncounter)
RETURNS bool
AS 'MODULE_PATHNAME', 'pncounter_leq_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.leq(edge_crdt.pncounter, edge_crdt.pncounter) IS
	'true when the first pncounter is included in the second (merge(a, b) = b)';

CREATE FUNCTION edge_crdt.value(edge_crdt.pncounter)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pncounter_value_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.value(edge_crdt.pncounter) IS
	'the counter''s value: all increments minus all decrements';

CREATE FUNCTION edge_crdt.pncounter(bigint)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_from_int8'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE FUNCTION edge_crdt.pncounter(integer)
RETURNS edge_crdt.pncounter
AS 'MODULE_PATHNAME', 'pncounter_from_int4'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;

CREATE CAST (edge_crdt.pncounter AS bigint)
	WITH FUNCTION edge_crdt.value(edge_crdt.pncounter);
CREATE CAST (bigint AS edge_crdt.pncounter)
	WITH FUNCTION edge_crdt.pncounter(bigint) AS ASSIGNMENT;
CREATE CAST (integer AS edge_crdt.pncounter)
	WITH FUNCTION edge_crdt.pncounter(integer) AS ASSIGNMENT;

-- registry -------------------------------------------------------------

INSERT INTO edge_crdt.crdt_type VALUES
	('edge_crdt.gcounter',
	 'edge_crdt.merge(edge_crdt.gcounter,edge_crdt.gcounter)',
	 'edge_crdt.leq(edge_crdt.gcounter,edge_crdt.gcounter)',
	 'Write "{column} = {column} + n" instead.'),
	('edge_crdt.pncounter',
	 'edge_crdt.merge(edge_crdt.pncounter,edge_crdt.pncounter)',
	 'edge_crdt.leq(edge_crdt.pncounter,edge_crdt.pncounter)',
	 'Write "{column} = {column} + n" or "{column} = {column} - n" instead.');
