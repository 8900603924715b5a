/*-------------------------------------------------------------------------
 * peer.h
 *	  Inside the peer worker: talking to the peer, and the initial copy.
 *
 * replicator/peer.c runs the worker (connect, sync, stream, apply);
 * replicator/sync.c copies the tables a peer has and we lack before the
 * stream starts.  Both talk over the worker's one replication connection,
 * waiting on the latch so that a stop request is honoured at once.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/peer.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_PEER_H
#define EDGE_CRDT_PEER_H

#include "datatype/timestamp.h"
#include "libpq-fe.h"

/* When a reply from the peer is overdue (wal_receiver_timeout, or 10 s). */
extern TimestampTz PeerReplyDeadline(void);

/* Wait for the socket (WL_SOCKET_*), on the latch; ERROR at the deadline. */
extern void PeerWaitSocket(PGconn *conn, int events, TimestampTz deadline,
						   const char *what);

/*
 * Run one command and return its last result (a PGRES_COPY_* result at
 * once); anything but the expected status, or a broken connection, is an
 * ERROR "could not <what> on peer ...".
 */
extern PGresult *PeerExec(PGconn *conn, const char *sql, ExecStatusType expect,
						  TimestampTz deadline, const char *what);

/* Does this peer have tables we still have to copy from it? */
extern bool SyncPending(int32 peer_node);

/*
 * Copy every pending table from the peer, inside one snapshot: that of our
 * replication slot's creation when create_slot (the slot does not exist
 * yet), else a fresh one (see sync.c for why either is enough).  Runs with
 * the peer's replication origin set up, so copied rows are not sent on to
 * other nodes, and before the stream starts.
 */
extern void SyncTables(PGconn *conn, const char *peer, int32 peer_node,
					   int32 our_node, bool create_slot);

#endif							/* EDGE_CRDT_PEER_H */
