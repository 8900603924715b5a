
/*
 * Apply (replicator/apply.c): one change-set message merged into the local
 * tables from SQL, by the same code the replicator uses.  It writes any
 * replicated table without checking the caller's privileges on it, hence
 * revoked from PUBLIC.
 */

CREATE FUNCTION edge_crdt.apply_change(data bytea) RETURNS void
	AS 'MODULE_PATHNAME', 'apply_change_sql' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION edge_crdt.apply_change(bytea) IS
	'merge one row or delete change-set message into the local tables, as the replicator would';
REVOKE ALL ON FUNCTION edge_crdt.apply_change(bytea) FROM PUBLIC;
