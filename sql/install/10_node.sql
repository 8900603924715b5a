/*
 * Node identity and the hybrid logical clock (src/clock).
 */
CREATE TABLE edge_crdt.node (
	node_id		int4 PRIMARY KEY CHECK (node_id > 0),
	node_name	text NOT NULL,
	region		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	local_dsn	text			-- how other nodes reach this one (join)
);
-- A database is at most one node.
CREATE UNIQUE INDEX node_singleton ON edge_crdt.node ((true));
COMMENT ON TABLE edge_crdt.node IS 'identity of this database in the edge_crdt mesh (one row)';

CREATE VIEW edge_crdt.local_node AS
	SELECT node_id, node_name, region, created_at FROM edge_crdt.node;
COMMENT ON VIEW edge_crdt.local_node IS 'this database''s edge_crdt node identity';

CREATE FUNCTION edge_crdt.create_node(node_name text, region text DEFAULT NULL,
									  node_id int4 DEFAULT NULL)
RETURNS int4
AS 'MODULE_PATHNAME', 'create_node_sql'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION edge_crdt.create_node(text, text, int4) IS
	'make this database an edge_crdt node with a random (or the given) node id';
REVOKE ALL ON FUNCTION edge_crdt.create_node(text, text, int4) FROM PUBLIC;

CREATE FUNCTION edge_crdt.hlc_now()
RETURNS int8
AS 'MODULE_PATHNAME', 'hlc_now_sql'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.hlc_now() IS
	'a fresh hybrid logical clock value, strictly greater than every value issued or observed before';

CREATE FUNCTION edge_crdt.hlc_observe(remote int8)
RETURNS int8
AS 'MODULE_PATHNAME', 'hlc_observe_sql'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.hlc_observe(int8) IS
	'advance the hybrid logical clock past a remote value (rejects values beyond edge_crdt.max_clock_skew)';
REVOKE ALL ON FUNCTION edge_crdt.hlc_observe(int8) FROM PUBLIC;

CREATE FUNCTION edge_crdt.hlc_to_timestamptz(hlc int8)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'hlc_to_timestamptz_sql'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.hlc_to_timestamptz(int8) IS
	'the wall-clock part of a hybrid logical clock value';


/*
 * Keys for replicated tables: sequences collide across regions, these do
 * not (src/clock/next_id.c).  Use as the default of a bigint primary key.
 */
CREATE FUNCTION edge_crdt.next_id()
RETURNS int8
AS 'MODULE_PATHNAME', 'next_id_sql'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.next_id() IS
	'a 64-bit id unique across the mesh and ordered by time: ms since 2025 (41 bits), node prefix (12), sequence (10)';

CREATE FUNCTION edge_crdt.next_id_info(id int8, OUT issued_at timestamptz,
									   OUT node_prefix int4, OUT seq int4)
AS 'MODULE_PATHNAME', 'next_id_info_sql'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.next_id_info(int8) IS
	'the parts of an edge_crdt.next_id() value: when, which node (prefix), sequence';
