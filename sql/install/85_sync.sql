/*
 * Initial copy (replicator/sync.c, src/capture/snapshot.c): a peer's
 * replicated tables are copied before its stream is applied.
 */

-- What the copying node runs on the peer, under the slot's snapshot.
CREATE FUNCTION edge_crdt.table_snapshot(rel regclass) RETURNS SETOF bytea
	AS 'MODULE_PATHNAME', 'table_snapshot_sql' LANGUAGE C STRICT STABLE;
COMMENT ON FUNCTION edge_crdt.table_snapshot(regclass) IS
	'every tombstone and row of a replicated table as wire messages (DELETE, ROW), for the initial copy';
REVOKE ALL ON FUNCTION edge_crdt.table_snapshot(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edge_crdt.table_snapshot(regclass) TO edge_crdt_admin;

/*
 * One row per (peer, table) to copy from that peer; add_peer(copy_data)
 * fills it with every table replicated here.  Table names are
 * schema-qualified and quoted, as the peer resolves them.
 */
CREATE TABLE edge_crdt.sync_table (
	peer_node	int4 NOT NULL REFERENCES edge_crdt.peer (node_id) ON DELETE CASCADE,
	table_name	text NOT NULL,
	state		text NOT NULL DEFAULT 'pending'
				CHECK (state IN ('pending', 'copying', 'done', 'failed')),
	rows_copied	int8 NOT NULL DEFAULT 0,
	bytes_copied int8 NOT NULL DEFAULT 0,
	started_at	timestamptz,
	finished_at	timestamptz,
	last_error	text,
	PRIMARY KEY (peer_node, table_name)
);
COMMENT ON TABLE edge_crdt.sync_table IS
	'initial copy of each replicated table from each peer: state and progress';
REVOKE ALL ON TABLE edge_crdt.sync_table FROM PUBLIC;
GRANT SELECT ON TABLE edge_crdt.sync_table TO edge_crdt_admin;

CREATE VIEW edge_crdt.sync_status AS
	SELECT p.peer_name, s.table_name, s.state, s.rows_copied, s.bytes_copied,
		   s.started_at, s.finished_at,
		   (s.bytes_copied /
			greatest(extract(epoch FROM coalesce(s.finished_at, now()) - s.started_at),
					 0.001))::int8 AS bytes_per_second,
		   s.last_error
	FROM edge_crdt.sync_table s
	JOIN edge_crdt.peer p ON p.node_id = s.peer_node;
COMMENT ON VIEW edge_crdt.sync_status IS
	'initial copy per peer and table: pending, copying, done or failed; rows, bytes, rate, last error';
REVOKE ALL ON edge_crdt.sync_status FROM PUBLIC;
GRANT SELECT ON edge_crdt.sync_status TO edge_crdt_admin;

CREATE FUNCTION edge_crdt.resync_peer(peer_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'resync_peer_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt.resync_peer(text) IS
	'start over with a peer whose changes can no longer be streamed (slot invalidated or dropped): new slot, full copy';
REVOKE ALL ON FUNCTION edge_crdt.resync_peer(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edge_crdt.resync_peer(text) TO edge_crdt_admin;
