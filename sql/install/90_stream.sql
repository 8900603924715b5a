/*
 * Streams (src/stream): append-only logs with consumer groups.
 *
 * Storage is local to each region.  A global stream's messages travel as
 * transactional logical messages (message.h, kind 'S') at the position of
 * the publishing transaction; the receiving node stores them inside the
 * apply transaction (StreamApplyRemote -> _stream_store_remote).  Nothing
 * here is a replicated table: trimming is local and never travels.
 *
 * Layout:
 *	stream			one row per stream (local id, scope, retention, ring position)
 *	stream_message	LIST-partitioned by stream, each stream LIST-partitioned
 *					into a ring of 4 segments; trimming TRUNCATEs the oldest
 *					segment and rotates (no row DELETE, no bloat)
 *	stream_group	consumer groups (state local to the region); a shared
 *					group's floor: every message at or below it is acknowledged
 *	stream_lease	shared groups: one row per batch handed to a consumer, with
 *					the positions it covers and those not acknowledged yet
 *	stream_delivery	exclusive and key_shared groups: one row per message not
 *					yet acknowledged, created in the transaction that stores
 *					the message (their per-origin / per-key FIFO needs the
 *					line of every message, delivered or not)
 *
 * pos is the local arrival position (stream_pos_seq): per-origin FIFO order
 * for consumers, and the order of read().  Message ids are
 * "<hlc>-<origin node>-<seq>", unique across regions.
 *
 * Shared groups keep no state per message until it is handed out: a
 * consumer takes the messages above the floor that no lease covers, in one
 * lease row; ack removes positions from the lease's pending list; the floor
 * moves up over fully acknowledged leases, which are then deleted.  Leases
 * are chosen under a short per-group lock, seeing the other consumers'
 * uncommitted leases (a dirty snapshot), so consumers never wait for each
 * other's transactions; a message whose transaction is still open is
 * skipped, not passed: coverage is by explicit position, never by range.
 * The proof is at StreamTakeFresh (src/stream/stream_lease.c).
 *
 * publish, publish_batch, read_group and ack are C (src/stream/stream_fast.c,
 * stream_lease.c) writing and reading the same rows as the PL/pgSQL below
 * (_stream_store, _stream_take, _stream_lease_redeliver), with stream and
 * group rows cached per backend: whatever changes them calls
 * _stream_invalidate().  The rare paths (errors, exclusive / key_shared
 * groups, redeliveries, dead letters, dedup_id) call the PL/pgSQL helpers,
 * which stay the one definition of that logic.
 */

-- CACHE 1 (the default) matters: read() reads last_value as its horizon.
CREATE SEQUENCE edge_crdt.stream_pos_seq;

CREATE TABLE edge_crdt.stream (
	stream_id	int4 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	scope		text NOT NULL CHECK (scope IN ('global', 'local')),
	retention	interval NOT NULL CHECK (retention > interval '0'),
	max_len		int8 CHECK (max_len > 0),
	cur_seg		int4 NOT NULL DEFAULT 0 CHECK (cur_seg BETWEEN 0 AND 3),
	seg_started	timestamptz NOT NULL DEFAULT now(),
	dead_letter_of int4,		-- the group whose dead letters this stream holds
	created_at	timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE edge_crdt.stream IS 'streams of this node (edge_crdt.stream_create)';

CREATE TABLE edge_crdt.stream_message (
	stream_id	int4 NOT NULL,
	seg			int4 NOT NULL,
	pos			int8 NOT NULL,
	origin		int4 NOT NULL,
	hlc			int8 NOT NULL,
	seq			int4 NOT NULL,
	key			text,
	headers		jsonb,
	payload		jsonb NOT NULL,
	dedup_id	text,
	published_at timestamptz NOT NULL,
	stored_at	timestamptz NOT NULL DEFAULT now()
) PARTITION BY LIST (stream_id);
CREATE INDEX stream_message_pos ON edge_crdt.stream_message (pos);
CREATE INDEX stream_message_id ON edge_crdt.stream_message (hlc, origin, seq);
CREATE INDEX stream_message_dedup ON edge_crdt.stream_message (origin, dedup_id)
	WHERE dedup_id IS NOT NULL;
COMMENT ON TABLE edge_crdt.stream_message IS
	'messages of every stream (one partition per stream, a ring of 4 segments inside)';

CREATE TABLE edge_crdt.stream_group (
	group_id	int4 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	stream_id	int4 NOT NULL REFERENCES edge_crdt.stream,
	grp			text NOT NULL,
	mode		text NOT NULL CHECK (mode IN ('shared', 'exclusive', 'key_shared')),
	max_deliveries int4 NOT NULL DEFAULT 10 CHECK (max_deliveries > 0),
	owner		text,			-- exclusive mode: the consumer holding the lease
	owner_until	timestamptz,
	floor		int8 NOT NULL DEFAULT 0,	-- shared mode: acknowledged up to here
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (stream_id, grp)
);
COMMENT ON TABLE edge_crdt.stream_group IS 'consumer groups (local to this region)';

-- visible_at and deliveries are not indexed so that deliveries are HOT updates.
CREATE TABLE edge_crdt.stream_delivery (
	group_id	int4 NOT NULL,
	pos			int8 NOT NULL,
	seg			int4 NOT NULL,
	origin		int4 NOT NULL,
	key			text,
	visible_at	timestamptz NOT NULL DEFAULT '-infinity',
	deliveries	int4 NOT NULL DEFAULT 0,
	consumer	text,
	delivered_at timestamptz,
	PRIMARY KEY (group_id, pos)
) WITH (fillfactor = 80);
COMMENT ON TABLE edge_crdt.stream_delivery IS
	'exclusive and key_shared groups: every message not acknowledged yet and its delivery state';

/*
 * Shared groups: what was handed out.  pos (sorted) never changes: it is
 * what the lease covers, so that no other consumer takes those messages
 * again; pending (sorted) is what is not acknowledged yet.  A redelivery of
 * part of a lease (read_group with a smaller count, claim, nack) moves that
 * part into a new lease: a position may be covered twice, pending in one.
 */
CREATE SEQUENCE edge_crdt.stream_lease_seq;
CREATE TABLE edge_crdt.stream_lease (
	group_id	int4 NOT NULL,
	lease_id	int8 NOT NULL,
	pos			int8[] NOT NULL,
	pending		int8[] NOT NULL,
	consumer	text,
	visible_at	timestamptz NOT NULL,
	deliveries	int4 NOT NULL,
	delivered_at timestamptz,
	PRIMARY KEY (group_id, lease_id)
) WITH (fillfactor = 80);
COMMENT ON TABLE edge_crdt.stream_lease IS
	'shared groups: messages handed to consumers, in batches, and those of them not acknowledged yet';

REVOKE ALL ON edge_crdt.stream, edge_crdt.stream_message, edge_crdt.stream_group,
	edge_crdt.stream_delivery, edge_crdt.stream_pos_seq, edge_crdt.stream_lease,
	edge_crdt.stream_lease_seq FROM PUBLIC;

/*
 * C helpers (src/stream/stream.c, stream_apply.c).  Internal: only the
 * SECURITY DEFINER functions below call them.
 */
CREATE FUNCTION edge_crdt._stream_local_node() RETURNS int4
	AS 'MODULE_PATHNAME', 'stream_local_node_sql' LANGUAGE C STRICT STABLE;
CREATE FUNCTION edge_crdt._stream_lock(stream_id int4, kind int4, sub int4, exclusive bool)
	RETURNS void
	AS 'MODULE_PATHNAME', 'stream_lock_sql' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION edge_crdt._stream_barrier(stream_id int4) RETURNS int8
	AS 'MODULE_PATHNAME', 'stream_barrier_sql' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION edge_crdt._stream_wake(stream_id int4, group_id int4, shared bool) RETURNS void
	AS 'MODULE_PATHNAME', 'stream_wake_sql' LANGUAGE C STRICT VOLATILE;
CREATE FUNCTION edge_crdt._stream_emit(stream text, origin int4, hlc int8, seq int4,
									   key text, headers jsonb, payload jsonb,
									   dedup_id text, published_at timestamptz)
	RETURNS void
	AS 'MODULE_PATHNAME', 'stream_emit_sql' LANGUAGE C CALLED ON NULL INPUT VOLATILE;
CREATE FUNCTION edge_crdt._stream_encode(stream text, origin int4, hlc int8, seq int4,
										 key text, headers jsonb, payload jsonb,
										 dedup_id text, published_at timestamptz)
	RETURNS bytea
	AS 'MODULE_PATHNAME', 'stream_encode_sql' LANGUAGE C CALLED ON NULL INPUT IMMUTABLE;
COMMENT ON FUNCTION edge_crdt._stream_encode(text, int4, int8, int4, text, jsonb, jsonb, text, timestamptz) IS
	'the body of a stream message on the wire (for tests)';
CREATE FUNCTION edge_crdt._stream_invalidate() RETURNS void
	AS 'MODULE_PATHNAME', 'stream_invalidate_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt._stream_invalidate() IS
	'at commit, make every backend forget the stream and group rows it cached (call after changing them)';
CREATE FUNCTION edge_crdt._stream_forget(stream_id int4) RETURNS void
	AS 'MODULE_PATHNAME', 'stream_forget_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt._stream_forget(int4) IS
	'free this backend''s prepared statements of a dropped stream';
CREATE FUNCTION edge_crdt._stream_apply_remote(body bytea, origin_node int4) RETURNS void
	AS 'MODULE_PATHNAME', 'stream_apply_remote_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt._stream_apply_remote(bytea, int4) IS
	'store a stream message body as if node origin_node had sent it (what the replicator calls; for tests)';
REVOKE ALL ON FUNCTION edge_crdt._stream_local_node(), edge_crdt._stream_lock(int4, int4, int4, bool),
	edge_crdt._stream_barrier(int4), edge_crdt._stream_forget(int4),
	edge_crdt._stream_wake(int4, int4, bool),
	edge_crdt._stream_invalidate(),
	edge_crdt._stream_emit(text, int4, int8, int4, text, jsonb, jsonb, text, timestamptz),
	edge_crdt._stream_encode(text, int4, int8, int4, text, jsonb, jsonb, text, timestamptz),
	edge_crdt._stream_apply_remote(bytea, int4) FROM PUBLIC;

CREATE FUNCTION edge_crdt._stream_id(hlc int8, origin int4, seq int4) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN hlc::text || '-' || origin::text || '-' || seq::text;

-- Parse message ids ("<hlc>-<origin>-<seq>"); anything else is an error.
CREATE FUNCTION edge_crdt._stream_parse_ids(ids text[])
	RETURNS TABLE (id text, hlc int8, origin int4, seq int4)
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	bad			text;
BEGIN
	IF ids IS NULL THEN
		RAISE EXCEPTION 'message ids must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	SELECT i INTO bad FROM unnest(ids) i
	WHERE i IS NULL
	   OR i !~ '^[0-9]{1,19}-[0-9]{1,10}-[0-9]{1,10}$'
	   OR split_part(i, '-', 1)::numeric > 9223372036854775807
	   OR split_part(i, '-', 2)::numeric NOT BETWEEN 1 AND 2147483647
	   OR split_part(i, '-', 3)::numeric > 2147483647
	LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'invalid stream message id "%"', coalesce(bad, 'NULL')
			USING ERRCODE = 'invalid_text_representation',
				  DETAIL = 'A message id is "<hlc>-<origin node>-<sequence>" as publish() returns it, e.g. "7348231002112573440-1000-0".';
	END IF;
	RETURN QUERY SELECT DISTINCT i, split_part(i, '-', 1)::int8, split_part(i, '-', 2)::int4,
		split_part(i, '-', 3)::int4 FROM unnest(ids) i;
END;
$$;

CREATE FUNCTION edge_crdt._stream_check_name(what text, value text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
	IF value IS NULL OR value !~ '^[A-Za-z][A-Za-z0-9_.:-]{0,199}$' THEN
		RAISE EXCEPTION 'invalid % name "%"', what, coalesce(value, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = format('A %s name is 1 to 200 ASCII letters, digits, "_", ".", ":" or "-", starting with a letter.', what);
	END IF;
END;
$$;

-- Size bounds (also in stream.h): payload 1 MB, key 1 kB, headers 64 kB,
-- dedup_id 256 bytes, as text.
CREATE FUNCTION edge_crdt._stream_check_message(payload jsonb, key text, headers jsonb, dedup_id text)
	RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
	n			int;
BEGIN
	IF payload IS NULL THEN
		RAISE EXCEPTION 'stream message payload must not be null'
			USING ERRCODE = 'null_value_not_allowed',
				  HINT = 'Publish ''null''::jsonb for a JSON null.';
	END IF;
	n := octet_length(payload::text);
	IF n > 1048576 THEN
		RAISE EXCEPTION 'stream message payload is too large'
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = format('The payload is %s bytes as text; the limit is 1048576 bytes (1 MB).', n),
				  HINT = 'Store large objects in a table and publish their key.';
	END IF;
	IF octet_length(key) > 1024 THEN
		RAISE EXCEPTION 'stream message key is too large'
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = format('The key is %s bytes; the limit is 1024 bytes.', octet_length(key));
	END IF;
	IF headers IS NOT NULL AND jsonb_typeof(headers) <> 'object' THEN
		RAISE EXCEPTION 'stream message headers must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF octet_length(headers::text) > 65536 THEN
		RAISE EXCEPTION 'stream message headers are too large'
			USING ERRCODE = 'program_limit_exceeded',
				  DETAIL = format('The headers are %s bytes as text; the limit is 65536 bytes.', octet_length(headers::text));
	END IF;
	IF octet_length(dedup_id) > 256 OR dedup_id = '' THEN
		RAISE EXCEPTION 'invalid dedup_id'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A dedup_id is 1 to 256 bytes.';
	END IF;
END;
$$;

CREATE FUNCTION edge_crdt._stream_get(name text) RETURNS edge_crdt.stream
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	s			edge_crdt.stream;
BEGIN
	SELECT * INTO s FROM edge_crdt.stream t WHERE t.name = _stream_get.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'stream "%" does not exist', name
			USING ERRCODE = 'undefined_object',
				  HINT = 'Create it with edge_crdt.stream_create(); the streams view lists the existing ones.';
	END IF;
	RETURN s;
END;
$$;

CREATE FUNCTION edge_crdt._stream_group_get(s edge_crdt.stream, grp text) RETURNS edge_crdt.stream_group
LANGUAGE plpgsql STABLE
AS $$
DECLARE
	g			edge_crdt.stream_group;
BEGIN
	SELECT * INTO g FROM edge_crdt.stream_group t
	WHERE t.stream_id = s.stream_id AND t.grp = _stream_group_get.grp;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'consumer group "%" does not exist on stream "%"', grp, s.name
			USING ERRCODE = 'undefined_object',
				  HINT = 'Create it with edge_crdt.group_create().';
	END IF;
	RETURN g;
END;
$$;

/*
 * A stream and its ring of segment partitions.  The partitions are made
 * members of the extension, like their parent: pg_dump leaves streams out
 * whole (definitions, groups and messages; see README), where non-member
 * partitions would be dumped without the stream rows that own them and
 * collide with the ones stream_create makes after a restore.
 */
CREATE FUNCTION edge_crdt._stream_create(name text, scope text, retention interval,
										 max_len bigint, dead_letter_of int4)
	RETURNS edge_crdt.stream
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream;
	i			int;
BEGIN
	PERFORM edge_crdt._stream_check_name('stream', name);
	IF scope IS NULL OR scope NOT IN ('global', 'local') THEN
		RAISE EXCEPTION 'invalid stream scope "%"', coalesce(scope, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''global'' (replicated to every region) or ''local''.';
	END IF;
	IF retention IS NULL OR retention <= interval '0' THEN
		RAISE EXCEPTION 'stream retention must be a positive interval'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF max_len <= 0 THEN
		RAISE EXCEPTION 'stream max_len must be positive or NULL'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	BEGIN
		INSERT INTO edge_crdt.stream (name, scope, retention, max_len, dead_letter_of)
		VALUES (name, scope, retention, max_len, dead_letter_of)
		RETURNING * INTO s;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'stream "%" already exists', name
			USING ERRCODE = 'duplicate_object';
	END;
	PERFORM edge_crdt._stream_invalidate();
	EXECUTE format('CREATE TABLE edge_crdt.%I PARTITION OF edge_crdt.stream_message '
				   'FOR VALUES IN (%s) PARTITION BY LIST (seg)',
				   'stream_msg_' || s.stream_id, s.stream_id);
	EXECUTE format('ALTER EXTENSION edge_crdt ADD TABLE edge_crdt.%I', 'stream_msg_' || s.stream_id);
	FOR i IN 0 .. 3 LOOP
		EXECUTE format('CREATE TABLE edge_crdt.%I PARTITION OF edge_crdt.%I FOR VALUES IN (%s)',
					   'stream_msg_' || s.stream_id || '_' || i, 'stream_msg_' || s.stream_id, i);
		EXECUTE format('ALTER EXTENSION edge_crdt ADD TABLE edge_crdt.%I',
					   'stream_msg_' || s.stream_id || '_' || i);
	END LOOP;
	RETURN s;
END;
$$;

CREATE FUNCTION edge_crdt._stream_drop(s edge_crdt.stream) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d			edge_crdt.stream;
	i			int;
BEGIN
	PERFORM edge_crdt._stream_lock(s.stream_id, 1, 0, true);
	FOR d IN SELECT t.* FROM edge_crdt.stream t JOIN edge_crdt.stream_group g
			 ON t.dead_letter_of = g.group_id WHERE g.stream_id = s.stream_id LOOP
		PERFORM edge_crdt._stream_drop(d);
	END LOOP;
	DELETE FROM edge_crdt.stream_delivery
	WHERE group_id IN (SELECT group_id FROM edge_crdt.stream_group WHERE stream_id = s.stream_id);
	DELETE FROM edge_crdt.stream_lease
	WHERE group_id IN (SELECT group_id FROM edge_crdt.stream_group WHERE stream_id = s.stream_id);
	DELETE FROM edge_crdt.stream_group WHERE stream_id = s.stream_id;
	-- members of the extension (see _stream_create) are dropped once released
	FOR i IN 0 .. 3 LOOP
		EXECUTE format('ALTER EXTENSION edge_crdt DROP TABLE edge_crdt.%I',
					   'stream_msg_' || s.stream_id || '_' || i);
	END LOOP;
	EXECUTE format('ALTER EXTENSION edge_crdt DROP TABLE edge_crdt.%I', 'stream_msg_' || s.stream_id);
	EXECUTE format('DROP TABLE edge_crdt.%I', 'stream_msg_' || s.stream_id);
	DELETE FROM edge_crdt.stream WHERE stream_id = s.stream_id;
	PERFORM edge_crdt._stream_invalidate();
	PERFORM edge_crdt._stream_forget(s.stream_id);
END;
$$;

/*
 * Store one message (stream_store_message in C, which publish uses too): the
 * row, and a pending delivery for every exclusive / key_shared group, in the
 * caller's transaction, under the stream's shared publish lock (so that
 * group_create and read() see a clean boundary).  Waiting readers are woken
 * when the transaction commits.
 */
CREATE FUNCTION edge_crdt._stream_store(stream_id int4, origin int4, hlc int8, seq int4,
										key text, headers jsonb, payload jsonb,
										dedup_id text, published_at timestamptz)
	RETURNS void
	AS 'MODULE_PATHNAME', 'stream_store_sql' LANGUAGE C CALLED ON NULL INPUT VOLATILE;

-- What StreamApplyRemote calls inside the apply transaction.
CREATE FUNCTION edge_crdt._stream_store_remote(stream text, origin int4, hlc int8, seq int4,
											   key text, headers jsonb, payload jsonb,
											   dedup_id text, published_at timestamptz)
	RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream;
BEGIN
	-- StreamApplyRemote bounded every field; what is left to check must fail
	-- with a class-22 code, which the replicator quarantines
	PERFORM edge_crdt._stream_check_name('stream', stream);
	IF headers IS NOT NULL AND jsonb_typeof(headers) <> 'object' THEN
		RAISE EXCEPTION 'stream message headers must be a JSON object'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	SELECT * INTO s FROM edge_crdt.stream t WHERE t.name = stream;
	IF NOT FOUND THEN
		-- A global stream exists in every region: the first message creates
		-- it.  Workers for two peers may race to do so; the loser waits for
		-- the winner's commit and uses its stream.
		BEGIN
			s := edge_crdt._stream_create(stream, 'global', interval '3 days', NULL, NULL);
		EXCEPTION WHEN duplicate_object THEN
			SELECT * INTO STRICT s FROM edge_crdt.stream t WHERE t.name = stream;
		END;
	END IF;
	IF s.scope <> 'global' THEN
		RAISE EXCEPTION 'stream "%" is local on this node, but node % published to it as a global stream',
			stream, origin
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Drop or rename the local stream, then retry the quarantined transaction.';
	END IF;
	PERFORM edge_crdt._stream_lock(s.stream_id, 1, 0, false);
	-- exactly once even if a transaction were applied twice
	PERFORM 1 FROM edge_crdt.stream_message m
	WHERE m.stream_id = s.stream_id AND m.hlc = _stream_store_remote.hlc
	  AND m.origin = _stream_store_remote.origin AND m.seq = _stream_store_remote.seq;
	IF FOUND THEN
		RETURN;
	END IF;
	PERFORM edge_crdt._stream_store(s.stream_id, origin, hlc, seq, key, headers, payload, dedup_id, published_at);
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt._stream_store_remote(text, int4, int8, int4, text, jsonb, jsonb, text, timestamptz) FROM PUBLIC;

/*
 * Store messages of a group that reached max_deliveries (positions, with
 * the deliveries of each) in its dead-letter stream.  The caller removes
 * them from the group (delivery rows or lease).
 */
CREATE FUNCTION edge_crdt._stream_dead_letter(s edge_crdt.stream, g edge_crdt.stream_group,
											  positions int8[], deliveries int4[])
	RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	dl			edge_crdt.stream;
	m			record;
	me			int4 := edge_crdt._stream_local_node();
	h			int8;
BEGIN
	SELECT * INTO dl FROM edge_crdt.stream WHERE dead_letter_of = g.group_id;
	PERFORM edge_crdt._stream_lock(dl.stream_id, 1, 0, false);
	FOR m IN SELECT msg.*, x.deliveries
			 FROM unnest(positions, deliveries) AS x (pos, deliveries)
			 JOIN edge_crdt.stream_message msg ON msg.stream_id = s.stream_id AND msg.pos = x.pos
			 ORDER BY x.pos LOOP
		h := edge_crdt.hlc_now();
		PERFORM edge_crdt._stream_store(dl.stream_id, me, h, 0, m.key,
			coalesce(m.headers, '{}') || jsonb_build_object('dead_letter', jsonb_build_object(
				'stream', s.name, 'group', g.grp, 'id', edge_crdt._stream_id(m.hlc, m.origin, m.seq),
				'origin', m.origin, 'deliveries', m.deliveries, 'published_at', m.published_at)),
			m.payload, NULL, edge_crdt.hlc_to_timestamptz(h));
	END LOOP;
END;
$$;

-- Dead letters of an exclusive / key_shared group: store, delete the rows.
CREATE FUNCTION edge_crdt._stream_dead_letter_rows(s edge_crdt.stream, g edge_crdt.stream_group,
												   positions int8[])
	RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	p			int8[];
	n			int4[];
BEGIN
	SELECT array_agg(d.pos), array_agg(d.deliveries) INTO p, n
	FROM edge_crdt.stream_delivery d WHERE d.group_id = g.group_id AND d.pos = ANY (positions);
	PERFORM edge_crdt._stream_dead_letter(s, g, p, n);
	DELETE FROM edge_crdt.stream_delivery d WHERE d.group_id = g.group_id AND d.pos = ANY (positions);
END;
$$;

/*
 * Messages by position with their deliveries count, in position order, as
 * read_group and claim return them.
 */
CREATE FUNCTION edge_crdt._stream_messages(s edge_crdt.stream, positions int8[], deliveries int4[])
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   deliveries int4, published_at timestamptz)
LANGUAGE sql STABLE
AS $$
	SELECT edge_crdt._stream_id(m.hlc, m.origin, m.seq), m.origin, m.key, m.payload, m.headers,
		   x.deliveries, m.published_at
	FROM unnest(positions, deliveries) AS x (pos, deliveries)
	CROSS JOIN LATERAL (
		-- one index probe per segment, whatever the statistics say
		SELECT * FROM edge_crdt.stream_message y
		WHERE y.stream_id = s.stream_id AND y.pos = x.pos LIMIT 1) m
	ORDER BY x.pos
$$;

/*
 * Shared groups: hand out again up to n pending messages of leases that are
 * due -- visibility passed (read_group: min_idle NULL) or delivered at least
 * min_idle ago (claim) -- skipping leases other transactions hold, oldest
 * lease first.  A lease delivered max_deliveries times goes to the dead
 * letters instead.  A lease larger than what is left of n gives its first
 * positions to a new lease.
 */
CREATE FUNCTION edge_crdt._stream_lease_redeliver(s edge_crdt.stream, g edge_crdt.stream_group,
												  consumer text, n int, visibility interval,
												  min_idle interval)
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   deliveries int4, published_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
	v_now		timestamptz := clock_timestamp();
	l			edge_crdt.stream_lease;
	take		int8[];
	taken		int8[] := '{}';
	counts		int4[] := '{}';
BEGIN
	FOR l IN SELECT * FROM edge_crdt.stream_lease t
			 WHERE t.group_id = g.group_id AND t.pending <> '{}'
			   AND CASE WHEN min_idle IS NULL THEN t.visible_at <= v_now
						ELSE t.deliveries > 0 AND t.delivered_at <= v_now - min_idle END
			 ORDER BY t.lease_id FOR UPDATE SKIP LOCKED LOOP
		EXIT WHEN cardinality(taken) >= n;
		IF l.deliveries >= g.max_deliveries THEN
			PERFORM edge_crdt._stream_dead_letter(s, g, l.pending,
				array_fill(l.deliveries, ARRAY[cardinality(l.pending)]));
			UPDATE edge_crdt.stream_lease t SET pending = '{}'
			WHERE t.group_id = l.group_id AND t.lease_id = l.lease_id;
			CONTINUE;
		END IF;
		take := l.pending[1 : n - cardinality(taken)];
		IF cardinality(take) = cardinality(l.pending) THEN
			UPDATE edge_crdt.stream_lease t
			SET consumer = _stream_lease_redeliver.consumer, visible_at = v_now + visibility,
				deliveries = t.deliveries + 1, delivered_at = v_now
			WHERE t.group_id = l.group_id AND t.lease_id = l.lease_id;
		ELSE
			UPDATE edge_crdt.stream_lease t SET pending = l.pending[cardinality(take) + 1 :]
			WHERE t.group_id = l.group_id AND t.lease_id = l.lease_id;
			INSERT INTO edge_crdt.stream_lease
			VALUES (g.group_id, nextval('edge_crdt.stream_lease_seq'), take, take,
					_stream_lease_redeliver.consumer, v_now + visibility, l.deliveries + 1, v_now);
		END IF;
		taken := taken || take;
		counts := counts || array_fill(l.deliveries + 1, ARRAY[cardinality(take)]);
	END LOOP;
	RETURN QUERY SELECT * FROM edge_crdt._stream_messages(s, taken, counts);
END;
$$;

/*
 * Deliver the chosen delivery rows (take, by position) to consumer: mark
 * them in flight until now + visibility and return their messages.  Shared
 * by _stream_take and claim (exclusive / key_shared groups).
 */
CREATE FUNCTION edge_crdt._stream_deliver(s edge_crdt.stream, g edge_crdt.stream_group, take int8[],
										  consumer text, visibility interval, v_now timestamptz)
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   deliveries int4, published_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
	p			int8[];
	n			int4[];
BEGIN
	WITH u AS (
		UPDATE edge_crdt.stream_delivery d
		SET visible_at = v_now + visibility, deliveries = d.deliveries + 1,
			consumer = _stream_deliver.consumer, delivered_at = v_now
		WHERE d.group_id = g.group_id AND d.pos = ANY (take)
		RETURNING d.pos, d.deliveries)
	SELECT array_agg(u.pos), array_agg(u.deliveries) INTO p, n FROM u;
	RETURN QUERY SELECT * FROM edge_crdt._stream_messages(s, p, n);
END;
$$;

/*
 * Choose and mark up to n deliverable messages of an exclusive or
 * key_shared group: per origin (exclusive) or per key (key_shared) only the
 * head of the line is deliverable: a message waits while an earlier one of
 * its origin / key is in flight or locked, which keeps per-origin (per-key)
 * FIFO order across redeliveries.  exclusive also holds a lease so one
 * consumer reads at a time.  (Shared groups: StreamTakeFresh and
 * _stream_lease_redeliver.)
 */
CREATE FUNCTION edge_crdt._stream_take(s edge_crdt.stream, g edge_crdt.stream_group, consumer text,
									   n int, visibility interval)
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   deliveries int4, published_at timestamptz)
LANGUAGE plpgsql
AS $$
DECLARE
	v_now		timestamptz := clock_timestamp();
	take		int8[] := '{}';
	dead		int8[] := '{}';
	blocked		text[] := '{}';
	part		text;
	r			record;
	dl			int4;
	gl			edge_crdt.stream_group;
BEGIN
	IF g.mode = 'exclusive' THEN
		SELECT * INTO gl FROM edge_crdt.stream_group t WHERE t.group_id = g.group_id
		FOR UPDATE SKIP LOCKED;
		IF NOT FOUND OR (gl.owner IS DISTINCT FROM consumer AND gl.owner_until > v_now) THEN
			RETURN;			-- another consumer holds the group
		END IF;
		UPDATE edge_crdt.stream_group t SET owner = consumer, owner_until = v_now + visibility
		WHERE t.group_id = g.group_id;
	END IF;
	FOR r IN SELECT d.pos, d.origin, d.key, d.visible_at FROM edge_crdt.stream_delivery d
			 WHERE d.group_id = g.group_id ORDER BY d.pos LOOP
		part := CASE WHEN g.mode = 'key_shared' AND r.key IS NOT NULL THEN 'k' || r.key
					 ELSE 'o' || r.origin END;
		CONTINUE WHEN part = ANY (blocked);
		IF r.visible_at > v_now THEN
			blocked := blocked || part;
			CONTINUE;
		END IF;
		SELECT d.deliveries INTO dl FROM edge_crdt.stream_delivery d
		WHERE d.group_id = g.group_id AND d.pos = r.pos AND d.visible_at <= v_now
		FOR UPDATE SKIP LOCKED;
		IF NOT FOUND THEN
			blocked := blocked || part;
			CONTINUE;
		END IF;
		IF dl >= g.max_deliveries THEN
			dead := dead || r.pos;
			CONTINUE;
		END IF;
		take := take || r.pos;
		EXIT WHEN cardinality(take) >= n;
	END LOOP;
	IF cardinality(dead) > 0 THEN
		PERFORM edge_crdt._stream_dead_letter_rows(s, g, dead);
	END IF;
	IF cardinality(take) = 0 THEN
		RETURN;
	END IF;
	RETURN QUERY
	SELECT * FROM edge_crdt._stream_deliver(s, g, take, consumer, visibility, v_now);
END;
$$;

/* --- management (edge_crdt_admin) --- */

CREATE FUNCTION edge_crdt.stream_create(name text, scope text DEFAULT 'global',
										retention interval DEFAULT '3 days',
										max_len bigint DEFAULT NULL)
	RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM edge_crdt._stream_create(name, scope, retention, max_len, NULL);
END;
$$;
COMMENT ON FUNCTION edge_crdt.stream_create(text, text, interval, bigint) IS
	'create a stream: global (replicated to every region) or local; trimmed locally after retention / beyond max_len';

CREATE FUNCTION edge_crdt.stream_drop(name text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(name);
BEGIN
	IF s.dead_letter_of IS NOT NULL THEN
		RAISE EXCEPTION 'stream "%" is the dead-letter stream of a consumer group', name
			USING ERRCODE = 'dependent_objects_still_exist',
				  HINT = 'Drop the group with edge_crdt.group_drop() instead.';
	END IF;
	PERFORM edge_crdt._stream_drop(s);
END;
$$;
COMMENT ON FUNCTION edge_crdt.stream_drop(text) IS
	'drop a stream on this node with its messages, groups and dead-letter streams (local: other regions keep theirs)';

CREATE FUNCTION edge_crdt.group_create(stream text, grp text, start text DEFAULT 'latest',
									   mode text DEFAULT 'shared')
	RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	gid			int4;
	a			record;
	a_hlc		int8 := 0;
	a_origin	int4 := 0;
	a_seq		int4 := 0;
BEGIN
	PERFORM edge_crdt._stream_check_name('consumer group', grp);
	IF mode IS NULL OR mode NOT IN ('shared', 'exclusive', 'key_shared') THEN
		RAISE EXCEPTION 'invalid consumer group mode "%"', coalesce(mode, 'NULL')
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Use ''shared'', ''exclusive'' or ''key_shared''.';
	END IF;
	IF start IS NULL THEN
		RAISE EXCEPTION 'start must be ''latest'', ''earliest'' or a message id'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF start NOT IN ('latest', 'earliest') THEN
		SELECT * INTO a FROM edge_crdt._stream_parse_ids(ARRAY[start]);
		a_hlc := a.hlc;
		a_origin := a.origin;
		a_seq := a.seq;
	END IF;
	-- Wait for publishers in flight and keep new ones out until we commit:
	-- every message is then either before the group's start or fanned out to it.
	PERFORM edge_crdt._stream_lock(s.stream_id, 1, 0, true);
	BEGIN
		INSERT INTO edge_crdt.stream_group (stream_id, grp, mode)
		VALUES (s.stream_id, grp, mode) RETURNING group_id INTO gid;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'consumer group "%" already exists on stream "%"', grp, stream
			USING ERRCODE = 'duplicate_object';
	END;
	PERFORM edge_crdt._stream_invalidate();
	IF mode <> 'shared' THEN
		IF start <> 'latest' THEN
			INSERT INTO edge_crdt.stream_delivery (group_id, pos, seg, origin, key)
			SELECT gid, m.pos, m.seg, m.origin, m.key FROM edge_crdt.stream_message m
			WHERE m.stream_id = s.stream_id
			  AND (start = 'earliest' OR (m.hlc, m.origin, m.seq) > (a_hlc, a_origin, a_seq));
		END IF;
	ELSIF start = 'latest' THEN
		-- no publisher is in flight (the lock above): every position up to
		-- the sequence's is settled
		UPDATE edge_crdt.stream_group t
		SET floor = (SELECT CASE WHEN q.is_called THEN q.last_value ELSE 0 END
					 FROM edge_crdt.stream_pos_seq q)
		WHERE t.group_id = gid;
	ELSIF start <> 'earliest' THEN
		-- the messages up to the start id count as acknowledged
		INSERT INTO edge_crdt.stream_lease
		SELECT gid, nextval('edge_crdt.stream_lease_seq'), p.pos, '{}', NULL, now(), 0, NULL
		FROM (SELECT array_agg(m.pos ORDER BY m.pos) AS pos FROM edge_crdt.stream_message m
			  WHERE m.stream_id = s.stream_id
				AND (m.hlc, m.origin, m.seq) <= (a_hlc, a_origin, a_seq)) p
		WHERE p.pos IS NOT NULL;
	END IF;
	PERFORM edge_crdt._stream_create(s.name || ':' || grp || ':dead', 'local', s.retention, NULL, gid);
END;
$$;
COMMENT ON FUNCTION edge_crdt.group_create(text, text, text, text) IS
	'create a consumer group (local to this region) starting at latest, earliest or after a message id; modes shared, exclusive, key_shared';

CREATE FUNCTION edge_crdt.group_drop(stream text, grp text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	g			edge_crdt.stream_group := edge_crdt._stream_group_get(s, grp);
	d			edge_crdt.stream;
BEGIN
	-- publishers in flight could otherwise fan out to the dropped group
	PERFORM edge_crdt._stream_lock(s.stream_id, 1, 0, true);
	FOR d IN SELECT * FROM edge_crdt.stream WHERE dead_letter_of = g.group_id LOOP
		PERFORM edge_crdt._stream_drop(d);
	END LOOP;
	DELETE FROM edge_crdt.stream_delivery WHERE group_id = g.group_id;
	DELETE FROM edge_crdt.stream_lease WHERE group_id = g.group_id;
	DELETE FROM edge_crdt.stream_group WHERE group_id = g.group_id;
	PERFORM edge_crdt._stream_invalidate();
END;
$$;
COMMENT ON FUNCTION edge_crdt.group_drop(text, text) IS
	'drop a consumer group, its pending messages and its dead-letter stream';

CREATE FUNCTION edge_crdt.group_configure(stream text, grp text, max_deliveries int)
	RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	g			edge_crdt.stream_group := edge_crdt._stream_group_get(s, grp);
BEGIN
	IF max_deliveries IS NULL OR max_deliveries < 1 THEN
		RAISE EXCEPTION 'max_deliveries must be at least 1'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	UPDATE edge_crdt.stream_group t SET max_deliveries = group_configure.max_deliveries
	WHERE t.group_id = g.group_id;
	PERFORM edge_crdt._stream_invalidate();
END;
$$;
COMMENT ON FUNCTION edge_crdt.group_configure(text, text, int) IS
	'set after how many deliveries (default 10) an unacknowledged message moves to the group''s dead-letter stream';

/*
 * The messages of a group not acknowledged yet: delivery rows (exclusive,
 * key_shared), or above the floor and covered by no lease or pending in one
 * (shared), with whether they are in flight.  Committed state: a lease
 * being taken by an open transaction still counts as unacknowledged.
 */
CREATE FUNCTION edge_crdt._stream_unacked(g edge_crdt.stream_group)
	RETURNS TABLE (pos int8, seg int4, published_at timestamptz, in_flight bool)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT d.pos, d.seg, m.published_at, d.visible_at > now()
	FROM edge_crdt.stream_delivery d
	LEFT JOIN edge_crdt.stream_message m ON m.stream_id = g.stream_id AND m.seg = d.seg AND m.pos = d.pos
	WHERE d.group_id = g.group_id
	UNION ALL
	SELECT m.pos, m.seg, m.published_at, coalesce(p.in_flight, false)
	FROM edge_crdt.stream_message m
	LEFT JOIN (SELECT x.p, bool_or(l.visible_at > now()) AS in_flight
			   FROM edge_crdt.stream_lease l, unnest(l.pending) AS x (p)
			   WHERE l.group_id = g.group_id GROUP BY x.p) p ON p.p = m.pos
	LEFT JOIN (SELECT DISTINCT x.p FROM edge_crdt.stream_lease l, unnest(l.pos) AS x (p)
			   WHERE l.group_id = g.group_id) c ON c.p = m.pos
	WHERE g.mode = 'shared' AND m.stream_id = g.stream_id AND m.pos > g.floor
	  AND (p.p IS NOT NULL OR c.p IS NULL)
$$;

/*
 * Local trimming: per stream, TRUNCATE the oldest segment of the ring when
 * all of it is past retention (pending deliveries in it are dropped), or
 * when max_len is exceeded without it and nothing in it is unacknowledged;
 * then rotate into it once the current segment is half a retention old or
 * holds max_len / 2 messages.  Never a row DELETE on messages.
 */
CREATE FUNCTION edge_crdt.stream_trim(name text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream;
	cur			int;
	oldest		int;
	n_old		int8;
	n_cur		int8;
	n_all		int8;
	newest		timestamptz;
	truncate_due bool;
	rotate_due	bool;
	emptied		bool;
	needed		bool;
	trimmed		int8 := 0;
	part		text;
BEGIN
	FOR s IN SELECT * FROM edge_crdt.stream t WHERE stream_trim.name IS NULL OR t.name = stream_trim.name
			 ORDER BY t.stream_id LOOP
		/*
		 * Count before taking the stream's locks, which stop its publishers:
		 * counting a large stream takes long.  The counts stay good under
		 * the locks: publishers write only the current segment, so the
		 * oldest one does not change; n_cur and n_all (needed for max_len
		 * only) can only have grown, which trims later, never earlier; and
		 * only a trim rotates, which the recheck of cur_seg below catches.
		 */
		cur := s.cur_seg;
		oldest := (cur + 1) % 4;
		part := format('edge_crdt.%I', 'stream_msg_' || s.stream_id || '_' || oldest);
		EXECUTE format('SELECT count(*), max(stored_at) FROM %s', part) INTO n_old, newest;
		IF s.max_len IS NOT NULL THEN
			SELECT count(*) INTO n_all FROM edge_crdt.stream_message m WHERE m.stream_id = s.stream_id;
			EXECUTE format('SELECT count(*) FROM edge_crdt.%I', 'stream_msg_' || s.stream_id || '_' || cur)
			INTO n_cur;
		END IF;
		-- now() is the transaction's: the same under the locks below
		truncate_due := n_old > 0 AND
			coalesce(newest < now() - s.retention OR n_all - n_old >= s.max_len, false);
		rotate_due := coalesce(s.seg_started <= now() - s.retention / 2
							   OR n_cur >= greatest(s.max_len / 2, 1), false);
		CONTINUE WHEN NOT (truncate_due OR (n_old = 0 AND rotate_due));

		/*
		 * TRUNCATE waits for every transaction that read the segment, and a
		 * reader waiting in read_group inside one holds it until a publish
		 * wakes it: wait for them here, before pausing publishers, not after.
		 */
		IF truncate_due THEN
			EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', part);
		END IF;
		PERFORM edge_crdt._stream_lock(s.stream_id, 1, 0, true);
		/*
		 * NO KEY UPDATE: a consumer that moved its group's floor twice in one
		 * transaction holds a KEY SHARE lock on this row (the foreign key
		 * check of the second update); waiting for it here, with every
		 * publisher of the stream waiting for us, could stall the stream for
		 * as long as that consumer's transaction lasts -- a reader waiting
		 * for a publish never ends it.
		 */
		SELECT * INTO s FROM edge_crdt.stream t WHERE t.stream_id = s.stream_id FOR NO KEY UPDATE;
		-- dropped or rotated by another trim since we counted: next time
		CONTINUE WHEN NOT FOUND OR s.cur_seg <> cur;
		IF truncate_due THEN
			-- or truncated by one that did not rotate
			EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', part) INTO emptied;
			-- over max_len but within retention: only once no group needs it
			needed := false;
			IF NOT emptied AND newest >= now() - s.retention THEN
				SELECT EXISTS (SELECT 1 FROM edge_crdt.stream_group g, edge_crdt._stream_unacked(g) u
							   WHERE g.stream_id = s.stream_id AND u.seg = oldest) INTO needed;
			END IF;
			IF NOT emptied AND NOT needed THEN
				DELETE FROM edge_crdt.stream_delivery d USING edge_crdt.stream_group g
				WHERE d.group_id = g.group_id AND g.stream_id = s.stream_id AND d.seg = oldest;
				EXECUTE format('UPDATE edge_crdt.stream_lease l SET pending = ARRAY('
							   ' SELECT x FROM unnest(l.pending) x WHERE NOT EXISTS (SELECT FROM %s p WHERE p.pos = x))'
							   ' FROM edge_crdt.stream_group g'
							   ' WHERE l.group_id = g.group_id AND g.stream_id = $1 AND l.pending <> ''{}''', part)
				USING s.stream_id;
				EXECUTE format('TRUNCATE %s', part);
				trimmed := trimmed + n_old;
			END IF;
			IF NOT needed THEN
				n_old := 0;
			END IF;
		END IF;
		/*
		 * Rotate into the empty oldest segment.  An empty current segment
		 * rotates too, on time alone: otherwise a stream that stops
		 * receiving would keep its older segments past retention, since
		 * they only reach the oldest position as the ring moves.
		 */
		IF n_old = 0 AND rotate_due THEN
			UPDATE edge_crdt.stream t SET cur_seg = oldest, seg_started = now()
			WHERE t.stream_id = s.stream_id;
			PERFORM edge_crdt._stream_invalidate();
		END IF;
	END LOOP;
	RETURN trimmed;
END;
$$;
COMMENT ON FUNCTION edge_crdt.stream_trim(text) IS
	'local trimming of one or all streams by TRUNCATE of the oldest segment and rotation (schedule it, e.g. every minute); returns the messages removed';

/* --- producers and consumers (grant EXECUTE to application roles) --- */

CREATE FUNCTION edge_crdt.publish(stream text, payload jsonb, key text DEFAULT NULL,
								  headers jsonb DEFAULT NULL, dedup_id text DEFAULT NULL)
	RETURNS text
	AS 'MODULE_PATHNAME', 'stream_publish_sql'
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION edge_crdt.publish(text, jsonb, text, jsonb, text) IS
	'append a message (in the current transaction); returns its id "<hlc>-<origin>-<seq>"; a repeated dedup_id within retention returns the first id';

CREATE FUNCTION edge_crdt.publish_batch(stream text, payloads jsonb[]) RETURNS SETOF text
	AS 'MODULE_PATHNAME', 'stream_publish_batch_sql'
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION edge_crdt.publish_batch(text, jsonb[]) IS
	'append several messages in one go (one clock reading, consecutive sequence numbers); returns their ids in order';

CREATE FUNCTION edge_crdt.read_group(stream text, grp text, consumer text, count int DEFAULT 100,
									 visibility interval DEFAULT '30 s', wait interval DEFAULT '0')
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   deliveries int4, published_at timestamptz)
	AS 'MODULE_PATHNAME', 'stream_read_group_sql'
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	-- Its statements are planned once per backend (generic plans): the head
	-- of a group is read in pos order by its index and messages by index
	-- probes, whatever the statistics said then (a segment still empty at
	-- planning time must not get a sequential scan for good).
	SET enable_bitmapscan = off
	SET enable_seqscan = off
	SET jit = off;
COMMENT ON FUNCTION edge_crdt.read_group(text, text, text, int, interval, interval) IS
	'deliver up to count messages to a consumer of a group, invisible to others for visibility; wait blocks (no polling) until a message arrives';

CREATE FUNCTION edge_crdt.ack(stream text, grp text, ids text[]) RETURNS bigint
	AS 'MODULE_PATHNAME', 'stream_ack_sql'
	LANGUAGE C VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, pg_temp
	-- as read_group: index probes, whatever the statistics said at planning
	SET enable_seqscan = off
	SET jit = off;
COMMENT ON FUNCTION edge_crdt.ack(text, text, text[]) IS
	'acknowledge messages of a group; an error if one is not pending, so effects committed with the ack happen exactly once';

CREATE FUNCTION edge_crdt.nack(stream text, grp text, ids text[], retry_after interval DEFAULT '0')
	RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	g			edge_crdt.stream_group := edge_crdt._stream_group_get(s, grp);
	n			int8;
	want		int8[];
	back		int8[];
	l			edge_crdt.stream_lease;
BEGIN
	IF retry_after IS NULL OR retry_after < interval '0' THEN
		RAISE EXCEPTION 'retry_after must not be negative'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	want := ARRAY(SELECT m.pos FROM edge_crdt._stream_parse_ids(ids) w CROSS JOIN LATERAL (
					  SELECT x.pos FROM edge_crdt.stream_message x
					  WHERE x.stream_id = s.stream_id AND x.hlc = w.hlc AND x.origin = w.origin
						AND x.seq = w.seq LIMIT 1) m);
	IF g.mode <> 'shared' THEN
		UPDATE edge_crdt.stream_delivery d
		SET visible_at = clock_timestamp() + retry_after, consumer = NULL
		WHERE d.group_id = g.group_id AND d.pos = ANY (want);
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n > 0 THEN
			PERFORM edge_crdt._stream_wake(s.stream_id, g.group_id, false);
		END IF;
		RETURN n;
	END IF;
	-- shared: the nacked part of a lease becomes a lease of its own
	n := 0;
	FOR l IN SELECT * FROM edge_crdt.stream_lease t
			 WHERE t.group_id = g.group_id AND t.pending && want ORDER BY t.lease_id FOR UPDATE LOOP
		back := ARRAY(SELECT x FROM unnest(l.pending) x WHERE x = ANY (want) ORDER BY x);
		n := n + cardinality(back);
		IF cardinality(back) = cardinality(l.pending) THEN
			UPDATE edge_crdt.stream_lease t
			SET visible_at = clock_timestamp() + retry_after, consumer = NULL
			WHERE t.group_id = l.group_id AND t.lease_id = l.lease_id;
		ELSE
			UPDATE edge_crdt.stream_lease t
			SET pending = ARRAY(SELECT x FROM unnest(l.pending) x WHERE NOT x = ANY (want) ORDER BY x)
			WHERE t.group_id = l.group_id AND t.lease_id = l.lease_id;
			INSERT INTO edge_crdt.stream_lease
			VALUES (g.group_id, nextval('edge_crdt.stream_lease_seq'), back, back, NULL,
					clock_timestamp() + retry_after, l.deliveries, l.delivered_at);
		END IF;
	END LOOP;
	-- a waiting reader looks again (and sleeps until retry_after if it must)
	IF n > 0 THEN
		PERFORM edge_crdt._stream_wake(s.stream_id, g.group_id, true);
	END IF;
	RETURN n;
END;
$$;
COMMENT ON FUNCTION edge_crdt.nack(text, text, text[], interval) IS
	'give messages back to a group for redelivery after retry_after; returns how many were pending';

CREATE FUNCTION edge_crdt.pending(stream text, grp text)
	RETURNS TABLE (id text, consumer text, deliveries int4, delivered_at timestamptz,
				   visible_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	g			edge_crdt.stream_group := edge_crdt._stream_group_get(s, grp);
BEGIN
	RETURN QUERY
	SELECT edge_crdt._stream_id(m.hlc, m.origin, m.seq), u.consumer, u.deliveries, u.delivered_at,
		   u.visible_at
	FROM (SELECT d.pos, d.consumer, d.deliveries, d.delivered_at, d.visible_at
		  FROM edge_crdt.stream_delivery d
		  WHERE d.group_id = g.group_id AND d.deliveries > 0
		  UNION ALL
		  SELECT x.p, l.consumer, l.deliveries, l.delivered_at, l.visible_at
		  FROM edge_crdt.stream_lease l, unnest(l.pending) AS x (p)
		  WHERE l.group_id = g.group_id AND l.deliveries > 0) u
	JOIN edge_crdt.stream_message m ON m.stream_id = s.stream_id AND m.pos = u.pos
	ORDER BY u.pos;
END;
$$;
COMMENT ON FUNCTION edge_crdt.pending(text, text) IS
	'messages delivered to consumers of a group and not acknowledged yet';

CREATE FUNCTION edge_crdt.claim(stream text, grp text, consumer text, min_idle interval, count int,
								visibility interval DEFAULT '30 s')
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   deliveries int4, published_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- the head of a group is read in pos order by its index, whatever the
-- statistics say (a stale estimate must not turn it into bitmap scan + sort)
SET enable_bitmapscan = off
SET jit = off
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	g			edge_crdt.stream_group := edge_crdt._stream_group_get(s, grp);
	v_now		timestamptz := clock_timestamp();
	take		int8[];
	dead		int8[];
BEGIN
	IF consumer IS NULL OR consumer = '' OR octet_length(consumer) > 200 THEN
		RAISE EXCEPTION 'invalid consumer name'
			USING ERRCODE = 'invalid_parameter_value',
				  DETAIL = 'A consumer name is 1 to 200 bytes.';
	END IF;
	IF min_idle IS NULL OR min_idle < interval '0' OR count IS NULL OR count NOT BETWEEN 1 AND 10000
	   OR visibility IS NULL OR visibility <= interval '0' THEN
		RAISE EXCEPTION 'claim needs min_idle >= 0, count between 1 and 10000 and a positive visibility'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF g.mode = 'shared' THEN
		RETURN QUERY
		SELECT * FROM edge_crdt._stream_lease_redeliver(s, g, consumer, count, visibility, min_idle);
		RETURN;
	END IF;
	SELECT coalesce(array_agg(c.pos) FILTER (WHERE c.deliveries < g.max_deliveries), '{}'),
		   coalesce(array_agg(c.pos) FILTER (WHERE c.deliveries >= g.max_deliveries), '{}')
	INTO take, dead
	FROM (SELECT d.pos, d.deliveries FROM edge_crdt.stream_delivery d
		  WHERE d.group_id = g.group_id AND d.deliveries > 0 AND d.delivered_at <= v_now - min_idle
		  ORDER BY d.pos LIMIT count FOR UPDATE SKIP LOCKED) c;
	IF cardinality(dead) > 0 THEN
		PERFORM edge_crdt._stream_dead_letter_rows(s, g, dead);
	END IF;
	RETURN QUERY
	SELECT * FROM edge_crdt._stream_deliver(s, g, take, consumer, visibility, v_now);
END;
$$;
COMMENT ON FUNCTION edge_crdt.claim(text, text, text, interval, int, interval) IS
	'take over messages delivered to other consumers and idle for at least min_idle';

CREATE FUNCTION edge_crdt.read(stream text, after text DEFAULT NULL, count int DEFAULT 100)
	RETURNS TABLE (id text, origin int4, key text, payload jsonb, headers jsonb,
				   published_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s			edge_crdt.stream := edge_crdt._stream_get(stream);
	horizon		int8;
	after_pos	int8 := 0;
	a			record;
BEGIN
	IF count IS NULL OR count NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'count must be between 1 and 10000'
			USING ERRCODE = 'invalid_parameter_value';
	END IF;
	IF after IS NOT NULL THEN
		SELECT * INTO a FROM edge_crdt._stream_parse_ids(ARRAY[after]);
		SELECT m.pos INTO after_pos FROM edge_crdt.stream_message m
		WHERE m.stream_id = s.stream_id AND m.hlc = a.hlc AND m.origin = a.origin AND m.seq = a.seq;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'message "%" is not in stream "%"', after, stream
				USING ERRCODE = 'undefined_object',
					  HINT = 'It may have been trimmed; read from the start with after => NULL.';
		END IF;
	END IF;
	-- Everything up to the horizon is committed or rolled back: a later page
	-- can never find an older position that was still in flight.
	horizon := edge_crdt._stream_barrier(s.stream_id);
	RETURN QUERY
	SELECT edge_crdt._stream_id(m.hlc, m.origin, m.seq), m.origin, m.key, m.payload, m.headers,
		   m.published_at
	FROM edge_crdt.stream_message m
	WHERE m.stream_id = s.stream_id AND m.pos > after_pos AND m.pos <= horizon
	ORDER BY m.pos LIMIT count;
END;
$$;
COMMENT ON FUNCTION edge_crdt.read(text, text, int) IS
	'replay a stream without a group, in local arrival order, after a message id';

CREATE VIEW edge_crdt.streams AS
SELECT s.name AS stream, s.scope, s.retention, s.max_len,
	   st.length, now() - st.oldest AS oldest_age, now() - st.newest AS newest_age,
	   (SELECT jsonb_object_agg(g.grp, (SELECT count(*) FROM edge_crdt._stream_unacked(g)))
		FROM edge_crdt.stream_group g WHERE g.stream_id = s.stream_id) AS group_lag,
	   s.dead_letter_of IS NOT NULL AS dead_letter
FROM edge_crdt.stream s
CROSS JOIN LATERAL (SELECT count(*) AS length, min(m.published_at) AS oldest,
						   max(m.published_at) AS newest
					FROM edge_crdt.stream_message m WHERE m.stream_id = s.stream_id) st;
COMMENT ON VIEW edge_crdt.streams IS
	'streams of this node: length, age of the oldest and newest message, per group the messages not acknowledged yet';

CREATE VIEW edge_crdt.stream_groups AS
SELECT s.name AS stream, g.grp, g.mode, g.max_deliveries, st.lag, st.in_flight,
	   now() - st.oldest AS oldest_unacked_age, g.owner
FROM edge_crdt.stream_group g
JOIN edge_crdt.stream s USING (stream_id)
CROSS JOIN LATERAL (
	SELECT count(*) AS lag, count(*) FILTER (WHERE u.in_flight) AS in_flight,
		   min(u.published_at) AS oldest
	FROM edge_crdt._stream_unacked(g) u) st;
COMMENT ON VIEW edge_crdt.stream_groups IS
	'consumer groups: messages not acknowledged (lag), in flight, age of the oldest, exclusive lease owner';

REVOKE ALL ON FUNCTION edge_crdt.stream_create(text, text, interval, bigint),
	edge_crdt.stream_drop(text), edge_crdt.group_create(text, text, text, text),
	edge_crdt.group_drop(text, text), edge_crdt.group_configure(text, text, int),
	edge_crdt.stream_trim(text),
	edge_crdt.publish(text, jsonb, text, jsonb, text), edge_crdt.publish_batch(text, jsonb[]),
	edge_crdt.read_group(text, text, text, int, interval, interval),
	edge_crdt.ack(text, text, text[]), edge_crdt.nack(text, text, text[], interval),
	edge_crdt.pending(text, text), edge_crdt.claim(text, text, text, interval, int, interval),
	edge_crdt.read(text, text, int) FROM PUBLIC;
REVOKE ALL ON edge_crdt.streams, edge_crdt.stream_groups FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edge_crdt.stream_create(text, text, interval, bigint),
	edge_crdt.stream_drop(text), edge_crdt.group_create(text, text, text, text),
	edge_crdt.group_drop(text, text), edge_crdt.group_configure(text, text, int),
	edge_crdt.stream_trim(text),
	edge_crdt.publish(text, jsonb, text, jsonb, text), edge_crdt.publish_batch(text, jsonb[]),
	edge_crdt.read_group(text, text, text, int, interval, interval),
	edge_crdt.ack(text, text, text[]), edge_crdt.nack(text, text, text[], interval),
	edge_crdt.pending(text, text), edge_crdt.claim(text, text, text, interval, int, interval),
	edge_crdt.read(text, text, int) TO edge_crdt_admin;
GRANT SELECT ON edge_crdt.streams, edge_crdt.stream_groups TO edge_crdt_admin;

-- The internal helpers run only inside the functions above.
DO $$
DECLARE
	f			regprocedure;
BEGIN
	FOR f IN SELECT p.oid FROM pg_catalog.pg_proc p
			 WHERE p.pronamespace = 'edge_crdt'::regnamespace AND p.proname LIKE '\_stream\_%' LOOP
		EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
	END LOOP;
END
$$;
-- what the views above call
GRANT EXECUTE ON FUNCTION edge_crdt._stream_unacked(edge_crdt.stream_group) TO edge_crdt_admin;
