/*-------------------------------------------------------------------------
 * apply.h
 *	  Merge of remote row changes into local tables (replicator/apply.c).
 *
 * The peer worker owns the transaction: it starts one local transaction per
 * remote one (BEGIN .. COMMIT), with session_replication_role = replica so
 * the capture triggers stay quiet, and the replication origin of the peer
 * set up so our own output plugin never sends these changes back.  Within
 * it, each ROW and DELETE message goes through ApplyWireChange, which
 * merges it by the lattice of DESIGN.md section 2 and advances the hybrid
 * logical clock past every version it applies.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/apply.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_APPLY_H
#define EDGE_CRDT_APPLY_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "nodes/pg_list.h"

#include "edge_crdt/wire.h"

typedef struct ApplyStats
{
	int64		rows_inserted;		/* no local row, or a newer incarnation */
	int64		rows_updated;		/* same incarnation, some column won */
	int64		rows_deleted;
	int64		rows_skipped;		/* local state already includes it */
	int64		conflicts;			/* columns where the local value won or merged */
} ApplyStats;

/*
 * Apply one WIRE_ROW or WIRE_DELETE message.  peer names the sender in
 * errors (e.g. a clock beyond edge_crdt.max_clock_skew); peer_node is its
 * node id (0 if unknown): a column version of the sender's own that loses
 * to ours is a conflict, an older version it merely carries is not.
 * commit_lsn is the position of the sender's transaction in its WAL
 * (BEGIN's final_lsn), InvalidXLogRecPtr when the change does not come from
 * the sender's stream (initial copy, retry): a tombstone keeps it, for
 * tombstone collection.  Raises an ERROR when the change cannot be applied
 * (missing table or column, type mismatch, constraint violation); the
 * caller decides what to do with it.
 */
extern void ApplyWireChange(const WireMessage *msg, const char *peer,
							int32 peer_node, XLogRecPtr commit_lsn,
							ApplyStats *stats);

/*
 * Is this error about the change itself (a constraint, a missing table or
 * column, a bad value), so that the change is quarantined and the rest goes
 * on?  Other errors restart the worker.
 */
extern bool ApplyErrorIsQuarantinable(ErrorData *edata);

/*
 * Record a change that could not be applied in edge_crdt.apply_errors,
 * with its messages (a List of bytea in the wire format), in the current
 * transaction.
 */
extern void ApplyErrorRecord(const char *peer, int32 origin_node,
							 XLogRecPtr commit_lsn, TimestampTz commit_time,
							 ErrorData *edata, List *messages);

#endif							/* EDGE_CRDT_APPLY_H */
