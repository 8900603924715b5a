/*
 * edge_crdt.doc: JSON document CRDT, a last-writer-wins map from paths to
 * JSON values with delete markers (src/types/doc.c; semantics and formats
 * in src/include/edge_crdt/doc.h).
 */
CREATE TYPE edge_crdt.doc;

CREATE FUNCTION edge_crdt.doc_in(cstring)
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_in'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION edge_crdt.doc_out(edge_crdt.doc)
RETURNS cstring
AS 'MODULE_PATHNAME', 'doc_out'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

-- Keys and values travel in the client encoding, like text: STABLE.
CREATE FUNCTION edge_crdt.doc_recv(internal)
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_recv'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE FUNCTION edge_crdt.doc_send(edge_crdt.doc)
RETURNS bytea
AS 'MODULE_PATHNAME', 'doc_send'
LANGUAGE C STRICT STABLE PARALLEL SAFE;

CREATE TYPE edge_crdt.doc (
	INPUT = edge_crdt.doc_in,
	OUTPUT = edge_crdt.doc_out,
	RECEIVE = edge_crdt.doc_recv,
	SEND = edge_crdt.doc_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = extended
);
COMMENT ON TYPE edge_crdt.doc IS
	'JSON document CRDT: per-path last-writer-wins values, objects and delete markers';

-- Equality is byte equality of the canonical layout.
CREATE FUNCTION edge_crdt.doc_eq(edge_crdt.doc, edge_crdt.doc)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_eq'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.doc_ne(edge_crdt.doc, edge_crdt.doc)
RETURNS bool
AS 'MODULE_PATHNAME', 'crdt_bytes_ne'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE LEAKPROOF;

CREATE FUNCTION edge_crdt.doc_hash(edge_crdt.doc)
RETURNS int4
AS 'MODULE_PATHNAME', 'crdt_bytes_hash'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

CREATE OPERATOR edge_crdt.= (
	LEFTARG = edge_crdt.doc,
	RIGHTARG = edge_crdt.doc,
	FUNCTION = edge_crdt.doc_eq,
	COMMUTATOR = OPERATOR(edge_crdt.=),
	NEGATOR = OPERATOR(edge_crdt.<>),
	RESTRICT = eqsel,
	JOIN = eqjoinsel,
	HASHES
);

CREATE OPERATOR edge_crdt.<> (
	LEFTARG = edge_crdt.doc,
	RIGHTARG = edge_crdt.doc,
	FUNCTION = edge_crdt.doc_ne,
	COMMUTATOR = OPERATOR(edge_crdt.<>),
	NEGATOR = OPERATOR(edge_crdt.=),
	RESTRICT = neqsel,
	JOIN = neqjoinsel
);

CREATE OPERATOR CLASS edge_crdt.doc_hash_ops
	DEFAULT FOR TYPE edge_crdt.doc USING hash AS
	OPERATOR 1 edge_crdt.= (edge_crdt.doc, edge_crdt.doc),
	FUNCTION 1 edge_crdt.doc_hash(edge_crdt.doc);

-- Lattice.
CREATE FUNCTION edge_crdt.merge(a edge_crdt.doc, b edge_crdt.doc)
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_merge_sql'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.merge(edge_crdt.doc, edge_crdt.doc) IS
	'least upper bound of two documents: per path the newest entry, minus entries hidden by a newer ancestor';

CREATE FUNCTION edge_crdt.leq(a edge_crdt.doc, b edge_crdt.doc)
RETURNS bool
AS 'MODULE_PATHNAME', 'doc_leq_sql'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.leq(edge_crdt.doc, edge_crdt.doc) IS
	'true when merge(a, b) = b';

CREATE AGGREGATE edge_crdt.merge_agg(edge_crdt.doc) (
	SFUNC = edge_crdt.merge,
	STYPE = edge_crdt.doc,
	COMBINEFUNC = edge_crdt.merge,
	PARALLEL = SAFE
);
COMMENT ON AGGREGATE edge_crdt.merge_agg(edge_crdt.doc) IS
	'merge of all non-null documents';

-- Local writes: one fresh version of the local node per call.
CREATE FUNCTION edge_crdt.doc_set(d edge_crdt.doc, path text[], value jsonb)
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_set_sql'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.doc_set(edge_crdt.doc, text[], jsonb) IS
	'write value at path, replacing what was there (a NULL document is the empty one)';

CREATE FUNCTION edge_crdt.doc_delete(d edge_crdt.doc, path text[])
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_delete_sql'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.doc_delete(edge_crdt.doc, text[]) IS
	'delete path and everything below it (later writes below it survive a merge)';

CREATE FUNCTION edge_crdt.doc_patch(d edge_crdt.doc, patch jsonb)
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_patch_sql'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.doc_patch(edge_crdt.doc, jsonb) IS
	'apply an RFC 7386 JSON merge patch as path writes (null members delete)';

-- Reading.
CREATE FUNCTION edge_crdt.doc_get(d edge_crdt.doc)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'doc_get_sql'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.doc_get(edge_crdt.doc) IS
	'the JSON document a state stands for';

CREATE FUNCTION edge_crdt.doc_get(d edge_crdt.doc, path text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'doc_get_path_sql'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.doc_get(edge_crdt.doc, text[]) IS
	'the JSON value at path (object keys only), or NULL when absent';

CREATE FUNCTION edge_crdt.doc_from_jsonb(value jsonb)
RETURNS edge_crdt.doc
AS 'MODULE_PATHNAME', 'doc_from_jsonb_sql'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.doc_from_jsonb(jsonb) IS
	'a new document holding value, every path written by the local node';

CREATE CAST (edge_crdt.doc AS jsonb)
	WITH FUNCTION edge_crdt.doc_get(edge_crdt.doc);
CREATE CAST (jsonb AS edge_crdt.doc)
	WITH FUNCTION edge_crdt.doc_from_jsonb(jsonb) AS ASSIGNMENT;

INSERT INTO edge_crdt.crdt_type VALUES (
	'edge_crdt.doc',
	'edge_crdt.merge(edge_crdt.doc,edge_crdt.doc)',
	'edge_crdt.leq(edge_crdt.doc,edge_crdt.doc)',
	'Use "{column} = edge_crdt.doc_set({column}, path, value)" or edge_crdt.doc_patch instead of assigning a new document.');
