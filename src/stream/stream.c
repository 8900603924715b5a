/*-------------------------------------------------------------------------
 * stream.c
 *	  Stream helpers that need C: locks, the wait for new messages, and the
 *	  wake-up of waiting readers when a publishing transaction commits.
 *
 * Waiting without polling and without shared memory of our own: while
 * read_group waits it holds a shared advisory lock (STREAM_LOCK_WAITER,
 * stream id, group id) and sleeps on its latch.  A transaction that stored
 * messages in the stream (local publish, the apply of a remote one, a dead
 * letter) looks up the holders for each group of the stream once it has
 * committed and sets latches.  The reader takes the lock and resets its
 * latch before its first look, and resets the latch before every later
 * look, so a commit either precedes a look (whose fresh snapshot sees it)
 * or finds the reader among the holders with its latch set afterwards (the
 * next sleep returns at once): no lost wake-up.
 *
 * Whom to wake.  In an exclusive or key_shared group a message may be
 * deliverable to one consumer only (the head of a key's line is bound to
 * its consumer), so every holder is woken.  In a shared group any consumer
 * can take any message, and waking them all makes all but one look for
 * nothing; one *sleeping* holder is woken instead, when there is one:
 *	  - a holder sleeps when its wait event is PG_WAIT_EXTENSION (inside
 *		read_group nothing else waits with that class).  Its wait event is
 *		cleared before its next look, and that look's snapshot is taken
 *		after our commit (both are ordered by ProcArrayLock), so it sees the
 *		messages.
 *	  - the wait event read belongs to the proc, not to the lock: the
 *		holder may have left read_group meanwhile and sleep elsewhere.  So
 *		after setting its latch we look it up among the holders again: if it
 *		is still there (same virtual transaction), it was in this group's
 *		wait when seen, or entered it again since and looks after our
 *		commit.  Otherwise every holder is woken.
 *	  - a reader that returns a full batch may leave messages behind, and
 *		one that fails after being woken may have swallowed the wake-up: both
 *		wake one more sleeper of the group (StreamWaitEnd, the abort
 *		callbacks).
 * With no holder asleep every holder is woken (they are looking, maybe
 * with a snapshot from before our commit).
 *
 * Messages also become deliverable again without a publish: nack wakes the
 * group when it commits (_stream_wake), a transaction that took messages
 * wakes it if it aborts (StreamWakeAtAbort), and a reader sleeps no longer
 * than until the earliest lease or delivery it saw is due (read_group).
 *
 * Batching.  On a busy stream a reader would look at once, take the one or
 * two messages that arrived since the last look, and come back: a read,
 * an acknowledgement and a commit per message or two, and a wake-up (a
 * signal the publisher pays for) per read.  Readers of a shared group
 * therefore take turns (edge_crdt.stream_batch_delay, 1 ms):
 *	  - a reader whose last wait for the group returned part of a batch less
 *		than five delays ago is "busy": when it is woken, and when it comes
 *		back for more, it first waits one delay with the wait event PgSleep
 *		(STREAM_WAIT_DELAY), then looks and takes what arrived meanwhile;
 *	  - a publisher that sees a holder in its delay wakes nobody: that
 *		holder looks after the commit (the argument above: its wait event
 *		changes after we read it, and its look's snapshot is later still);
 *	  - a reader that arrives while another holder is in its delay does not
 *		look at all: every message committed so far will be seen by that
 *		holder's look, every later commit finds us among the holders.  It
 *		sleeps until woken; a reader woken after such a sleep waits one
 *		delay too.  Due redeliveries, which it would have learnt of by
 *		looking, bound its sleep (STREAM_SKIP_SLEEP).
 * So while the flow fits one reader, one reader at a time looks, once per
 * delay or so, and no publisher signals anyone.  A reader that returned a
 * full batch is not busy but behind: it neither delays nor sleeps first,
 * and it wakes one more sleeper (above), so that a backlog is read by every
 * reader at once.  A reader of a quiet stream looks at once.
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
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "edge_crdt/node.h"
#include "edge_crdt/stream.h"

#if PG_VERSION_NUM >= 170000
#define VXID_PROC(v)	ProcNumberGetProc((v).procNumber)
#else
#define VXID_PROC(v)	BackendIdGetProc((v).backendId)
#endif

/*
 * The wait event of a woken reader's batch delay: a sleep, and told apart
 * from the latch wait (PG_WAIT_EXTENSION) by publishers.
 */
#define STREAM_WAIT_DELAY	WAIT_EVENT_PG_SLEEP

/* A group whose waiters this transaction wakes when it commits. */
typedef struct WakeTarget
{
	int32		stream_id;
	int32		group_id;
	bool		one;			/* shared group: one sleeper will do */
} WakeTarget;

/*
 * The groups to wake when this transaction commits, and those to wake if it
 * aborts: messages it took become deliverable again (TopTransactionContext).
 */
static List *wake_targets = NIL;
static List *abort_targets = NIL;
static bool xact_callback_registered = false;

/*
 * The group read_group waits for, while it holds its WAITER lock, and the
 * subtransaction it runs in.
 */
static WakeTarget waiting = {0, 0, false};
static SubTransactionId waiting_subid = InvalidSubTransactionId;

/* when a wait of this backend last returned messages, for which group, a full batch? */
static WakeTarget last_taken = {0, 0, false};
static TimestampTz last_taken_at = 0;
static bool last_taken_full = false;

/* this wait went to sleep before its first look: another reader looks */
static bool skipped_look = false;

/* the longest sleep of a reader that skipped its first look (ms) */
#define STREAM_SKIP_SLEEP	1000

/* GUC: edge_crdt.stream_batch_delay, in ms */
static int	stream_batch_delay = 1;

void
StreamDefineGucs(void)
{
	DefineCustomIntVariable("edge_crdt.stream_batch_delay",
							gettext_noop("How long a waiting read_group on a busy stream waits before it looks."),
							gettext_noop("Applies when the reader's previous wait for the group returned part of a batch less than five delays ago; meanwhile other readers of a shared group sleep and publishers wake nobody, so that under a steady flow each read takes several messages.  0 looks at once."),
							&stream_batch_delay,
							1,
							0,
							100,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

static void
waiter_tag(LOCKTAG *tag, int32 stream_id, int32 group_id)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) stream_id, (uint32) group_id,
						 STREAM_LOCK_WAITER);
}

/* The holders of the group's WAITER lock; we are never listed. */
static VirtualTransactionId *
waiters_of(int32 stream_id, int32 group_id)
{
	LOCKTAG		tag;

	waiter_tag(&tag, stream_id, group_id);
	/* every holder conflicts with AccessExclusiveLock */
	return GetLockConflicts(&tag, AccessExclusiveLock, NULL);
}

/* A holder whose wait event is event (and its proc), or an invalid vxid. */
static VirtualTransactionId
holder_in(VirtualTransactionId *vxids, uint32 event, PGPROC **proc)
{
	VirtualTransactionId none;

	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
		*proc = VXID_PROC(*vxids);
		if (*proc != NULL && *(volatile uint32 *) &(*proc)->wait_event_info == event)
			return *vxids;
	}
	SetInvalidVirtualTransactionId(none);
	return none;
}

/*
 * The wait event read belongs to the proc, not to the lock (see the header):
 * the holder seen is still one.
 */
static bool
still_holder(const WakeTarget *t, VirtualTransactionId seen)
{
	VirtualTransactionId *v;

	for (v = waiters_of(t->stream_id, t->group_id); VirtualTransactionIdIsValid(*v); v++)
		if (VirtualTransactionIdEquals(*v, seen))
			return true;
	return false;
}

/*
 * A shared group's holder that looks after our commit: one in its batch
 * delay, else a sleeping one, woken.  See the header.
 */
static bool
wake_one_sleeper(const WakeTarget *t, VirtualTransactionId *vxids)
{
	VirtualTransactionId chosen;
	PGPROC	   *proc;

	chosen = holder_in(vxids, STREAM_WAIT_DELAY, &proc);
	if (!VirtualTransactionIdIsValid(chosen))
	{
		chosen = holder_in(vxids, PG_WAIT_EXTENSION, &proc);
		if (!VirtualTransactionIdIsValid(chosen))
			return false;
		SetLatch(&proc->procLatch);
	}
	return still_holder(t, chosen);
}

static void
stream_wake(const WakeTarget *t)
{
	VirtualTransactionId *vxids = waiters_of(t->stream_id, t->group_id);

	if (t->one && wake_one_sleeper(t, vxids))
		return;
	for (; VirtualTransactionIdIsValid(*vxids); vxids++)
	{
		PGPROC	   *proc = VXID_PROC(*vxids);

		/* a slot reused meanwhile only gets a spurious wake-up */
		if (proc != NULL)
			SetLatch(&proc->procLatch);
	}
}

/*
 * A (sub)transaction aborts: a waiter that fails may have swallowed a
 * wake-up, so pass it on; messages taken become deliverable again.  (After
 * a subtransaction abort the takes of the rest of the transaction are
 * woken for too: a spurious wake-up costs a look.)
 */
static void
stream_wait_aborted(void)
{
	ListCell   *lc;

	if (waiting.stream_id != 0)
	{
		WakeTarget	t = waiting;

		waiting.stream_id = 0;
		if (t.one)
			stream_wake(&t);
	}
	foreach(lc, abort_targets)
		stream_wake((WakeTarget *) lfirst(lc));
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
			foreach(lc, wake_targets)
				stream_wake((WakeTarget *) lfirst(lc));
			wake_targets = NIL;
			abort_targets = NIL;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			stream_wait_aborted();
			wake_targets = NIL;
			abort_targets = NIL;
			break;
		case XACT_EVENT_PREPARE:
			wake_targets = NIL;
			abort_targets = NIL;
			break;
		default:
			break;
	}
}

static void
stream_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	/* not one that began and ended inside read_group's look */
	if (event == SUBXACT_EVENT_ABORT_SUB &&
		(waiting.stream_id == 0 || mySubid <= waiting_subid))
		stream_wait_aborted();
}

static void
stream_register_callbacks(void)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(stream_xact_callback, NULL);
		RegisterSubXactCallback(stream_subxact_callback, NULL);
		xact_callback_registered = true;
	}
}

static List *
wake_target_add(List *targets, int32 stream_id, int32 group_id, bool shared)
{
	MemoryContext old;
	ListCell   *lc;
	WakeTarget *t;

	stream_register_callbacks();
	foreach(lc, targets)
	{
		t = lfirst(lc);
		if (t->stream_id == stream_id && t->group_id == group_id)
			return targets;
	}
	old = MemoryContextSwitchTo(TopTransactionContext);
	t = palloc(sizeof(WakeTarget));
	t->stream_id = stream_id;
	t->group_id = group_id;
	t->one = shared;
	targets = lappend(targets, t);
	MemoryContextSwitchTo(old);
	return targets;
}

void
StreamWakeAtCommit(int32 stream_id, int32 group_id, bool shared)
{
	wake_targets = wake_target_add(wake_targets, stream_id, group_id, shared);
}

void
StreamWakeAtAbort(int32 stream_id, int32 group_id, bool shared)
{
	abort_targets = wake_target_add(abort_targets, stream_id, group_id, shared);
}

/* _stream_wake(stream_id, group_id, shared): StreamWakeAtCommit for SQL (nack). */
PG_FUNCTION_INFO_V1(stream_wake_sql);
Datum
stream_wake_sql(PG_FUNCTION_ARGS)
{
	StreamWakeAtCommit(PG_GETARG_INT32(0), PG_GETARG_INT32(1), PG_GETARG_BOOL(2));
	PG_RETURN_VOID();
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

/* Our last wait that returned messages was for the group we wait for. */
static bool
last_taken_here(void)
{
	return last_taken.stream_id == waiting.stream_id && last_taken.group_id == waiting.group_id;
}

/* The group we wait for is busy: our last wait returned part of a batch just now. */
static bool
group_busy(void)
{
	return stream_batch_delay > 0 && last_taken_here() && !last_taken_full &&
		!TimestampDifferenceExceeds(last_taken_at, GetCurrentTimestamp(), 5 * stream_batch_delay);
}

/*
 * The batch delay: let more messages arrive before looking.  Our wait event
 * tells publishers and readers meanwhile that we will look after them, so
 * they wake nobody and sleep.
 */
static void
batch_delay(TimestampTz deadline)
{
	pgstat_report_wait_start(STREAM_WAIT_DELAY);
	pg_usleep((long) Max(Min((int64) stream_batch_delay * 1000,
							 deadline - GetCurrentTimestamp()), 0));
	pgstat_report_wait_end();
}

/*
 * The wait of read_group for a group: StreamWaitBegin before the first
 * look, StreamWaitSleep between looks, StreamWaitEnd when it returns.
 */
void
StreamWaitBegin(int32 stream_id, int32 group_id, bool shared, TimestampTz deadline)
{
	LOCKTAG		tag;
	VirtualTransactionId delaying;
	PGPROC	   *proc;

	stream_register_callbacks();
	waiter_tag(&tag, stream_id, group_id);
	(void) LockAcquire(&tag, ShareLock, false, false);
	waiting.stream_id = stream_id;
	waiting.group_id = group_id;
	waiting.one = shared;
	waiting_subid = GetCurrentSubTransactionId();
	ResetLatch(MyLatch);
	skipped_look = false;

	/*
	 * A shared group (see the header): while another reader is in its
	 * batch delay it looks after now and takes what we would, so we sleep
	 * until woken (due redeliveries, which we would have learnt of by
	 * looking, bound the sleep) -- unless our last batch of the group was
	 * full: more may be waiting.  Else on a busy group our own batch delay
	 * comes first.
	 */
	if (!shared || stream_batch_delay == 0 || (last_taken_here() && last_taken_full))
		return;
	delaying = holder_in(waiters_of(stream_id, group_id), STREAM_WAIT_DELAY, &proc);
	if (VirtualTransactionIdIsValid(delaying) && still_holder(&waiting, delaying))
	{
		skipped_look = true;
		StreamWaitSleep(Min(deadline, TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																   STREAM_SKIP_SLEEP)));
	}
	else if (group_busy())
		batch_delay(deadline);
}

/* Sleep until a publisher's commit sets our latch, the deadline, or an interrupt. */
void
StreamWaitSleep(TimestampTz deadline)
{
	TimestampTz now = GetCurrentTimestamp();
	long		ms;

	if (deadline <= now)
		return;
	ms = (long) Min((deadline - now + 999) / 1000, (int64) INT_MAX);
	/* woken on a busy stream: a batch delay before we look */
	if ((WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
				   ms, PG_WAIT_EXTENSION) & WL_LATCH_SET) &&
		(skipped_look || group_busy()))
		batch_delay(deadline);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/* taken: by the last look; full: the batch is full, more may be waiting */
void
StreamWaitEnd(bool taken, bool full)
{
	LOCKTAG		tag;
	WakeTarget	t = waiting;

	waiting.stream_id = 0;
	if (taken)
	{
		last_taken = t;
		last_taken_at = GetCurrentTimestamp();
		last_taken_full = full;
	}
	waiter_tag(&tag, t.stream_id, t.group_id);
	LockRelease(&tag, ShareLock, false);
	if (full && t.one)
		stream_wake(&t);
}
