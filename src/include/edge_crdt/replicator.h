/*-------------------------------------------------------------------------
 * replicator.h
 *	  Background workers that keep every region's copy converged.
 *
 * Vocabulary:
 *	  launcher	one per cluster (registered in _PG_init).  Watches the list
 *				of databases and starts a manager for each database that
 *				may have peers.
 *	  manager	one per database with peers.  Reads edge_crdt.peer once a
 *				second (or when woken) and keeps one peer worker running per
 *				enabled peer, restarting failed ones with backoff.  Exits
 *				when the database has no extension or no peers, so it never
 *				holds a connection that would block DROP DATABASE for
 *				nothing.
 *	  peer worker
 *				one per (database, peer).  Streams the peer's changes over a
 *				libpq replication connection and applies them.
 *
 * Shared state: a ReplicatorShared struct with one ManagerSlot per database
 * and one PeerSlot per peer worker, all protected by ReplicatorShared->lock
 * (an LWLock).  Counters in a PeerSlot are written only by its worker.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/replicator.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_REPLICATOR_H
#define EDGE_CRDT_REPLICATOR_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

#define REPLICATOR_MAX_DATABASES	32
#define REPLICATOR_MAX_PEERS		64
#define REPLICATOR_ERROR_LEN		512

typedef enum PeerState
{
	PEER_STOPPED = 0,
	PEER_CONNECTING,
	PEER_STREAMING,
	PEER_ERROR,
	PEER_SYNCING				/* copying tables before streaming */
} PeerState;

typedef struct ManagerSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* 0 while not running */
	Latch	   *latch;
	TimestampTz next_probe;		/* launcher: when to look at this db again */
	TimestampTz starting_since; /* pid is -1 while starting */
} ManagerSlot;

typedef struct PeerSlot
{
	Oid			dboid;			/* InvalidOid: free */
	int32		peer_node;
	char		peer_name[64];
	pid_t		pid;
	PeerState	state;
	TimestampTz starting_since; /* pid is -1 while starting */
	int			failures;		/* consecutive, for the restart backoff */
	TimestampTz restart_after;	/* manager will not start it before */
	char		last_error[REPLICATOR_ERROR_LEN];
	TimestampTz last_error_time;
	XLogRecPtr	received_lsn;	/* end of what the peer sent */
	XLogRecPtr	peer_wal_end;	/* the peer's WAL end, from its messages */
	XLogRecPtr	applied_lsn;	/* end of the last applied transaction */
	TimestampTz last_commit_time;	/* origin commit time of it */
	TimestampTz last_apply_time;	/* when we committed it */
	int64		txns_applied;
	int64		changes_applied;
	int64		conflicts;
} PeerSlot;

typedef struct ReplicatorShared
{
	LWLock	   *lock;
	Latch	   *launcher_latch;
	ManagerSlot managers[REPLICATOR_MAX_DATABASES];
	PeerSlot	peers[REPLICATOR_MAX_PEERS];
} ReplicatorShared;

extern ReplicatorShared *replicator;

extern Size ReplicatorShmemSize(void);
extern void ReplicatorShmemInit(void);
extern void ReplicatorRegisterLauncher(void);

/* Ask the launcher and this database's manager to look again now. */
extern void ReplicatorWake(void);

/*
 * Keep the manager from (re)starting the worker of this peer for a while
 * and stop it if running; returns once it has exited (or timeout).
 */
extern void ReplicatorStopPeerWorker(Oid dboid, int32 peer_node, int hold_ms);

/* A peer worker is exiting (failed: with an error). */
extern void ReplicatorPeerExited(PeerSlot *slot, bool failed);

/*
 * Forget the restart hold and backoff of a peer: it was added again or
 * resumed, so its worker should start at once.
 */
extern void ReplicatorResetPeer(Oid dboid, int32 peer_node);

/* Entry points (bgw_function_name). */
extern PGDLLEXPORT void edge_crdt_launcher_main(Datum arg);
extern PGDLLEXPORT void edge_crdt_manager_main(Datum arg);
extern PGDLLEXPORT void edge_crdt_peer_main(Datum arg);

/* Replication origin / slot names shared by both ends. */
#define EDGE_CRDT_SLOT_FMT		"edge_crdt_%d"	/* on the peer: our node id */
#define EDGE_CRDT_ORIGIN_FMT	"edge_crdt_%d"	/* here: the peer's node id */

#endif							/* EDGE_CRDT_REPLICATOR_H */
