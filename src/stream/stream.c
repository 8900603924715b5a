/*-------------------------------------------------------------------------
 * stream.c
 *	  Stream helpers that need C: locks, the wait for new messages, and the
 *	  wake-up of waiting readers when a publishing transaction commits.
 *
 * Waiting without polling and without shared memory of our own: a reader
 * that waits holds a shared advisory lock (STREAM_LOCK_WAITER, stream id)
 * for the rest of its transaction and sleeps on its latch.  A transaction
 * that stored a message in the stream (local publish, or the apply of a
 * remote one) looks up the holders of that lock with GetLockConflicts()
 * once it has committed and sets their latches.  The reader takes the lock
 * before it looks for messages for the first time and resets its latch
 * before every look, so a commit either precedes the look (the reader's
 * fresh snapshot sees it) or finds the reader among the holders (the latch
 * is set and the next wait returns at once): no lost wake-up.
 *
 * IDENTIFICATION
 *	  src/stream/stream.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "storage/sinvaladt.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "edge_crdt/node.h"
#include "edge_crdt/stream.h"

#if PG_VERSION_NUM >= 170000
#define VXID_PROC(v)	ProcNumberGetProc((v).procNumber)
#define LOCK_HELD(tag, mode)	LockHeldByMe(tag, mode, false)
#else
#define VXID_PROC(v)	BackendIdGetProc((v).backendId)
#define LOCK_HELD(tag, mode)	LockHeldByMe(tag, mode)
#endif

/* streams this transaction stored messages in (TopTransactionContext) */
static List *wake_streams = NIL;
static bool xact_callback_registered = false;

static void
stream_wake_waiters(int32 stream_id)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, 0, STREAM_LOCK_WAITER);
	/* every holder conflicts with AccessExclusiveLock; we are never listed */
	vxids = GetLockConflicts(&tag, AccessExclusiveLock, NULL);
	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
		PGPROC	   *proc = VXID_PROC(*vxids);

		/* a slot reused meanwhile only gets a spurious wake-up */
		if (proc != NULL)
			SetLatch(&proc->procLatch);
	}
}

static void
stream_xact_callback(XactEvent event, void *arg)
{
	ListCell   *lc;

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			/* the transaction is visible to every new snapshot now */
			foreach(lc, wake_streams)
				stream_wake_waiters(lfirst_int(lc));
			wake_streams = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wake_streams = NIL;
			break;
		default:
			break;
	}
}

void
StreamWakeAtCommit(int32 stream_id)
{
	MemoryContext old;

	if (!xact_callback_registered)
	{
		RegisterXactCallback(stream_xact_callback, NULL);
		xact_callback_registered = true;
	}
	if (list_member_int(wake_streams, stream_id))
		return;
	old = MemoryContextSwitchTo(TopTransactionContext);
	wake_streams = lappend_int(wake_streams, stream_id);
	MemoryContextSwitchTo(old);
}

PG_FUNCTION_INFO_V1(stream_local_node_sql);
Datum
stream_local_node_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(EdgeCrdtLocalNodeId(false));
}

/*
 * _stream_lock(stream_id, kind, sub, exclusive): a transaction-level lock,
 * kind 1 = publish (sub ignored), 2 = dedup_id hash.
 */
PG_FUNCTION_INFO_V1(stream_lock_sql);
Datum
stream_lock_sql(PG_FUNCTION_ARGS)
{
	int32		stream_id = PG_GETARG_INT32(0);
	int32		kind = PG_GETARG_INT32(1);
	int32		sub = PG_GETARG_INT32(2);
	bool		exclusive = PG_GETARG_BOOL(3);
	LOCKTAG		tag;

	if (kind == 1)
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, 0, STREAM_LOCK_PUBLISH);
	else if (kind == 2)
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, (uint32) sub,
							 STREAM_LOCK_DEDUP);
	else
		elog(ERROR, "unknown stream lock kind %d", kind);
	(void) LockAcquire(&tag, exclusive ? ExclusiveLock : ShareLock, false, false);
	PG_RETURN_VOID();
}

/*
 * _stream_barrier(stream_id): the highest arrival position every
 * transaction that may store into this stream below it has finished with.
 * Wait until no publisher of the stream is in flight, read the position
 * sequence, and let publishers go again: any transaction still running
 * afterwards takes its positions from a later nextval.
 */
PG_FUNCTION_INFO_V1(stream_barrier_sql);
Datum
stream_barrier_sql(PG_FUNCTION_ARGS)
{
	int32		stream_id = PG_GETARG_INT32(0);
	LOCKTAG		tag;
	int64		horizon;
	bool		isnull;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, 0, STREAM_LOCK_PUBLISH);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	SPI_connect();
	if (SPI_execute("SELECT CASE WHEN is_called THEN last_value ELSE 0 END "
					"FROM edge_crdt.stream_pos_seq", true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read edge_crdt.stream_pos_seq");
	horizon = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	LockRelease(&tag, ExclusiveLock, false);
	PG_RETURN_INT64(horizon);
}

PG_FUNCTION_INFO_V1(stream_wake_sql);
Datum
stream_wake_sql(PG_FUNCTION_ARGS)
{
	StreamWakeAtCommit(PG_GETARG_INT32(0));
	PG_RETURN_VOID();
}

/*
 * StreamWait(stream_id, deadline): the first call of a transaction for a
 * stream registers this backend as a waiter and returns at once (the
 * caller looks again); later calls sleep until a publisher's commit sets
 * our latch, the deadline passes, or an interrupt arrives.
 */
void
StreamWait(int32 stream_id, TimestampTz deadline)
{
	TimestampTz now;
	long		ms;
	LOCKTAG		tag;

	/* held until the transaction (or the subtransaction that took it) ends */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, 0, STREAM_LOCK_WAITER);
	if (!LOCK_HELD(&tag, ShareLock))
	{
		(void) LockAcquire(&tag, ShareLock, false, false);
		ResetLatch(MyLatch);
		return;
	}

	now = GetCurrentTimestamp();
	if (deadline <= now)
		return;
	ms = (long) Min((deadline - now + 999) / 1000, (int64) INT_MAX);
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* _stream_wait(stream_id, deadline): StreamWait for SQL callers. */
PG_FUNCTION_INFO_V1(stream_wait_sql);
Datum
stream_wait_sql(PG_FUNCTION_ARGS)
{
	StreamWait(PG_GETARG_INT32(0), PG_GETARG_TIMESTAMPTZ(1));
	PG_RETURN_VOID();
}
