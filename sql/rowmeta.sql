--
-- edge_crdt.rowmeta binary form (binary COPY: what the bulk initial copy
-- moves): a round trip keeps the value, and malformed or hostile bytes are
-- rejected with a clear error.
--
CREATE TABLE rm_t (id int PRIMARY KEY, a text, b int);
SELECT edge_crdt.replicate_table('rm_t');
INSERT INTO rm_t VALUES (1, 'x', 1), (2, 'y', 2);
UPDATE rm_t SET b = 20 WHERE id = 2;		-- two versions in one row
DELETE FROM rm_t WHERE id = 1;
INSERT INTO rm_t VALUES (1, 'again', 3);	-- causal length 3
ALTER TABLE rm_t ADD COLUMN c int;			-- a column without a version

-- Through a server-side file in the data directory.
CREATE TABLE rm_copy (id int, meta edge_crdt.rowmeta);
CREATE FUNCTION pg_temp.rm_file() RETURNS text LANGUAGE sql
	AS $$ SELECT current_setting('data_directory') || '/rm_test.bin' $$;
DO $$ BEGIN
	EXECUTE format('COPY (SELECT id, _edge_crdt FROM rm_t) TO %L (FORMAT binary)', pg_temp.rm_file());
	EXECUTE format('COPY rm_copy FROM %L (FORMAT binary)', pg_temp.rm_file());
END $$;
SELECT t.id, c.meta::text = t._edge_crdt::text AS same, edge_crdt.row_cl(c.meta) AS cl,
	   (SELECT count(*) FROM edge_crdt.row_versions('rm_t', c.meta)) AS versions
FROM rm_t t JOIN rm_copy c USING (id) ORDER BY id;

-- One binary COPY row holding a single rowmeta field with these bytes (hex).
CREATE FUNCTION pg_temp.rm_load(hex text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	payload	bytea := decode(replace(hex, ' ', ''), 'hex');
	lo		oid;
BEGIN
	lo := lo_from_bytea(0, decode('5047434f50590aff0d0a00' || '00000000' || '00000000' || '0001', 'hex')
		|| int4send(length(payload)) || payload || decode('ffff', 'hex'));
	PERFORM lo_export(lo, pg_temp.rm_file());
	PERFORM lo_unlink(lo);
	TRUNCATE rm_copy;
	EXECUTE format('COPY rm_copy (meta) FROM %L (FORMAT binary)', pg_temp.rm_file());
	RETURN (SELECT meta::text FROM rm_copy);
END;
$$;

-- well formed: cl 3, column 1 at (7, 11), column 2 without a version
SELECT pg_temp.rm_load('01 0000000000000003 0002 0000000000000007 0000000b 0000000000000000 00000000');
\set SHOW_CONTEXT never
SELECT pg_temp.rm_load('01');										-- truncated
SELECT pg_temp.rm_load('02 0000000000000003 0000');					-- unknown format
SELECT pg_temp.rm_load('01 0000000000000000 0000');					-- cl 0
SELECT pg_temp.rm_load('01 0000000000000003 ffff');					-- too many columns
SELECT pg_temp.rm_load('01 0000000000000003 0002 0000000000000007 0000000b');	-- count vs length
SELECT pg_temp.rm_load('01 0000000000000003 0001 0000000000000007 00000000');	-- clock, no node
SELECT pg_temp.rm_load('01 0000000000000003 0001 fffffffffffffff9 0000000b');	-- negative clock
SELECT pg_temp.rm_load('01 0000000000000003 0001 0000000000000007 0000000b 00');	-- trailing byte
\set SHOW_CONTEXT errors

DROP TABLE rm_copy;
SELECT edge_crdt.unreplicate_table('rm_t');
DROP TABLE rm_t;
