/*
 * Replicator (replicator/): peers, their status, and the DBA functions.
 */

-- Management role: everything below is revoked from PUBLIC and granted here.
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'edge_crdt_admin') THEN
		CREATE ROLE edge_crdt_admin NOLOGIN;
	END IF;
END
$$;

CREATE TABLE edge_crdt.peer (
	peer_name	text PRIMARY KEY,
	node_id		int4 NOT NULL UNIQUE CHECK (node_id > 0),
	region		text,
	dsn			text NOT NULL,
	enabled		bool NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE edge_crdt.peer IS 'the other nodes this node streams changes from';
-- DSNs may hold passwords.
REVOKE ALL ON TABLE edge_crdt.peer FROM PUBLIC;
GRANT SELECT ON TABLE edge_crdt.peer TO edge_crdt_admin;

CREATE FUNCTION edge_crdt.add_peer(peer_name text, dsn text, copy_data bool DEFAULT true)
	RETURNS int4
	AS 'MODULE_PATHNAME', 'add_peer_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt.add_peer(text, text, bool) IS
	'stream changes from another node (after copying its replicated tables when copy_data): creates our slot on it and starts a worker';
CREATE FUNCTION edge_crdt.remove_peer(peer_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'remove_peer_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt.remove_peer(text) IS
	'stop streaming from a peer and drop our slot on it and our origin for it';
CREATE FUNCTION edge_crdt.pause_peer(peer_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'pause_peer_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt.pause_peer(text) IS
	'stop applying a peer''s changes until resume_peer (they queue up on the peer)';
CREATE FUNCTION edge_crdt.resume_peer(peer_name text) RETURNS void
	AS 'MODULE_PATHNAME', 'resume_peer_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt.resume_peer(text) IS 'resume a paused peer';

/*
 * Conflicts the apply resolved, when edge_crdt.log_conflicts is on.
 * Versions are "hlc@node".
 */
CREATE TABLE edge_crdt.conflicts (
	id			bigserial PRIMARY KEY,
	logged_at	timestamptz NOT NULL DEFAULT now(),
	peer_name	text NOT NULL,
	relid		oid NOT NULL,
	key			text NOT NULL,
	column_name	text,
	kind		text NOT NULL CHECK (kind IN ('local_won', 'crdt_merged', 'incarnation_lost', 'delete_lost')),
	local_version	text,
	remote_version	text,
	local_cl	int8 NOT NULL,
	remote_cl	int8 NOT NULL
);
COMMENT ON TABLE edge_crdt.conflicts IS
	'conflicts resolved by the apply (edge_crdt.log_conflicts): local_won, crdt_merged, incarnation_lost, delete_lost';
REVOKE ALL ON TABLE edge_crdt.conflicts FROM PUBLIC;
GRANT SELECT, DELETE ON TABLE edge_crdt.conflicts TO edge_crdt_admin;

CREATE FUNCTION edge_crdt.set_local_dsn(dsn text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE edge_crdt.node SET local_dsn = dsn;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'this database is not an edge_crdt node yet'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Call edge_crdt.create_node(''<node name>'') first.';
	END IF;
END;
$$;
COMMENT ON FUNCTION edge_crdt.set_local_dsn(text) IS
	'record how other nodes reach this node (used by join)';

CREATE FUNCTION edge_crdt.join(peer_dsn text, local_dsn text DEFAULT NULL) RETURNS int4
	AS 'MODULE_PATHNAME', 'join_sql' LANGUAGE C CALLED ON NULL INPUT VOLATILE;
COMMENT ON FUNCTION edge_crdt.join(text, text) IS
	'join the mesh the node at peer_dsn belongs to: peer with every member and have each peer with us; returns the number of members joined';

CREATE FUNCTION edge_crdt.peer_status(
	OUT node_id int4, OUT state text, OUT pid int4,
	OUT last_error text, OUT last_error_time timestamptz,
	OUT received_lsn pg_lsn, OUT applied_lsn pg_lsn, OUT peer_wal_end pg_lsn,
	OUT last_commit_time timestamptz, OUT last_apply_time timestamptz,
	OUT changes_applied int8, OUT conflicts int8)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'peer_status_sql' LANGUAGE C STRICT VOLATILE;

/*
 * WAL this node keeps for each peer: the slot the peer streams from is
 * ours, named after the peer's node id.  A peer that is down must not fill
 * the disk, so the view says when retention is unbounded or about to cost
 * the peer its slot, and when it already has.
 */
CREATE VIEW edge_crdt.wal_retention AS
	SELECT p.peer_name, p.node_id, r.wal_status,
		   pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.restart_lsn)::int8
			   AS retained_bytes,
		   r.safe_wal_size,
		   CASE
			   WHEN r.slot_name IS NULL THEN 'none'
			   WHEN r.wal_status = 'lost' THEN 'lost'
			   WHEN r.wal_status IN ('unreserved', 'extended')
					OR pg_catalog.current_setting('max_slot_wal_keep_size') = '-1'
					THEN 'warning'
			   ELSE 'ok'
		   END AS state,
		   CASE
			   WHEN r.slot_name IS NULL THEN
				   'the peer has no slot here: it does not stream from this node'
			   WHEN r.wal_status = 'lost' THEN
				   'slot invalidated: the peer must call edge_crdt.resync_peer() for this node'
			   WHEN r.wal_status = 'unreserved' THEN
				   'the slot will be invalidated at the next checkpoint unless the peer catches up'
			   WHEN r.wal_status = 'extended' THEN
				   'the slot keeps more WAL than max_wal_size'
			   WHEN pg_catalog.current_setting('max_slot_wal_keep_size') = '-1' THEN
				   'max_slot_wal_keep_size is -1: a peer that stays down keeps WAL without limit'
		   END AS warning
	FROM edge_crdt.peer p
	LEFT JOIN pg_catalog.pg_replication_slots r
		ON r.slot_name = 'edge_crdt_' || p.node_id;
COMMENT ON VIEW edge_crdt.wal_retention IS
	'WAL kept on this node for each peer (its slot here): bytes, state ok / warning / lost / none, and why';

CREATE VIEW edge_crdt.peers AS
	SELECT p.peer_name, p.node_id, p.region,
		   CASE WHEN NOT p.enabled THEN 'paused'
				ELSE coalesce(s.state, 'starting') END AS state,
		   s.pid, s.last_error, s.last_error_time,
		   s.received_lsn, s.applied_lsn,
		   pg_catalog.pg_wal_lsn_diff(s.peer_wal_end,
									  greatest(s.applied_lsn, s.received_lsn)) AS lag_bytes,
		   extract(epoch FROM s.last_apply_time - s.last_commit_time) AS lag_seconds,
		   s.last_commit_time, s.changes_applied, s.conflicts,
		   w.retained_bytes AS retained_wal_bytes, w.state AS wal_retention
	FROM edge_crdt.peer p
	LEFT JOIN edge_crdt.peer_status() s ON s.node_id = p.node_id
	LEFT JOIN edge_crdt.wal_retention w ON w.node_id = p.node_id;
COMMENT ON VIEW edge_crdt.peers IS
	'each peer: state, last error, positions, lag (bytes and seconds of the last applied transaction), counts, and the WAL kept here for it';

/*
 * True once every peer has confirmed (durably applied) everything this node
 * had written when the call started: our slot for each peer is the one the
 * peer streams from, named after the peer's node id.
 */
CREATE FUNCTION edge_crdt.wait_for_sync(timeout interval DEFAULT '1 min')
RETURNS bool
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	target		pg_lsn := pg_current_wal_insert_lsn();
	deadline	timestamptz := clock_timestamp() + timeout;
BEGIN
	LOOP
		IF NOT EXISTS (
			SELECT 1 FROM edge_crdt.peer p
			LEFT JOIN pg_replication_slots s ON s.slot_name = 'edge_crdt_' || p.node_id
			WHERE s.confirmed_flush_lsn IS NULL OR s.confirmed_flush_lsn < target) THEN
			RETURN true;
		END IF;
		IF clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
END;
$$;
COMMENT ON FUNCTION edge_crdt.wait_for_sync(interval) IS
	'wait until every peer has applied everything this node committed before the call';

/*
 * Remote transactions that could not be applied (a constraint the merge
 * cannot satisfy, a missing table or column...).  The peer worker records
 * the whole transaction here and moves on, so one bad change never wedges
 * replication; a DBA fixes the cause and retries, or discards.
 */
CREATE TABLE edge_crdt.apply_errors (
	id			bigserial PRIMARY KEY,
	peer_name	text NOT NULL,
	origin_node	int4 NOT NULL,
	commit_lsn	pg_lsn NOT NULL,
	commit_time	timestamptz NOT NULL,
	failed_at	timestamptz NOT NULL DEFAULT now(),
	sqlstate	text NOT NULL,
	error		text NOT NULL,
	detail		text,
	retries		int4 NOT NULL DEFAULT 0,
	messages	bytea[] NOT NULL
);
COMMENT ON TABLE edge_crdt.apply_errors IS
	'remote transactions that failed to apply, with their full content (messages in the wire format)';
REVOKE ALL ON TABLE edge_crdt.apply_errors FROM PUBLIC;
GRANT SELECT, DELETE ON TABLE edge_crdt.apply_errors TO edge_crdt_admin;

-- Re-apply a quarantined transaction, all or nothing.  True when it applied.
CREATE FUNCTION edge_crdt.retry_apply_error(id bigint) RETURNS bool
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	e			edge_crdt.apply_errors;
	m			bytea;
	state		text;
	msg			text;
BEGIN
	SELECT * INTO e FROM edge_crdt.apply_errors a WHERE a.id = retry_apply_error.id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'apply error % does not exist', id
			USING ERRCODE = 'undefined_object';
	END IF;
	BEGIN
		FOREACH m IN ARRAY e.messages LOOP
			-- rows, deletes and messages; BEGIN and COMMIT carry nothing to apply
			IF get_byte(m, 1) IN (82, 68, 77) THEN
				PERFORM edge_crdt.apply_change(m);
			END IF;
		END LOOP;
	EXCEPTION WHEN OTHERS THEN
		GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
		UPDATE edge_crdt.apply_errors a
		SET retries = a.retries + 1, sqlstate = state, error = msg, failed_at = now()
		WHERE a.id = e.id;
		RETURN false;
	END;
	DELETE FROM edge_crdt.apply_errors a WHERE a.id = e.id;
	RETURN true;
END;
$$;
COMMENT ON FUNCTION edge_crdt.retry_apply_error(bigint) IS
	're-apply a quarantined remote transaction; true if it applied (and is removed), false with the new error recorded';

CREATE FUNCTION edge_crdt.discard_apply_error(id bigint) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM edge_crdt.apply_errors a WHERE a.id = discard_apply_error.id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'apply error % does not exist', id
			USING ERRCODE = 'undefined_object';
	END IF;
END;
$$;
COMMENT ON FUNCTION edge_crdt.discard_apply_error(bigint) IS
	'drop a quarantined remote transaction for good';

REVOKE ALL ON FUNCTION edge_crdt.retry_apply_error(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.discard_apply_error(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edge_crdt.retry_apply_error(bigint),
	edge_crdt.discard_apply_error(bigint), edge_crdt.apply_change(bytea) TO edge_crdt_admin;

REVOKE ALL ON FUNCTION edge_crdt.add_peer(text, text, bool) FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.set_local_dsn(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.join(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edge_crdt.set_local_dsn(text), edge_crdt.join(text, text) TO edge_crdt_admin;
REVOKE ALL ON FUNCTION edge_crdt.remove_peer(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.pause_peer(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.resume_peer(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.peer_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION edge_crdt.wait_for_sync(interval) FROM PUBLIC;
REVOKE ALL ON edge_crdt.peers FROM PUBLIC;
REVOKE ALL ON edge_crdt.wal_retention FROM PUBLIC;
GRANT SELECT ON edge_crdt.wal_retention TO edge_crdt_admin;
GRANT EXECUTE ON FUNCTION edge_crdt.add_peer(text, text, bool), edge_crdt.remove_peer(text),
	edge_crdt.pause_peer(text), edge_crdt.resume_peer(text), edge_crdt.peer_status(),
	edge_crdt.wait_for_sync(interval) TO edge_crdt_admin;
GRANT SELECT ON edge_crdt.peers TO edge_crdt_admin;
GRANT USAGE ON SCHEMA edge_crdt TO edge_crdt_admin;

