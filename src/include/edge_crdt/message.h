/*-------------------------------------------------------------------------
 * message.h
 *	  Transactional logical messages that travel in the change stream.
 *
 * Besides rows and tombstones, a node can put a message into its change
 * stream: a transactional logical message with prefix "edge_crdt"
 * (pg_logical_emit_message), which the output plugin ships as a wire
 * MESSAGE at the position of the transaction that wrote it.  The first
 * byte of the content says what it is; the rest belongs to the module that
 * handles that kind:
 *
 *	  'S'  a message published on a global stream (src/stream)
 *	  'D'  DDL to run at this point of the stream (replicate_ddl), as JSON:
 *		   {"search_path": ..., "command": ...}
 *	  'T'  a table joined the replication set on the sender (replicate_table),
 *		   as JSON: {"table": "nsp.rel", "columns": [[name, type], ...],
 *		   "reply": bool}; receivers replicate it too and copy its rows
 *	  'P'  nothing to apply: a marker whose only effect is that the peers'
 *		   confirmed positions move past it (join waits for that)
 *	  'F'  the sender's frontier, as JSON: {"v": 1, "applied": {"<node id>":
 *		   "<lsn>", ...}}, how far it has applied each of its peers
 *		   (tombstone collection, sql/install/88_gc.sql)
 *
 * A receiving node applies the message inside the local transaction of the
 * remote one, so its effect commits atomically with that transaction's rows
 * and exactly once.  An unknown kind (a newer peer) is an error the
 * replicator quarantines, never silently dropped.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/message.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_MESSAGE_H
#define EDGE_CRDT_MESSAGE_H

#include "edge_crdt/wire.h"

#define EDGE_CRDT_MESSAGE_PREFIX	"edge_crdt"

typedef enum EdgeCrdtMessageKind
{
	EDGE_CRDT_MSG_STREAM = 'S',
	EDGE_CRDT_MSG_DDL = 'D',
	EDGE_CRDT_MSG_MARKER = 'P',
	EDGE_CRDT_MSG_TABLE = 'T',
	EDGE_CRDT_MSG_FRONTIER = 'F'
} EdgeCrdtMessageKind;

/* Write a message of this kind into the current transaction's WAL. */
extern void EdgeCrdtEmitMessage(EdgeCrdtMessageKind kind, const char *body,
								Size len);

/*
 * Apply a WIRE_MESSAGE received from a peer (replicator/apply_message.c).
 * origin_node is the node whose transaction wrote it.
 */
extern void ApplyWireMessage(const WireMessage *msg, const char *peer,
							 int32 origin_node);

/*
 * Did a message applied in this transaction queue an initial copy (a table
 * newly replicated by the sender)?  The peer worker then restarts after
 * committing, to copy before streaming on.  Reading it clears it.
 */
extern bool ApplyCopyRequested(void);

#endif							/* EDGE_CRDT_MESSAGE_H */
