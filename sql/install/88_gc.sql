/*
 * Tombstone collection by causal stability.  The per-database manager
 * (replicator/gc.c) calls collect_tombstones() and emit_frontier() every
 * edge_crdt.tombstone_gc_interval.
 *
 * A tombstone t = (key k, causal length c) is needed while a change that
 * carries k below c can still reach this node: such a change belongs to the
 * incarnation t killed, and without t it would bring that row back.
 * Notation: O is the node that deleted (t.node); T is where the deleting
 * transaction committed in O's WAL (t.lsn, or an upper bound of it: the
 * stream brings the exact position, O stamps its own deletions with its
 * insert position once they are committed); applied(Q, O) is how far node Q
 * has applied O's stream -- the end of the last transaction of O it applied
 * (its replication origin for O), but never beyond a transaction of O that
 * Q quarantined and has not resolved (applied_through below).
 *
 * Frontiers.  Every node Q regularly writes a frontier message ('F') into
 * its own change stream: applied(Q, O) for each of its peers O, read in the
 * transaction that writes it.  A node X that applies Q's frontier has
 * applied everything Q committed before it (a stream is in commit order)
 * and keeps the latest one in edge_crdt.frontier.  A node with an initial
 * copy pending writes none: its replication origins then say nothing about
 * what the copy has yet to bring.
 *
 * Condition.  X drops t when
 *   (1) O = X, or O is not a peer of X, or applied(X, O) > T;
 *   (2) for every peer Q of X other than O, Q's latest frontier at X says
 *       applied(Q, O) > T;
 *   (3) no initial copy is pending on X;
 *   (4) t is older than edge_crdt.tombstone_retention.
 *
 * Why no change below c can arrive afterwards.  Such a change is written by
 * a node whose state for k was below c, that is a node that had not yet
 * applied t (once it has, it holds k at c or above and every local write
 * starts from there).  Streams carry only their origin's own changes.  So
 * the writer is
 *  - O before T: X has applied O's stream beyond T (1), so those changes
 *    arrived before t or with it and lost; if O is no longer a peer, none
 *    of O's changes reach X at all;
 *  - a peer Q of X before it applied t: a frontier of Q with applied(Q, O)
 *    > T was written after Q applied t, and X has applied Q's stream up to
 *    that frontier (2), so Q's stale changes are behind X already;
 *  - any other node: its changes reach X only as part of a peer's state in
 *    an initial copy, and every peer holds k at c or above (2).
 * Changes that arrived earlier merged against t and lost; what X keeps is
 * at c or above.  So t has no work left on X.
 *
 * Re-inserting k once t is gone.  A local insert of an absent key starts at
 * the smallest odd causal length above its tombstone's; with t gone it
 * would start at 1 and lose to t on a node that still keeps it.  So the
 * transaction that deletes tombstones raises the table's floor (the row of
 * edge_crdt.tombstone with the empty key) to the greatest collected c, and
 * a local insert starts above max(tombstone, floor), read under one
 * snapshot (TombstoneLookupWithFloor): every insert of k after t's
 * collection starts above c and beats t wherever t is still kept.  A floor
 * is a summary of collected tombstones, not a tombstone: remote rows are
 * never compared with it, so the merge lattice is unchanged.  What floors
 * change: two nodes that insert the same new key concurrently pick the same
 * causal length, and merge, only if they agree on its tombstone and the
 * table's floor -- as two nodes that disagree on a deletion already do
 * without collection; otherwise the greater causal length wins the row.
 *
 * New members.  A node must know the floors before it writes: an initial
 * copy takes the peer's floor first (replicator/sync.c); join() takes every
 * member's floor once that member has added the joiner as a peer (from
 * then on the member collects nothing until the joiner's first frontier,
 * by (2)), and refuses to join with rows in a table the mesh has collected
 * tombstones of: those rows were written without knowing the deletions.
 * Adding a peer by hand to a node that already has rows is outside this
 * argument (README, "Tombstone collection").
 */

CREATE TABLE edge_crdt.frontier (
	reporter	int4 NOT NULL,		-- the peer that wrote the frontier
	origin		int4 NOT NULL,		-- a node whose stream the reporter applies
	applied_lsn	pg_lsn NOT NULL,	-- applied(reporter, origin)
	received_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (reporter, origin)
);
COMMENT ON TABLE edge_crdt.frontier IS
	'the latest frontier of each peer: how far it has applied each node''s changes (tombstone collection)';
REVOKE ALL ON TABLE edge_crdt.frontier FROM PUBLIC;
GRANT SELECT ON TABLE edge_crdt.frontier TO edge_crdt_admin;

/*
 * How far this node has applied a peer's stream: its origin's position, but
 * not past a quarantined transaction of that peer (edge_crdt.apply_errors;
 * rows quarantined by an initial copy record 0/0 and hold everything back).
 * NULL when nothing has been applied yet (or the origin is not there yet).
 */
CREATE FUNCTION edge_crdt.applied_through(origin_node int4) RETURNS pg_lsn
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT least(pg_replication_origin_progress(o.roname, false),
				 (SELECT min(e.commit_lsn) FROM edge_crdt.apply_errors e
				  WHERE e.origin_node = applied_through.origin_node))
	FROM pg_replication_origin o
	WHERE o.roname = 'edge_crdt_' || origin_node
	  AND pg_replication_origin_progress(o.roname, false) IS NOT NULL
$$;
REVOKE ALL ON FUNCTION edge_crdt.applied_through(int4) FROM PUBLIC;

CREATE FUNCTION edge_crdt.emit_frontier() RETURNS bool
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	applied		jsonb;
BEGIN
	IF EXISTS (SELECT 1 FROM edge_crdt.sync_table WHERE state <> 'done') THEN
		RETURN false;
	END IF;
	SELECT jsonb_object_agg(p.node_id::text, a.lsn::text) INTO applied
	FROM edge_crdt.peer p, LATERAL (SELECT edge_crdt.applied_through(p.node_id) AS lsn) a
	WHERE a.lsn IS NOT NULL;
	IF applied IS NULL THEN
		RETURN false;
	END IF;
	PERFORM edge_crdt.emit_message('F', jsonb_build_object('v', 1, 'applied', applied)::text);
	RETURN true;
END;
$$;
COMMENT ON FUNCTION edge_crdt.emit_frontier() IS
	'write this node''s frontier (how far it has applied each peer) into its change stream; false while an initial copy is pending';
REVOKE ALL ON FUNCTION edge_crdt.emit_frontier() FROM PUBLIC;

-- Called by the apply for an 'F' message, in the transaction that applies it.
CREATE FUNCTION edge_crdt.apply_frontier_message(msg jsonb, origin_node int4) RETURNS bool
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF jsonb_typeof(msg) IS DISTINCT FROM 'object' OR msg->>'v' IS DISTINCT FROM '1'
	   OR jsonb_typeof(msg->'applied') IS DISTINCT FROM 'object' THEN
		RAISE EXCEPTION 'malformed frontier message from node %', origin_node
			USING ERRCODE = 'data_corrupted',
				  DETAIL = 'Expected {"v": 1, "applied": {"<node id>": "<lsn>", ...}}.';
	END IF;
	-- The latest report replaces the previous one, even a lower one.
	INSERT INTO edge_crdt.frontier AS f (reporter, origin, applied_lsn)
	SELECT origin_node, e.key::int4, e.value::pg_lsn
	FROM jsonb_each_text(msg->'applied') e
	ON CONFLICT (reporter, origin) DO UPDATE
		SET applied_lsn = excluded.applied_lsn, received_at = excluded.received_at;
	DELETE FROM edge_crdt.frontier f
	WHERE f.reporter = origin_node AND NOT (msg->'applied') ? f.origin::text;
	RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt.apply_frontier_message(jsonb, int4) FROM PUBLIC;

-- A table's floor: the greatest causal length among its collected tombstones.
CREATE FUNCTION edge_crdt.table_floor(rel regclass) RETURNS int8
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT t.cl FROM edge_crdt.tombstone t
					 WHERE t.relid = rel AND t.pk = ''::bytea), 0)
$$;
COMMENT ON FUNCTION edge_crdt.table_floor(regclass) IS
	'the greatest causal length among the collected tombstones of a replicated table (0: none collected)';

CREATE FUNCTION edge_crdt.raise_floor(rel regclass, floor int8) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF floor < 0 OR floor % 2 <> 0 THEN
		RAISE EXCEPTION 'invalid floor % for table %', floor, rel
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A floor is the causal length of a deletion: even, and not negative.';
	END IF;
	IF floor > 0 THEN
		INSERT INTO edge_crdt.tombstone AS t (relid, pk, cl, hlc, node)
		VALUES (rel, ''::bytea, floor, 0, 0)
		ON CONFLICT (relid, pk) DO UPDATE SET cl = greatest(t.cl, excluded.cl);
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt.raise_floor(regclass, int8) FROM PUBLIC;

/*
 * join() calls this for every table a member has a floor for: first to
 * refuse a table with rows here (check_only), then to take the floor over.
 * A table that is not replicated here is none of join's business.
 */
CREATE FUNCTION edge_crdt.take_floor(rel text, floor int8, check_only bool) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	r			regclass := to_regclass(rel);
	has_rows	bool;
BEGIN
	IF r IS NULL OR floor = 0
	   OR NOT EXISTS (SELECT 1 FROM edge_crdt.replicated_table t WHERE t.relid = r) THEN
		RETURN;
	END IF;
	IF NOT check_only THEN
		PERFORM edge_crdt.raise_floor(r, floor);
		RETURN;
	END IF;
	EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', r) INTO has_rows;
	IF has_rows THEN
		RAISE EXCEPTION 'cannot join: table % has rows here, and the mesh has already collected tombstones of it', r
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'These rows were written without knowing deletions that some members no longer remember; they would survive on those members and not on the others.',
				  HINT = 'Join with the table empty (its rows are copied from the mesh) and insert local rows afterwards.';
	END IF;
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt.take_floor(text, int8, bool) FROM PUBLIC;

CREATE FUNCTION edge_crdt.collect_tombstones() RETURNS int8
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	me			int4 := (SELECT node_id FROM edge_crdt.node);
	keep		interval := current_setting('edge_crdt.tombstone_retention')::interval;
	horizon		int8;
	collected	int8;
BEGIN
	IF me IS NULL OR keep < '0' OR NOT EXISTS (SELECT 1 FROM edge_crdt.peer) THEN
		RETURN 0;
	END IF;
	-- (3)
	IF EXISTS (SELECT 1 FROM edge_crdt.sync_table WHERE state <> 'done') THEN
		RETURN 0;
	END IF;

	/*
	 * Our own deletions that this snapshot sees have committed below the
	 * current insert position.  The output plugin does not send this update.
	 */
	UPDATE edge_crdt.tombstone SET lsn = pg_current_wal_insert_lsn()
	WHERE node = me AND lsn IS NULL AND pk <> ''::bytea;

	-- (4): an hlc is (unix milliseconds << 16) | logical
	horizon := (extract(epoch FROM now() - keep) * 1000)::int8 << 16;

	WITH progress AS (
		SELECT p.node_id, edge_crdt.applied_through(p.node_id) AS lsn
		FROM edge_crdt.peer p
	), victim AS (
		SELECT t.relid, t.pk, t.cl
		FROM edge_crdt.tombstone t
		WHERE t.pk <> ''::bytea AND t.lsn IS NOT NULL AND t.hlc < horizon
		  -- (1)
		  AND (t.node = me
			   OR NOT EXISTS (SELECT 1 FROM progress o WHERE o.node_id = t.node)
			   OR EXISTS (SELECT 1 FROM progress o WHERE o.node_id = t.node AND o.lsn > t.lsn))
		  -- (2)
		  AND NOT EXISTS (
			  SELECT 1 FROM progress q
			  WHERE q.node_id <> t.node
				AND NOT EXISTS (SELECT 1 FROM edge_crdt.frontier f
								WHERE f.reporter = q.node_id AND f.origin = t.node
								  AND f.applied_lsn > t.lsn))
		LIMIT 100000
	), gone AS (
		DELETE FROM edge_crdt.tombstone t
		USING victim v
		WHERE t.relid = v.relid AND t.pk = v.pk AND t.cl = v.cl
		RETURNING t.relid, t.cl
	), floor AS (
		INSERT INTO edge_crdt.tombstone AS t (relid, pk, cl, hlc, node)
		SELECT g.relid, ''::bytea, max(g.cl), 0, 0 FROM gone g GROUP BY g.relid
		ON CONFLICT (relid, pk) DO UPDATE SET cl = greatest(t.cl, excluded.cl)
	)
	SELECT count(*) INTO collected FROM gone;
	RETURN collected;
END;
$$;
COMMENT ON FUNCTION edge_crdt.collect_tombstones() IS
	'drop the tombstones no change can need any more (causal stability, see edge_crdt.frontier); returns how many';
REVOKE ALL ON FUNCTION edge_crdt.collect_tombstones() FROM PUBLIC;

/*
 * Per replicated table: tombstones kept, the floor, and the oldest deletion
 * still kept (edge_crdt.frontier shows which peer reports how far).
 */
CREATE VIEW edge_crdt.tombstone_status AS
	SELECT r.relid AS table_name,
		   (SELECT count(*) FROM edge_crdt.tombstone t
			WHERE t.relid = r.relid AND t.pk <> ''::bytea) AS tombstones,
		   edge_crdt.table_floor(r.relid) AS floor,
		   (SELECT to_timestamp((min(t.hlc) >> 16) / 1000.0) FROM edge_crdt.tombstone t
			WHERE t.relid = r.relid AND t.pk <> ''::bytea) AS oldest_deletion
	FROM edge_crdt.replicated_table r;
COMMENT ON VIEW edge_crdt.tombstone_status IS
	'per replicated table: tombstones kept, the floor of the collected ones, when the oldest kept deletion happened';
GRANT SELECT ON edge_crdt.tombstone_status TO edge_crdt_admin;
