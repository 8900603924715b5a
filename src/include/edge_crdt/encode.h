/*-------------------------------------------------------------------------
 * encode.h
 *	  Rows and tombstones of replicated tables as wire messages.
 *
 * Two producers send the state of replicated tables to peers: the output
 * plugin (changes, from WAL) and table_snapshot (whole tables, for the
 * initial copy).  Both describe a row, and a tombstone, the same way, here.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/encode.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_ENCODE_H
#define EDGE_CRDT_ENCODE_H

#include "access/htup.h"
#include "utils/relcache.h"

#include "edge_crdt/wire.h"

typedef enum EncodeRelKind
{
	ENCODE_NOTHING,				/* not replicated: nothing to send */
	ENCODE_ROWS,				/* a replicated table */
	ENCODE_TOMBSTONES			/* edge_crdt.tombstone */
} EncodeRelKind;

/*
 * What rel's changes become.  Reads only the relcache and syscaches, so it
 * works under the historic snapshot of logical decoding.
 */
extern EncodeRelKind EncodeKindOf(Relation rel);

/*
 * Fill msg with a ROW message for tuple, a row of replicated table rel.
 * Everything is allocated in the current memory context; msg points into
 * it.  With from_wal, a value TOASTed on disk is left out (WIRE_UNCHANGED):
 * the WAL of an UPDATE carries only a pointer to it, which the capture
 * trigger prevents for replicated tables; a table scan detoasts instead.
 */
extern void EncodeRow(Relation rel, HeapTuple tuple, bool from_wal,
					  WireMessage *msg);

/*
 * Fill msg with the DELETE message that a row of edge_crdt.tombstone stands
 * for.  Returns false when the tombstone's table no longer exists or is no
 * longer replicated (nothing to send).
 */
extern bool EncodeTombstone(TupleDesc tombdesc, HeapTuple tuple,
							WireMessage *msg);

#endif							/* EDGE_CRDT_ENCODE_H */
