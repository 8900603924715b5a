-- edge_crdt install script, assembled from the files in sql/install by the Makefile.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION edge_crdt" to load this file. \quit

/*
 * Registry of CRDT column types.  The capture triggers and the apply look up
 * a column's merge and partial-order functions here instead of knowing any
 * type's internals.  inflation_hint is shown when a local write is not an
 * inflation of the old state; "{column}" is replaced by the column name.
 */
CREATE TABLE edge_crdt.crdt_type (
	typ				regtype PRIMARY KEY,
	merge_fn		regprocedure NOT NULL,
	leq_fn			regprocedure NOT NULL,
	inflation_hint	text NOT NULL
);
COMMENT ON TABLE edge_crdt.crdt_type IS
	'CRDT column types known to edge_crdt and their merge and partial-order functions';

