
/*
 * Graph helpers (src/graph).  Edges are rows of an ordinary table; vertex
 * keys keep their own type (anyelement; it must equal the from/to column
 * type and have default btree and hash operator classes).  The functions
 * run as the caller (grants and row-level security apply) and fetch edges
 * frontier by frontier through btree indexes on the from/to columns (a
 * missing index is an error whose hint is the CREATE INDEX to run).
 * edge_filter is SQL text appended to the edge query: it runs with the
 * caller's privileges and is no more powerful than a query the caller could
 * type.  Memory per call is bounded by edge_crdt.graph_work_mem.
 *
 * Edge ids are the edge table's primary key as text (a row literal for a
 * composite key); without a primary key they are ctids, which change when a
 * row is updated or the table rewritten.
 *
 * Weights: weight_col (any numeric type) as float8, NULL -> default_weight;
 * without weight_col every edge weighs default_weight (1).  A negative or
 * NaN weight is an error when the edge is met.
 *
 * Orders (all deterministic, independent of query plans): an edge list is
 * ordered by neighbour (btree order of the vertex type), then edge id
 * (bytewise).  traverse bfs: by depth, then discovery order; dfs: preorder;
 * weighted: by cost, then fewer edges, then creation order.  reachable: by
 * depth then vertex without weights, by (cost, depth) with them.  Ties in
 * shortest paths are broken by fewer edges, then push order.
 */
CREATE TABLE edge_crdt.graph (
	name		text PRIMARY KEY,
	edges		regclass NOT NULL,
	from_col	text NOT NULL,
	to_col		text NOT NULL,
	weight_col	text,
	directed	bool NOT NULL DEFAULT true
);
COMMENT ON TABLE edge_crdt.graph IS
	'named graphs: an edge table with its from, to and weight columns';
SELECT pg_catalog.pg_extension_config_dump('edge_crdt.graph', '');
GRANT SELECT ON edge_crdt.graph TO PUBLIC;

CREATE FUNCTION edge_crdt.graph_create(name text, edges regclass, from_col text,
									   to_col text, weight_col text DEFAULT NULL,
									   directed bool DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'graph_create_sql'
LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION edge_crdt.graph_create(text, regclass, text, text, text, bool) IS
	'register a named graph (validates columns, vertex type and indexes)';
REVOKE ALL ON FUNCTION edge_crdt.graph_create(text, regclass, text, text, text, bool) FROM PUBLIC;

CREATE FUNCTION edge_crdt.graph_drop(name text)
RETURNS bool
AS $$ DELETE FROM edge_crdt.graph g WHERE g.name = $1 RETURNING true $$
LANGUAGE sql VOLATILE STRICT;
COMMENT ON FUNCTION edge_crdt.graph_drop(text) IS
	'forget a named graph (the edge table is untouched); NULL when there was none';
REVOKE ALL ON FUNCTION edge_crdt.graph_drop(text) FROM PUBLIC;

CREATE FUNCTION edge_crdt.traverse(edges regclass, start anyelement,
								   min_depth int DEFAULT 1, max_depth int DEFAULT 1,
								   direction text DEFAULT 'outbound',
								   options jsonb DEFAULT '{}')
RETURNS TABLE (depth int, vertex anyelement, edge_path text[],
			   vertex_path anyarray, cost float8)
AS 'MODULE_PATHNAME', 'graph_traverse_sql'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.traverse(regclass, anyelement, int, int, text, jsonb) IS
	'paths from start with min_depth..max_depth edges (options: from_col, to_col, order, unique_vertices, unique_edges, weight_col, default_weight, edge_filter, max_rows)';

CREATE FUNCTION edge_crdt.traverse(graph text, start anyelement,
								   min_depth int DEFAULT 1, max_depth int DEFAULT 1,
								   direction text DEFAULT NULL,
								   options jsonb DEFAULT '{}')
RETURNS TABLE (depth int, vertex anyelement, edge_path text[],
			   vertex_path anyarray, cost float8)
AS 'MODULE_PATHNAME', 'graph_traverse_named_sql'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.traverse(text, anyelement, int, int, text, jsonb) IS
	'traverse a named graph';

CREATE FUNCTION edge_crdt.neighbors(edges regclass, vertex anyelement,
									direction text DEFAULT 'outbound',
									options jsonb DEFAULT '{}')
RETURNS TABLE (vertex anyelement, edge_id text, cost float8)
AS 'MODULE_PATHNAME', 'graph_neighbors_sql'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.neighbors(regclass, anyelement, text, jsonb) IS
	'one row per edge at vertex, by neighbour then edge id (options: from_col, to_col, weight_col, default_weight, edge_filter, max_rows)';

CREATE FUNCTION edge_crdt.neighbors(graph text, vertex anyelement,
									direction text DEFAULT NULL,
									options jsonb DEFAULT '{}')
RETURNS TABLE (vertex anyelement, edge_id text, cost float8)
AS 'MODULE_PATHNAME', 'graph_neighbors_named_sql'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.neighbors(text, anyelement, text, jsonb) IS
	'neighbours in a named graph';

CREATE FUNCTION edge_crdt.reachable(edges regclass, sources anyarray,
									max_depth int DEFAULT NULL,
									max_cost float8 DEFAULT NULL,
									direction text DEFAULT 'outbound',
									options jsonb DEFAULT '{}')
RETURNS TABLE (vertex anyelement, depth int, cost float8)
AS 'MODULE_PATHNAME', 'graph_reachable_sql'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.reachable(regclass, anyarray, int, float8, text, jsonb) IS
	'each vertex reachable from sources once, with its depth and cost (options: from_col, to_col, weight_col, default_weight, edge_filter, max_rows)';

CREATE FUNCTION edge_crdt.reachable(graph text, sources anyarray,
									max_depth int DEFAULT NULL,
									max_cost float8 DEFAULT NULL,
									direction text DEFAULT NULL,
									options jsonb DEFAULT '{}')
RETURNS TABLE (vertex anyelement, depth int, cost float8)
AS 'MODULE_PATHNAME', 'graph_reachable_named_sql'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.reachable(text, anyarray, int, float8, text, jsonb) IS
	'reachability in a named graph';

CREATE FUNCTION edge_crdt.shortest_path(edges regclass, source anyelement,
										target anyelement,
										direction text DEFAULT 'outbound',
										options jsonb DEFAULT '{}')
RETURNS TABLE (seq int, vertex anyelement, edge_id text, cost float8,
			   agg_cost float8)
AS 'MODULE_PATHNAME', 'graph_shortest_path_sql'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.shortest_path(regclass, anyelement, anyelement, text, jsonb) IS
	'a shortest path (BFS, or bidirectional Dijkstra with weight_col); no rows when there is none';

CREATE FUNCTION edge_crdt.shortest_path(graph text, source anyelement,
										target anyelement,
										direction text DEFAULT NULL,
										options jsonb DEFAULT '{}')
RETURNS TABLE (seq int, vertex anyelement, edge_id text, cost float8,
			   agg_cost float8)
AS 'MODULE_PATHNAME', 'graph_shortest_path_named_sql'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.shortest_path(text, anyelement, anyelement, text, jsonb) IS
	'a shortest path in a named graph';

CREATE FUNCTION edge_crdt.k_shortest_paths(edges regclass, source anyelement,
										   target anyelement, k int,
										   direction text DEFAULT 'outbound',
										   options jsonb DEFAULT '{}')
RETURNS TABLE (path_id int, seq int, vertex anyelement, edge_id text,
			   cost float8, agg_cost float8)
AS 'MODULE_PATHNAME', 'graph_k_shortest_paths_sql'
LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.k_shortest_paths(regclass, anyelement, anyelement, int, text, jsonb) IS
	'the k cheapest loopless paths (Yen)';

CREATE FUNCTION edge_crdt.k_shortest_paths(graph text, source anyelement,
										   target anyelement, k int,
										   direction text DEFAULT NULL,
										   options jsonb DEFAULT '{}')
RETURNS TABLE (path_id int, seq int, vertex anyelement, edge_id text,
			   cost float8, agg_cost float8)
AS 'MODULE_PATHNAME', 'graph_k_shortest_paths_named_sql'
LANGUAGE C CALLED ON NULL INPUT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION edge_crdt.k_shortest_paths(text, anyelement, anyelement, int, text, jsonb) IS
	'the k cheapest loopless paths in a named graph';
