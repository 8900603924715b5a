/*
 * Tables and DDL across the mesh.  replicate_table announces a new table
 * in the change stream and replicate_ddl runs DDL here and, at the same
 * point of the stream, on every peer; replicator/apply_message.c calls the
 * apply_* functions below for the messages it receives.
 */

CREATE FUNCTION edge_crdt.emit_message(kind "char", body text) RETURNS void
	AS 'MODULE_PATHNAME', 'emit_message_sql' LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION edge_crdt.emit_message("char", text) IS
	'internal: write a table (T) or DDL (D) message into this transaction''s change stream';
REVOKE ALL ON FUNCTION edge_crdt.emit_message("char", text) FROM PUBLIC;

-- Columns of a table as [[name, type], ...] (not the metadata column).
CREATE FUNCTION edge_crdt.table_columns(rel regclass) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_agg(jsonb_build_array(a.attname, format_type(a.atttypid, a.atttypmod))
							  ORDER BY a.attnum), '[]')
	FROM pg_attribute a
	WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
	  AND a.attname <> '_edge_crdt'
$$;

/*
 * Columns a replicated table has lost through replicate_ddl: a peer that
 * wrote a row before it applied the DROP COLUMN still sends them, and the
 * apply ignores them instead of quarantining the change.
 */
CREATE TABLE edge_crdt.dropped_column (
	relid		oid NOT NULL,
	column_name	text NOT NULL,
	dropped_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (relid, column_name)
);
COMMENT ON TABLE edge_crdt.dropped_column IS
	'columns dropped from replicated tables with replicate_ddl; changes still carrying them are applied without them';

-- What DDL must not change on a replicated table, per table.
CREATE FUNCTION edge_crdt.replication_shape() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce(jsonb_object_agg(r.relid::oid::text, jsonb_build_object(
		'name', r.relid::text,
		'columns', edge_crdt.table_columns(r.relid),
		'pk', (SELECT jsonb_agg(jsonb_build_array(a.attname, format_type(a.atttypid, a.atttypmod))
							   ORDER BY k.ord)
			   FROM pg_index i
			   CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
			   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
			   WHERE i.indrelid = r.relid AND i.indisprimary),
		'meta', EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = r.relid
						AND a.attname = '_edge_crdt' AND NOT a.attisdropped),
		'trigger', EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = r.relid
						   AND t.tgname = 'zz_edge_crdt_capture'))), '{}')
	FROM edge_crdt.replicated_table r
$$;

/*
 * Run DDL the way every node runs it, in the caller's transaction: refuse
 * what would make nodes unable to merge (a changed primary key or column
 * type, removed metadata), remember dropped columns.
 */
CREATE FUNCTION edge_crdt.run_ddl(command text, path text) RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
	before		jsonb := edge_crdt.replication_shape();
	after		jsonb;
	old_path	text := pg_catalog.current_setting('search_path');
	t			text;
	b			jsonb;
	a			jsonb;
	col			jsonb;
BEGIN
	PERFORM pg_catalog.set_config('search_path', path, true);
	EXECUTE command;
	PERFORM pg_catalog.set_config('search_path', old_path, true);
	after := edge_crdt.replication_shape();
	FOR t, b IN SELECT * FROM pg_catalog.jsonb_each(before) LOOP
		a := after -> t;
		CONTINUE WHEN a IS NULL;	-- the table was dropped: that is allowed
		IF a -> 'pk' IS DISTINCT FROM b -> 'pk' THEN
			RAISE EXCEPTION 'replicate_ddl cannot change the primary key of replicated table %', b ->> 'name'
				USING ERRCODE = 'feature_not_supported',
					  DETAIL = 'Rows are matched across nodes by primary key; changes sent before the DDL would no longer find their rows.',
					  HINT = 'Create a new table with the new key, replicate it, and copy the rows.';
		END IF;
		IF NOT (a ->> 'meta')::bool OR NOT (a ->> 'trigger')::bool THEN
			RAISE EXCEPTION 'replicate_ddl cannot remove the edge_crdt metadata of replicated table %', b ->> 'name'
				USING ERRCODE = 'feature_not_supported',
					  HINT = 'Use edge_crdt.unreplicate_table() on every node instead.';
		END IF;
		FOR col IN SELECT * FROM pg_catalog.jsonb_array_elements(b -> 'columns') LOOP
			IF EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(a -> 'columns') c
					   WHERE c ->> 0 = col ->> 0 AND c ->> 1 <> col ->> 1) THEN
				RAISE EXCEPTION 'replicate_ddl cannot change the type of column "%" of replicated table %',
					col ->> 0, b ->> 'name'
					USING ERRCODE = 'feature_not_supported',
						  DETAIL = 'Changes other nodes made before the DDL reached them still carry the old type.',
						  HINT = 'Add a column of the new type, fill it, and drop the old one.';
			END IF;
			IF NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(a -> 'columns') c
						   WHERE c ->> 0 = col ->> 0) THEN
				INSERT INTO edge_crdt.dropped_column (relid, column_name)
				VALUES (t::oid, col ->> 0) ON CONFLICT DO NOTHING;
			END IF;
		END LOOP;
	END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt.run_ddl(text, text) FROM PUBLIC;

CREATE FUNCTION edge_crdt.replicate_ddl(command text) RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
	PERFORM edge_crdt.run_ddl(command, pg_catalog.current_setting('search_path'));
	PERFORM edge_crdt.emit_message('D', pg_catalog.jsonb_build_object(
		'search_path', pg_catalog.current_setting('search_path'),
		'command', command)::text);
END;
$$;
COMMENT ON FUNCTION edge_crdt.replicate_ddl(text) IS
	'run DDL here and on every peer at the same point of the change stream; refuses DDL that would stop nodes from merging';
REVOKE ALL ON FUNCTION edge_crdt.replicate_ddl(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION edge_crdt.replicate_ddl(text) TO edge_crdt_admin;

CREATE FUNCTION edge_crdt.apply_ddl_message(msg jsonb, origin_node int4) RETURNS bool
LANGUAGE plpgsql
AS $$
BEGIN
	IF pg_catalog.jsonb_typeof(msg -> 'command') IS DISTINCT FROM 'string'
	   OR pg_catalog.jsonb_typeof(msg -> 'search_path') IS DISTINCT FROM 'string' THEN
		RAISE EXCEPTION 'malformed DDL message from node %', origin_node
			USING ERRCODE = 'data_corrupted';
	END IF;
	PERFORM edge_crdt.run_ddl(msg ->> 'command', msg ->> 'search_path');
	RETURN false;
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt.apply_ddl_message(jsonb, int4) FROM PUBLIC;

/*
 * A peer replicates a table: replicate it here too if it has the same
 * columns (else say exactly what differs: the change is quarantined until
 * the table matches and the DBA retries it), and queue a copy of the
 * peer's rows.  True when a copy was queued.
 */
CREATE FUNCTION edge_crdt.apply_table_message(msg jsonb, origin_node int4) RETURNS bool
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	name		text := msg ->> 'table';
	rel			regclass;
	diff		text;
BEGIN
	IF jsonb_typeof(msg -> 'table') IS DISTINCT FROM 'string'
	   OR jsonb_typeof(msg -> 'columns') IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'malformed table message from node %', origin_node
			USING ERRCODE = 'data_corrupted';
	END IF;
	rel := to_regclass(name);
	IF rel IS NULL THEN
		RAISE EXCEPTION 'table % is replicated on node % but does not exist here', name, origin_node
			USING ERRCODE = 'undefined_table',
				  DETAIL = format('Its columns there: %s.', msg -> 'columns'),
				  HINT = 'Create it with the same columns, then call edge_crdt.retry_apply_error(), and edge_crdt.resync_peer() if the peer already has rows in it.';
	END IF;
	SELECT string_agg(CASE
			WHEN l.n IS NULL THEN format('column %I is missing here (%s on the peer)', r.n, r.t)
			WHEN r.n IS NULL THEN format('column %I (%s) exists only here', l.n, l.t)
			ELSE format('column %I is %s here but %s on the peer', l.n, l.t, r.t) END,
			'; ' ORDER BY coalesce(r.n, l.n))
	INTO diff
	FROM (SELECT c ->> 0 AS n, c ->> 1 AS t FROM jsonb_array_elements(msg -> 'columns') c) r
	FULL JOIN (SELECT c ->> 0 AS n, c ->> 1 AS t
			   FROM jsonb_array_elements(edge_crdt.table_columns(rel)) c) l ON l.n = r.n
	WHERE l.t IS DISTINCT FROM r.t;
	IF diff IS NOT NULL THEN
		RAISE EXCEPTION 'table % differs from the table replicated on node %', name, origin_node
			USING ERRCODE = 'datatype_mismatch',
				  DETAIL = diff || '.',
				  HINT = 'Make the columns match, then call edge_crdt.retry_apply_error(), and edge_crdt.resync_peer() if the peer already has rows in it.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM edge_crdt.replicated_table WHERE relid = rel) THEN
		PERFORM edge_crdt.replicate_table(rel);
	END IF;
	IF NOT EXISTS (SELECT 1 FROM edge_crdt.peer WHERE node_id = origin_node) THEN
		RETURN false;			-- retried by hand: no peer to copy from
	END IF;
	INSERT INTO edge_crdt.sync_table (peer_node, table_name) VALUES (origin_node, name)
	ON CONFLICT (peer_node, table_name) DO UPDATE
	SET state = 'pending', rows_copied = 0, bytes_copied = 0, started_at = NULL,
		finished_at = NULL, last_error = NULL;
	RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION edge_crdt.apply_table_message(jsonb, int4) FROM PUBLIC;
