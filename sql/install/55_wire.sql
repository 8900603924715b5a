/*
 * Change-set wire format (src/wire): the renderer DBAs and tests use to
 * read what the output plugin sends.  STABLE, not IMMUTABLE: it looks up
 * the message's type names in the catalogs and calls their receive and
 * output functions, whose results depend on settings such as DateStyle.
 */

CREATE FUNCTION edge_crdt.changeset_to_json(data bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'changeset_to_json'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION edge_crdt.changeset_to_json(bytea) IS
	'render one edge_crdt change-set wire message (begin, commit, row, delete or message) as jsonb';
