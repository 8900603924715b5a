/*
 * Change capture (src/capture): row metadata, replicated tables, tombstones
 * and the capture triggers.
 */

CREATE TYPE edge_crdt.rowmeta;
CREATE FUNCTION edge_crdt.rowmeta_in(cstring) RETURNS edge_crdt.rowmeta
	AS 'MODULE_PATHNAME', 'rowmeta_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION edge_crdt.rowmeta_out(edge_crdt.rowmeta) RETURNS cstring
	AS 'MODULE_PATHNAME', 'rowmeta_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION edge_crdt.rowmeta_recv(internal) RETURNS edge_crdt.rowmeta
	AS 'MODULE_PATHNAME', 'rowmeta_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION edge_crdt.rowmeta_send(edge_crdt.rowmeta) RETURNS bytea
	AS 'MODULE_PATHNAME', 'rowmeta_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE TYPE edge_crdt.rowmeta (
	INPUT = edge_crdt.rowmeta_in,
	OUTPUT = edge_crdt.rowmeta_out,
	RECEIVE = edge_crdt.rowmeta_recv,
	SEND = edge_crdt.rowmeta_send,
	INTERNALLENGTH = VARIABLE,
	STORAGE = main
);
COMMENT ON TYPE edge_crdt.rowmeta IS
	'replication metadata of a row: causal length and per-column versions (hlc, node)';

CREATE FUNCTION edge_crdt.row_cl(meta edge_crdt.rowmeta) RETURNS int8
	AS 'MODULE_PATHNAME', 'rowmeta_cl_sql' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION edge_crdt.row_cl(edge_crdt.rowmeta) IS
	'causal length of a row: odd while alive, even once deleted';

CREATE FUNCTION edge_crdt.row_versions(rel regclass, meta edge_crdt.rowmeta,
	OUT column_name name, OUT hlc int8, OUT node int4)
	RETURNS SETOF record
	AS 'MODULE_PATHNAME', 'row_versions_sql' LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION edge_crdt.row_versions(regclass, edge_crdt.rowmeta) IS
	'the version (hlc, node) of every column of a replicated row';

CREATE FUNCTION edge_crdt.rowmeta_initial(rel regclass) RETURNS edge_crdt.rowmeta
	AS 'MODULE_PATHNAME', 'rowmeta_initial_sql' LANGUAGE C VOLATILE STRICT;
REVOKE ALL ON FUNCTION edge_crdt.rowmeta_initial(regclass) FROM PUBLIC;

-- The replication set.  A table is replicated iff it has the metadata
-- column; this table records when and is what the views read.
CREATE TABLE edge_crdt.replicated_table (
	relid		regclass PRIMARY KEY,
	since		timestamptz NOT NULL DEFAULT now()
);

/*
 * Tombstones: (table, encoded primary key) -> causal length of the deletion
 * and its version.  The output plugin turns changes of this table into
 * DELETE messages, so a delete ships with its causal length.  lsn is where
 * the deleting transaction committed on the node that deleted (node), or
 * an upper bound of it; NULL until known.  The row with the empty key is
 * the table's floor: the greatest causal length among its collected
 * tombstones (tombstone collection, 88_gc.sql).
 */
CREATE TABLE edge_crdt.tombstone (
	relid		oid NOT NULL,
	pk			bytea NOT NULL,
	cl			int8 NOT NULL CHECK (cl > 0 AND cl % 2 = 0),
	hlc			int8 NOT NULL,
	node		int4 NOT NULL,
	lsn			pg_lsn,
	PRIMARY KEY (relid, pk)
);
COMMENT ON TABLE edge_crdt.tombstone IS
	'tombstones of deleted rows of replicated tables';

-- The output plugin reads the node identity under the historic snapshot of
-- logical decoding, which only user catalog tables allow.
ALTER TABLE edge_crdt.node SET (user_catalog_table = true);

CREATE FUNCTION edge_crdt.capture_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'capture_trigger' LANGUAGE C;
CREATE FUNCTION edge_crdt.truncate_trigger() RETURNS trigger
	AS 'MODULE_PATHNAME', 'truncate_trigger' LANGUAGE C;

CREATE FUNCTION edge_crdt.replicate_table(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	c			pg_class;
	kind		text;
	pkcols		text[];
BEGIN
	SELECT * INTO c FROM pg_class WHERE oid = rel;

	IF c.relkind = 'p' THEN
		RAISE EXCEPTION 'cannot replicate partitioned table %', rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'A row moving between partitions would be a delete on one table and an insert on another, which peers cannot merge as one row.',
				  HINT = 'Replicate an ordinary table.';
	ELSIF c.relkind <> 'r' THEN
		kind := CASE c.relkind
			WHEN 'v' THEN 'a view' WHEN 'm' THEN 'a materialized view'
			WHEN 'f' THEN 'a foreign table' WHEN 'S' THEN 'a sequence'
			WHEN 'i' THEN 'an index' WHEN 'c' THEN 'a composite type'
			ELSE 'not a table' END;
		RAISE EXCEPTION 'cannot replicate %: it is %', rel, kind
			USING ERRCODE = 'wrong_object_type',
				  HINT = 'Only ordinary tables can be replicated.';
	END IF;
	IF c.relpersistence = 't' THEN
		RAISE EXCEPTION 'cannot replicate temporary table %', rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Temporary tables are private to one session.';
	ELSIF c.relpersistence = 'u' THEN
		RAISE EXCEPTION 'cannot replicate unlogged table %', rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Changes to unlogged tables are not written to the WAL, which is where replication reads them.',
				  HINT = format('Run ALTER TABLE %s SET LOGGED first.', rel);
	END IF;
	IF c.relnamespace IN ('pg_catalog'::regnamespace, 'edge_crdt'::regnamespace,
						  'information_schema'::regnamespace) THEN
		RAISE EXCEPTION 'cannot replicate system table %', rel
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF EXISTS (SELECT 1 FROM edge_crdt.replicated_table WHERE relid = rel) THEN
		RAISE EXCEPTION 'table % is already replicated', rel
			USING ERRCODE = 'duplicate_object';
	END IF;

	SELECT array_agg(a.attname::text ORDER BY k.ord) INTO pkcols
	FROM pg_index i
	CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
	WHERE i.indrelid = rel AND i.indisprimary;
	IF pkcols IS NULL THEN
		RAISE EXCEPTION 'cannot replicate table % without a primary key', rel
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  DETAIL = 'Rows are matched across nodes by primary key.',
				  HINT = format('Add one, e.g. ALTER TABLE %s ADD PRIMARY KEY (...), with keys that cannot collide across regions (uuids).', rel);
	END IF;
	IF EXISTS (SELECT 1 FROM pg_index i
			   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			   JOIN edge_crdt.crdt_type t ON t.typ = a.atttypid
			   WHERE i.indrelid = rel AND i.indisprimary) THEN
		RAISE EXCEPTION 'cannot replicate table %: its primary key contains a CRDT column', rel
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'CRDT values change by merging, so they cannot identify a row.';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = rel
			   AND attname = '_edge_crdt' AND NOT attisdropped) THEN
		RAISE EXCEPTION 'cannot replicate table %: it already has a column named "_edge_crdt"', rel
			USING ERRCODE = 'duplicate_column',
				  HINT = 'That column name is reserved for edge_crdt metadata.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM edge_crdt.node) THEN
		RAISE EXCEPTION 'this database is not an edge_crdt node yet'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'Call edge_crdt.create_node(''<node name>'') first.';
	END IF;

	EXECUTE format('ALTER TABLE %s ADD COLUMN _edge_crdt edge_crdt.rowmeta', rel);
	EXECUTE format('UPDATE %s SET _edge_crdt = edge_crdt.rowmeta_initial(%L::regclass)',
				   rel, rel::oid);
	-- Named to fire after the table's own BEFORE triggers (they fire in name
	-- order), so the stamps describe the row as it is finally written.
	EXECUTE format('CREATE TRIGGER zz_edge_crdt_capture BEFORE INSERT OR UPDATE OR DELETE ON %s '
				   'FOR EACH ROW EXECUTE FUNCTION edge_crdt.capture_trigger()', rel);
	EXECUTE format('CREATE TRIGGER zz_edge_crdt_truncate BEFORE TRUNCATE ON %s '
				   'FOR EACH STATEMENT EXECUTE FUNCTION edge_crdt.truncate_trigger()', rel);
	INSERT INTO edge_crdt.replicated_table (relid) VALUES (rel);
	-- Peers replicate it too and copy its rows (sql/install/87_ddl.sql).
	PERFORM edge_crdt.emit_message('T', jsonb_build_object(
		'table', format('%I.%I', (SELECT nspname FROM pg_namespace WHERE oid = c.relnamespace),
						c.relname),
		'columns', edge_crdt.table_columns(rel))::text);
END;
$$;
COMMENT ON FUNCTION edge_crdt.replicate_table(regclass) IS
	'add a table to the replication set; peers that have the same table replicate it too and copy its rows';
REVOKE ALL ON FUNCTION edge_crdt.replicate_table(regclass) FROM PUBLIC;

CREATE FUNCTION edge_crdt.unreplicate_table(rel regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM edge_crdt.replicated_table WHERE relid = rel) THEN
		RAISE EXCEPTION 'table % is not replicated', rel
			USING ERRCODE = 'undefined_object';
	END IF;
	EXECUTE format('DROP TRIGGER zz_edge_crdt_capture ON %s', rel);
	EXECUTE format('DROP TRIGGER zz_edge_crdt_truncate ON %s', rel);
	EXECUTE format('ALTER TABLE %s DROP COLUMN _edge_crdt', rel);
	DELETE FROM edge_crdt.tombstone WHERE relid = rel;
	DELETE FROM edge_crdt.replicated_table WHERE relid = rel;
END;
$$;
COMMENT ON FUNCTION edge_crdt.unreplicate_table(regclass) IS
	'remove a table from the replication set (its metadata and tombstones are dropped)';
REVOKE ALL ON FUNCTION edge_crdt.unreplicate_table(regclass) FROM PUBLIC;

CREATE VIEW edge_crdt.tables AS
	SELECT r.relid AS table_name,
		   ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
				 WHERE a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
				   AND a.attname <> '_edge_crdt'
				 ORDER BY a.attnum) AS columns,
		   ARRAY(SELECT a.attname FROM pg_catalog.pg_attribute a
				 JOIN edge_crdt.crdt_type t ON t.typ = a.atttypid
				 WHERE a.attrelid = r.relid AND a.attnum > 0 AND NOT a.attisdropped
				 ORDER BY a.attnum) AS crdt_columns,
		   r.since
	FROM edge_crdt.replicated_table r;
COMMENT ON VIEW edge_crdt.tables IS 'the replicated tables';

-- Dropping a replicated table takes its registration and tombstones along.
CREATE FUNCTION edge_crdt.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM edge_crdt.tombstone t
	USING pg_event_trigger_dropped_objects() d
	WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND t.relid = d.objid;
	DELETE FROM edge_crdt.replicated_table r
	USING pg_event_trigger_dropped_objects() d
	WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND r.relid::oid = d.objid;
END;
$$;
CREATE EVENT TRIGGER edge_crdt_sql_drop ON sql_drop
	EXECUTE FUNCTION edge_crdt.on_sql_drop();

