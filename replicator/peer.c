/*-------------------------------------------------------------------------
 * peer.c
 *	  The peer worker: streams one peer's change sets over a libpq
 *	  replication connection and applies them, one local transaction per
 *	  remote transaction.
 *
 * NOTES
 *	  Exactly once: progress is the replication origin edge_crdt_<peer id>.
 *	  replorigin_session_origin_lsn is set to the remote end LSN right before
 *	  each local commit, so the data and the progress commit atomically; a
 *	  restart streams from the origin's position and never re-applies a
 *	  committed transaction (re-applying would be harmless for plain columns,
 *	  but not for counters merged from a forwarding peer later).
 *
 *	  Local commits use synchronous_commit = off; the flush position we
 *	  report to the peer (which lets it recycle WAL) only covers remote
 *	  transactions whose local commit record is already flushed, tracked in
 *	  a small queue of (remote end, local end) pairs as core's apply worker
 *	  does.
 *
 *	  A remote transaction whose apply fails with a data error (a constraint
 *	  the merge cannot satisfy, a missing table or column, a bad value) is
 *	  quarantined: the local transaction is rolled back, and a new one
 *	  records every message of the remote transaction in
 *	  edge_crdt.apply_errors and advances the origin past it, so nothing is
 *	  half-applied, nothing is lost, and later transactions keep flowing.
 *	  retry_apply_error() re-applies it once the DBA fixed the cause.  Any
 *	  other error (connection, protocol, a peer clock beyond
 *	  edge_crdt.max_clock_skew, resources) stops the worker with the error
 *	  recorded in edge_crdt.peers; the manager restarts it with exponential
 *	  backoff.
 *
 * IDENTIFICATION
 *	  replicator/peer.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "libpq-fe.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/origin.h"
#include "replication/walreceiver.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "edge_crdt/apply.h"
#include "edge_crdt/message.h"
#include "edge_crdt/peer.h"
#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/node.h"
#include "edge_crdt/replicator.h"
#include "edge_crdt/wire.h"

#define FEEDBACK_INTERVAL_MS	1000
#define FEEDBACK_MIN_INTERVAL_MS 50

typedef struct FlushPending
{
	XLogRecPtr	remote_end;
	XLogRecPtr	local_end;
} FlushPending;

static PeerSlot *my_slot = NULL;
static PGconn *peer_conn = NULL;
static char peer_name[64];
static bool in_remote_txn = false;
static List *flush_pending = NIL;	/* of FlushPending, in commit order */
static XLogRecPtr last_received = InvalidXLogRecPtr;
static XLogRecPtr last_flushed_reported = InvalidXLogRecPtr;
static TimestampTz last_feedback = 0;
static TimestampTz last_heard = 0;	/* when the peer last sent something */
static bool heard = false;		/* it did, and last_heard is not set yet */
static MemoryContext message_cxt = NULL;
static MemoryContext txn_cxt = NULL;	/* the current remote transaction */
static List *txn_messages = NIL;	/* its messages, as bytea, for quarantine */
static ErrorData *txn_error = NULL; /* set once it failed to apply */
static XLogRecPtr txn_commit_lsn;	/* its commit position on the peer */
static volatile sig_atomic_t got_sigterm = false;

static void peer_on_exit(int code, Datum arg);
static void peer_record_error(const char *msg);
static PGconn *peer_connect(const char *dsn, int32 our_node, int32 peer_node);
static bool peer_check_slot(int32 our_node, bool sync_pending);
static void peer_stream(int32 our_node);
static void peer_handle_message(const char *data, int len);
static void peer_send_feedback(bool force, bool request_reply);

/* Being stopped (pause, remove, shutdown) is not a failure to back off from. */
static void
peer_sigterm(SIGNAL_ARGS)
{
	got_sigterm = true;
	die(postgres_signal_arg);
}

static void
peer_on_exit(int code, Datum arg)
{
	if (peer_conn)
	{
		PQfinish(peer_conn);
		peer_conn = NULL;
	}
	if (my_slot)
		ReplicatorPeerExited(my_slot, code != 0 && !got_sigterm);
}

static void
peer_record_error(const char *msg)
{
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	strlcpy(my_slot->last_error, msg, sizeof(my_slot->last_error));
	my_slot->last_error_time = GetCurrentTimestamp();
	my_slot->state = PEER_ERROR;
	LWLockRelease(replicator->lock);
}

static void
peer_set_state(PeerState state)
{
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	my_slot->state = state;
	LWLockRelease(replicator->lock);
}

void
edge_crdt_peer_main(Datum arg)
{
	int			slotno = DatumGetInt32(arg);
	Oid			dboid;
	int32		peer_node;
	int32		our_node = 0;
	char	   *dsn = NULL;
	RepOriginId originid = InvalidRepOriginId;
	bool		sync_pending;
	bool		slot_exists;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, peer_sigterm);
	BackgroundWorkerUnblockSignals();

	my_slot = &replicator->peers[slotno];
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	my_slot->pid = MyProcPid;
	my_slot->state = PEER_CONNECTING;
	dboid = my_slot->dboid;
	peer_node = my_slot->peer_node;
	strlcpy(peer_name, my_slot->peer_name, sizeof(peer_name));
	LWLockRelease(replicator->lock);
	before_shmem_exit(peer_on_exit, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("edge_crdt peer");

	/* Apply sessions: quiet capture triggers, no search_path surprises. */
	SetConfigOption("session_replication_role", "replica", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	message_cxt = AllocSetContextCreate(TopMemoryContext, "edge_crdt peer message",
										ALLOCSET_DEFAULT_SIZES);
	txn_cxt = AllocSetContextCreate(TopMemoryContext, "edge_crdt peer transaction",
									ALLOCSET_DEFAULT_SIZES);

	PG_TRY();
	{
		char		origin_name[NAMEDATALEN];

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		our_node = EdgeCrdtLocalNodeId(false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		{
			Oid			types[1] = {INT4OID};
			Datum		values[1] = {Int32GetDatum(peer_node)};

			if (SPI_execute_with_args("SELECT dsn FROM edge_crdt.peer WHERE node_id = $1",
									  1, types, values, NULL, true, 1) != SPI_OK_SELECT ||
				SPI_processed != 1)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_OBJECT),
						 errmsg("edge_crdt peer \"%s\" no longer exists", peer_name)));
			dsn = MemoryContextStrdup(TopMemoryContext,
									  SPI_getvalue(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1));
		}
		SPI_finish();
		snprintf(origin_name, sizeof(origin_name), EDGE_CRDT_ORIGIN_FMT, peer_node);
		originid = replorigin_by_name(origin_name, true);
		if (originid == InvalidRepOriginId)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("replication origin \"%s\" of peer \"%s\" is missing",
							origin_name, peer_name),
					 errhint("Remove the peer with edge_crdt.remove_peer() and add it again.")));
		sync_pending = SyncPending(peer_node);
		PopActiveSnapshot();
		CommitTransactionCommand();

		peer_conn = peer_connect(dsn, our_node, peer_node);
		slot_exists = peer_check_slot(our_node, sync_pending);

		/* Copied and streamed rows are the peer's: never sent on. */
		replorigin_session_setup(originid);
		replorigin_session_origin = originid;
		if (sync_pending)
		{
			peer_set_state(PEER_SYNCING);
			SyncTables(peer_conn, peer_name, peer_node, our_node, !slot_exists);
		}
		peer_stream(our_node);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		peer_record_error(edata->message ? edata->message : "unknown error");
		PG_RE_THROW();
	}
	PG_END_TRY();
	proc_exit(0);
}

/*
 * Wait until the connection's socket is ready as asked (or time runs out),
 * sleeping on the latch so that a stop request (pause, remove, shutdown)
 * is honoured at once even while the peer is unreachable.
 */
void
PeerWaitSocket(PGconn *conn, int events, TimestampTz deadline, const char *what)
{
	for (;;)
	{
		long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		int			rc;

		CHECK_FOR_INTERRUPTS();
		if (ms <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("timed out %s peer \"%s\"", what, peer_name)));
		rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH | events,
							   PQsocket(conn), Min(ms, 1000L), PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
			ResetLatch(MyLatch);
		if (rc & events)
			return;
	}
}

/* When a reply from the peer is overdue: wal_receiver_timeout, 10 s if that is off. */
TimestampTz
PeerReplyDeadline(void)
{
	return TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
									   wal_receiver_timeout > 0 ? wal_receiver_timeout : 10000);
}

/*
 * Run one command on the peer, interruptibly and giving up at the
 * deadline, and return its last result (a COPY result at once, the data
 * follows it).  Anything but the expected status is an ERROR saying what we
 * were trying to do.
 */
PGresult *
PeerExec(PGconn *conn, const char *sql, ExecStatusType expect,
		 TimestampTz deadline, const char *what)
{
	PGresult   *res;
	PGresult   *last = NULL;
	bool		broken = !PQsendQuery(conn, sql);

	while (!broken)
	{
		while (PQisBusy(conn) && !broken)
		{
			PeerWaitSocket(conn, WL_SOCKET_READABLE, deadline, "waiting for");
			broken = PQconsumeInput(conn) == 0;
		}
		if (broken || (res = PQgetResult(conn)) == NULL)
			break;
		if (last)
			PQclear(last);
		last = res;
		if (PQresultStatus(res) == PGRES_COPY_BOTH ||
			PQresultStatus(res) == PGRES_COPY_OUT)
			break;				/* the data follows; no more results now */
	}
	if (broken || last == NULL || PQresultStatus(last) != expect)
	{
		char	   *msg = pchomp(PQerrorMessage(conn));

		if (last)
			PQclear(last);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not %s on peer \"%s\": %s", what, peer_name, msg),
				 errcontext("command on the peer: %s", sql)));
	}
	return last;
}

/*
 * Connect in replication=database mode and make sure the other end is the
 * node we think it is: not ourselves, not a clone with our id.  Everything
 * here waits on the latch, bounded by wal_receiver_timeout (10 s when that
 * is off).
 */
static PGconn *
peer_connect(const char *dsn, int32 our_node, int32 peer_node)
{
	const char *keys[4];
	const char *vals[4];
	char		appname[NAMEDATALEN];
	PGconn	   *conn;
	PGresult   *res;
	int32		remote_node;
	TimestampTz deadline;
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;

	deadline = PeerReplyDeadline();
	snprintf(appname, sizeof(appname), "edge_crdt_%d", our_node);
	keys[0] = "dbname";
	vals[0] = dsn;
	keys[1] = "replication";
	vals[1] = "database";
	keys[2] = "fallback_application_name";
	vals[2] = appname;
	keys[3] = NULL;
	vals[3] = NULL;

	conn = PQconnectStartParams(keys, vals, true);
	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
		status = PGRES_POLLING_FAILED;
	while (status != PGRES_POLLING_OK && status != PGRES_POLLING_FAILED)
	{
		peer_conn = conn;		/* closed by peer_on_exit if we are stopped */
		PeerWaitSocket(conn, status == PGRES_POLLING_READING ?
						 WL_SOCKET_READABLE : WL_SOCKET_WRITEABLE,
						 deadline, "connecting to");
		status = PQconnectPoll(conn);
	}
	if (status == PGRES_POLLING_FAILED)
	{
		char	   *msg = conn ? pchomp(PQerrorMessage(conn)) : "out of memory";

		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not connect to edge_crdt peer \"%s\": %s",
						peer_name, msg)));
	}
	peer_conn = conn;

	res = PeerExec(conn, "SELECT node_id FROM edge_crdt.local_node", PGRES_TUPLES_OK,
				   deadline, "read the node identity");
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("peer \"%s\" is not an edge_crdt node any more", peer_name),
				 errhint("Remove the peer and add it again if the peer database was replaced.")));
	}
	remote_node = pg_strtoint32(PQgetvalue(res, 0, 0));
	PQclear(res);
	if (remote_node == our_node)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("peer \"%s\" has the same node id %d as this node",
						peer_name, our_node),
				 errdetail("Either the peer is this database itself, or one database was cloned from the other."),
				 errhint("Give the clone a new identity: drop and recreate the extension there, then call edge_crdt.create_node().")));
	if (remote_node != peer_node)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("peer \"%s\" now has node id %d, expected %d",
						peer_name, remote_node, peer_node),
				 errhint("Remove the peer and add it again if the peer database was replaced.")));
	return conn;
}

/*
 * Does our slot on the peer exist?  A slot the peer invalidated (it removed
 * WAL we had not received, max_slot_wal_keep_size) means changes are lost
 * to us: only a fresh copy can repair that.  A missing slot is created by
 * the initial copy; without one pending, it was dropped behind our back.
 */
static bool
peer_check_slot(int32 our_node, bool sync_pending)
{
	char		sql[256];
	PGresult   *res;
	bool		exists;
	bool		lost;

	snprintf(sql, sizeof(sql),
			 "SELECT wal_status FROM pg_catalog.pg_replication_slots "
			 "WHERE slot_name = '" EDGE_CRDT_SLOT_FMT "'", our_node);
	res = PeerExec(peer_conn, sql, PGRES_TUPLES_OK, PeerReplyDeadline(),
				   "read the replication slots");
	exists = PQntuples(res) == 1;
	lost = exists && !PQgetisnull(res, 0, 0) && strcmp(PQgetvalue(res, 0, 0), "lost") == 0;
	PQclear(res);
	if (lost)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("replication slot \"" EDGE_CRDT_SLOT_FMT "\" on peer \"%s\" was invalidated",
						our_node, peer_name),
				 errdetail("The peer removed WAL this node had not received yet (max_slot_wal_keep_size)."),
				 errhint("Call edge_crdt.resync_peer('%s') to copy the peer's data again.",
						 peer_name)));
	if (!exists && !sync_pending)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("replication slot \"" EDGE_CRDT_SLOT_FMT "\" on peer \"%s\" does not exist",
						our_node, peer_name),
				 errhint("Call edge_crdt.resync_peer('%s') to create it and copy the peer's data again.",
						 peer_name)));
	return exists;
}

static void
peer_stream(int32 our_node)
{
	XLogRecPtr	startpos;
	char		cmd[256];
	PGresult   *res;

	startpos = replorigin_session_get_progress(false);

	snprintf(cmd, sizeof(cmd),
			 "START_REPLICATION SLOT \"" EDGE_CRDT_SLOT_FMT "\" LOGICAL %X/%X "
			 "(proto_version '%d', subscriber_node_id '%d', batch 'on')",
			 our_node, LSN_FORMAT_ARGS(startpos), WIRE_PROTO_VERSION, our_node);
	res = PeerExec(peer_conn, cmd, PGRES_COPY_BOTH, PeerReplyDeadline(),
				   "start streaming");
	PQclear(res);
	peer_set_state(PEER_STREAMING);
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	my_slot->failures = 0;
	LWLockRelease(replicator->lock);
	last_received = startpos;
	last_heard = GetCurrentTimestamp();

	for (;;)
	{
		char	   *buf;
		int			len;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		len = PQgetCopyData(peer_conn, &buf, 1);
		if (len == 0)
		{
			/* Read what the socket already holds before sleeping on it. */
			if (PQconsumeInput(peer_conn) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("lost connection to peer \"%s\": %s", peer_name,
								pchomp(PQerrorMessage(peer_conn)))));
			len = PQgetCopyData(peer_conn, &buf, 1);
		}
		if (len > 0)
		{
			/* No clock reading per message: only the idle path below needs it. */
			heard = true;
			peer_handle_message(buf, len);
			PQfreemem(buf);
			continue;
		}
		if (len == -1)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("peer \"%s\" ended the replication stream", peer_name)));
		if (len < -1)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("lost connection to peer \"%s\": %s", peer_name,
							pchomp(PQerrorMessage(peer_conn)))));

		/* Nothing buffered: report progress, check liveness, then sleep. */
		if (heard)
		{
			last_heard = GetCurrentTimestamp();
			heard = false;
		}
		peer_send_feedback(false, false);
		if (wal_receiver_timeout > 0)
		{
			TimestampTz now = GetCurrentTimestamp();

			if (now > TimestampTzPlusMilliseconds(last_heard, wal_receiver_timeout))
				ereport(ERROR,
						(errcode(ERRCODE_CONNECTION_FAILURE),
						 errmsg("peer \"%s\" sent nothing for %d ms", peer_name,
								wal_receiver_timeout),
						 errhint("The peer or the network is down; the worker reconnects.")));
			if (now > TimestampTzPlusMilliseconds(last_heard, wal_receiver_timeout / 2))
				peer_send_feedback(true, true);
		}
		(void) WaitLatchOrSocket(MyLatch,
								 WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT |
								 WL_EXIT_ON_PM_DEATH,
								 PQsocket(peer_conn), FEEDBACK_INTERVAL_MS,
								 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (PQconsumeInput(peer_conn) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("lost connection to peer \"%s\": %s", peer_name,
							pchomp(PQerrorMessage(peer_conn)))));
	}
}

/* Apply one ROW, DELETE or MESSAGE; on a data error roll back and remember it. */
static void
peer_apply_change(const WireMessage *msg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ApplyStats	stats;

	memset(&stats, 0, sizeof(stats));
	PG_TRY();
	{
		if (msg->type == WIRE_MESSAGE)
			ApplyWireMessage(msg, peer_name, my_slot->peer_node);
		else
			ApplyWireChange(msg, peer_name, my_slot->peer_node, txn_commit_lsn, &stats);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(txn_cxt);
		txn_error = CopyErrorData();
		if (!ApplyErrorIsQuarantinable(txn_error))
		{
			MemoryContextSwitchTo(oldcxt);
			PG_RE_THROW();
		}
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(oldcxt);
	}
	PG_END_TRY();
	my_slot->changes_applied += stats.rows_inserted + stats.rows_updated +
		stats.rows_deleted;
	my_slot->conflicts += stats.conflicts;
}

/*
 * A remote transaction that failed on a unique violation is applied once
 * more before it is quarantined: a local transaction can insert the same key
 * between the apply's lookup and its insert, and the second time the lookup
 * finds that row and merges.  True if it applied; the transaction is then
 * open, as after BEGIN.  Otherwise txn_error says why (rolled back).
 */
static bool
peer_reapply(void)
{
	ListCell   *lc;

	if (txn_error->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
		return false;
	txn_error = NULL;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, txn_messages)
	{
		bytea	   *data = lfirst(lc);
		WireMessage msg;
		CrdtError	err;
		MemoryContext old = MemoryContextSwitchTo(message_cxt);

		/* decoded once already: it cannot fail now */
		if (wire_decode(VARDATA(data), VARSIZE(data) - VARHDRSZ, &msg, crdt_palloc,
						&err) != CRDT_OK)
			elog(ERROR, "invalid change set from peer \"%s\": %s", peer_name, err.message);
		MemoryContextSwitchTo(old);
		peer_apply_change(&msg);
		if (txn_error != NULL)
			return false;
	}
	return true;
}

/*
 * Record a failed remote transaction in edge_crdt.apply_errors, in a local
 * transaction that also moves the origin past it.
 */
static void
peer_quarantine(const WireMessage *commit)
{
	char		msg[REPLICATOR_ERROR_LEN];

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	ApplyErrorRecord(peer_name, my_slot->peer_node, commit->lsn, commit->commit_time,
					 txn_error, txn_messages);

	replorigin_session_origin_lsn = commit->end_lsn;
	replorigin_session_origin_timestamp = commit->commit_time;
	PopActiveSnapshot();
	CommitTransactionCommand();

	snprintf(msg, sizeof(msg),
			 "transaction at %X/%X quarantined in edge_crdt.apply_errors: %s",
			 LSN_FORMAT_ARGS(commit->lsn), txn_error->message);
	ereport(WARNING,
			(errmsg("edge_crdt peer \"%s\": %s", peer_name, msg),
			 errhint("Fix the cause, then call edge_crdt.retry_apply_error(), or edge_crdt.discard_apply_error().")));
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	strlcpy(my_slot->last_error, msg, sizeof(my_slot->last_error));
	my_slot->last_error_time = GetCurrentTimestamp();
	LWLockRelease(replicator->lock);
}

/* Apply one wire message inside the current remote transaction. */
static void
peer_apply(const char *data, int len)
{
	WireMessage msg;
	CrdtError	err;
	MemoryContext old;

	old = MemoryContextSwitchTo(message_cxt);
	if (wire_decode(data, len, &msg, crdt_palloc, &err) != CRDT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid change set from peer \"%s\"", peer_name),
				 errdetail("%s", err.message)));

	if (msg.type != WIRE_BEGIN && !in_remote_txn)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("peer \"%s\" sent a change outside a transaction", peer_name)));

	switch (msg.type)
	{
		case WIRE_BEGIN:
			if (in_remote_txn)
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("peer \"%s\" sent BEGIN inside a transaction", peer_name)));
			MemoryContextSwitchTo(old);
			MemoryContextReset(txn_cxt);
			txn_messages = NIL;
			txn_error = NULL;
			txn_commit_lsn = msg.lsn;
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
			in_remote_txn = true;
			break;
		case WIRE_ROW:
		case WIRE_DELETE:
		case WIRE_MESSAGE:
			{
				MemoryContext m = MemoryContextSwitchTo(txn_cxt);
				bytea	   *copy = palloc(VARHDRSZ + len);

				SET_VARSIZE(copy, VARHDRSZ + len);
				memcpy(VARDATA(copy), data, len);
				txn_messages = lappend(txn_messages, copy);
				MemoryContextSwitchTo(m);
			}
			if (txn_error == NULL)
				peer_apply_change(&msg);
			break;
		case WIRE_COMMIT:
			{
				FlushPending *fp;

				MemoryContextSwitchTo(old);
				if (txn_error != NULL && !peer_reapply())
					peer_quarantine(&msg);
				else
				{
					replorigin_session_origin_lsn = msg.end_lsn;
					replorigin_session_origin_timestamp = msg.commit_time;
					PopActiveSnapshot();
					CommitTransactionCommand();
				}
				in_remote_txn = false;
				pgstat_report_stat(false);

				old = MemoryContextSwitchTo(TopMemoryContext);
				fp = palloc(sizeof(FlushPending));
				fp->remote_end = msg.end_lsn;
				fp->local_end = XactLastCommitEnd;
				flush_pending = lappend(flush_pending, fp);

				LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
				my_slot->applied_lsn = msg.end_lsn;
				my_slot->last_commit_time = msg.commit_time;
				my_slot->last_apply_time = GetCurrentTimestamp();
				my_slot->txns_applied++;
				LWLockRelease(replicator->lock);

				/*
				 * The peer replicates a new table: copy it before streaming
				 * on, which takes a new connection (the copy runs before
				 * START_REPLICATION), so start over.  The origin already
				 * points past this transaction.
				 */
				if (ApplyCopyRequested() && txn_error == NULL)
				{
					ereport(LOG,
							(errmsg("edge_crdt peer \"%s\": restarting to copy a newly replicated table",
									peer_name)));
					ReplicatorWake();
					proc_exit(0);
				}
				break;
			}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(message_cxt);
}

/* One CopyData message of the replication protocol. */
static void
peer_handle_message(const char *data, int len)
{
	StringInfoData s;

	s.data = (char *) data;
	s.len = len;
	s.cursor = 0;
	s.maxlen = -1;

	switch (pq_getmsgbyte(&s))
	{
		case 'w':
			{
				XLogRecPtr	start = pq_getmsgint64(&s);
				XLogRecPtr	end = pq_getmsgint64(&s);

				(void) pq_getmsgint64(&s);	/* send time */
				if (start > last_received)
					last_received = start;
				my_slot->received_lsn = last_received;
				if (end > my_slot->peer_wal_end)
					my_slot->peer_wal_end = end;

				/* Frames: uint32 length + wire message (wire.h, batch). */
				while (s.cursor < s.len)
				{
					uint32		flen;

					if (s.len - s.cursor < 4)
						ereport(ERROR,
								(errcode(ERRCODE_PROTOCOL_VIOLATION),
								 errmsg("invalid change set from peer \"%s\"", peer_name),
								 errdetail("A frame header is truncated.")));
					flen = pq_getmsgint(&s, 4);
					if (flen > (uint32) (s.len - s.cursor))
						ereport(ERROR,
								(errcode(ERRCODE_PROTOCOL_VIOLATION),
								 errmsg("invalid change set from peer \"%s\"", peer_name),
								 errdetail("A frame of %u bytes has only %d left.",
										   flen, s.len - s.cursor)));
					peer_apply(s.data + s.cursor, (int) flen);
					s.cursor += flen;
				}
				break;
			}
		case 'k':
			{
				XLogRecPtr	end = pq_getmsgint64(&s);
				bool		reply;

				(void) pq_getmsgint64(&s);	/* send time */
				reply = pq_getmsgbyte(&s);
				if (end > last_received)
					last_received = end;
				my_slot->received_lsn = last_received;
				if (end > my_slot->peer_wal_end)
					my_slot->peer_wal_end = end;
				peer_send_feedback(reply, false);
				break;
			}
		default:
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("unexpected replication message from peer \"%s\"", peer_name)));
	}
}

/*
 * Report write/flush/apply positions.  The flush position covers only
 * remote transactions whose local commit is durable; when nothing is
 * pending, everything received so far is accounted for.
 */
static void
peer_send_feedback(bool force, bool request_reply)
{
	XLogRecPtr	local_flush = GetFlushRecPtr(NULL);
	XLogRecPtr	flushed = InvalidXLogRecPtr;
	TimestampTz now = GetCurrentTimestamp();
	StringInfoData buf;
	ListCell   *lc;
	int			ndone = 0;

	/*
	 * Drop the durable ones in one go: during a catch-up thousands are
	 * pending, and removing them one by one moves the rest each time.
	 */
	foreach(lc, flush_pending)
	{
		FlushPending *fp = lfirst(lc);

		if (fp->local_end > local_flush)
			break;
		flushed = fp->remote_end;
		pfree(fp);
		ndone++;
	}
	flush_pending = list_delete_first_n(flush_pending, ndone);
	if (flush_pending == NIL && !in_remote_txn)
		flushed = last_received;
	else if (flushed == InvalidXLogRecPtr)
		flushed = last_flushed_reported;

	/*
	 * Report new progress promptly (wait_for_sync waits on it), but not
	 * more often than every FEEDBACK_MIN_INTERVAL_MS: during a catch-up the
	 * flush position moves with nearly every transaction, and a message per
	 * transaction would cost both ends more than the apply itself.
	 */
	if (!force &&
		now < TimestampTzPlusMilliseconds(last_feedback,
										  flushed == last_flushed_reported ?
										  FEEDBACK_INTERVAL_MS : FEEDBACK_MIN_INTERVAL_MS))
		return;

	initStringInfo(&buf);
	pq_sendbyte(&buf, 'r');
	pq_sendint64(&buf, last_received);	/* write */
	pq_sendint64(&buf, flushed);	/* flush */
	pq_sendint64(&buf, flushed);	/* apply */
	pq_sendint64(&buf, now);
	pq_sendbyte(&buf, request_reply ? 1 : 0);
	if (PQputCopyData(peer_conn, buf.data, buf.len) <= 0 || PQflush(peer_conn) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not send feedback to peer \"%s\": %s", peer_name,
						pchomp(PQerrorMessage(peer_conn)))));
	pfree(buf.data);
	last_feedback = now;
	last_flushed_reported = flushed;
}
