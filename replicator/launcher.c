/*-------------------------------------------------------------------------
 * launcher.c
 *	  The launcher and the per-database managers of the replicator (see
 *	  replicator.h for the vocabulary), and their shared memory.
 *
 * The launcher cannot read per-database tables, so it only knows databases:
 * it starts a manager for every connectable database once, and again every
 * LAUNCHER_REPROBE_MS or when woken (add_peer and friends wake it).  A
 * manager stays only while its database has peers (their workers, tombstone
 * collection) or streams (trimming): see maintenance.c.
 *
 * IDENTIFICATION
 *	  replicator/launcher.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procsignal.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "edge_crdt/maintenance.h"
#include "edge_crdt/replicator.h"

#define LAUNCHER_REPROBE_MS		10000
#define MANAGER_NAPTIME_MS		1000
#define RESTART_BACKOFF_MAX_MS	30000

ReplicatorShared *replicator = NULL;

static void launcher_probe_databases(void);
static void start_manager(ManagerSlot *slot);
static void manager_sync_workers(Oid dboid);
static bool start_peer_worker(int slotno);

Size
ReplicatorShmemSize(void)
{
	return MAXALIGN(sizeof(ReplicatorShared));
}

void
ReplicatorShmemInit(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	replicator = ShmemInitStruct("edge_crdt replicator", sizeof(ReplicatorShared),
								 &found);
	if (!found)
	{
		memset(replicator, 0, sizeof(ReplicatorShared));
		replicator->lock = &(GetNamedLWLockTranche("edge_crdt"))[1].lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

void
ReplicatorRegisterLauncher(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "edge_crdt");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "edge_crdt_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "edge_crdt launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "edge_crdt launcher");
	RegisterBackgroundWorker(&bgw);
}

void
ReplicatorWake(void)
{
	int			i;

	LWLockAcquire(replicator->lock, LW_SHARED);
	if (replicator->launcher_latch)
		SetLatch(replicator->launcher_latch);
	for (i = 0; i < REPLICATOR_MAX_DATABASES; i++)
	{
		ManagerSlot *m = &replicator->managers[i];

		if (m->dboid == MyDatabaseId)
		{
			m->next_probe = 0;
			if (m->latch)
				SetLatch(m->latch);
		}
	}
	LWLockRelease(replicator->lock);
}

void
ReplicatorResetPeer(Oid dboid, int32 peer_node)
{
	int			i;

	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	for (i = 0; i < REPLICATOR_MAX_PEERS; i++)
	{
		PeerSlot   *p = &replicator->peers[i];

		if (p->dboid == dboid && p->peer_node == peer_node)
		{
			p->restart_after = 0;
			p->failures = 0;
		}
	}
	LWLockRelease(replicator->lock);
}

void
ReplicatorStopPeerWorker(Oid dboid, int32 peer_node, int hold_ms)
{
	int			i;
	pid_t		pid = 0;
	int			waited;

	/*
	 * A worker being started has pid -1 until it runs: wait for its real
	 * pid.  Never pass -1 (or 0) to kill(): kill(-1, SIGTERM) signals every
	 * process of the user, i.e. the whole cluster and more.
	 */
	for (waited = 0;; waited += 10)
	{
		LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
		for (i = 0; i < REPLICATOR_MAX_PEERS; i++)
		{
			PeerSlot   *p = &replicator->peers[i];

			if (p->dboid == dboid && p->peer_node == peer_node)
			{
				p->restart_after = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															   hold_ms);
				pid = p->pid;
			}
		}
		LWLockRelease(replicator->lock);
		if (pid != -1 || waited >= 10000)
			break;
		CHECK_FOR_INTERRUPTS();
		pg_usleep(10000L);
	}

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (waited = 0; waited < 10000; waited += 10)
	{
		bool		gone;

		CHECK_FOR_INTERRUPTS();
		LWLockAcquire(replicator->lock, LW_SHARED);
		gone = true;
		for (i = 0; i < REPLICATOR_MAX_PEERS; i++)
			if (replicator->peers[i].pid == pid)
				gone = false;
		LWLockRelease(replicator->lock);
		if (gone)
			return;
		pg_usleep(10000L);
	}
	ereport(WARNING,
			(errmsg("edge_crdt peer worker %d did not stop within 10 seconds", (int) pid)));
}

/*---- launcher ----*/

void
edge_crdt_launcher_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("edge_crdt launcher");

	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	replicator->launcher_latch = &MyProc->procLatch;
	LWLockRelease(replicator->lock);

	for (;;)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		launcher_probe_databases();
	}
}

/*
 * Register every connectable, non-template database in a manager slot and
 * start managers that are due.  Template databases are skipped: a
 * connection to template1 would make CREATE DATABASE fail.
 */
static void
launcher_probe_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	List	   *dbs = NIL;
	ListCell   *lc;
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (db->datallowconn && !db->datistemplate && db->datconnlimit != -2)
			dbs = lappend_oid(dbs, db->oid);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	/* forget dropped databases */
	for (i = 0; i < REPLICATOR_MAX_DATABASES; i++)
	{
		ManagerSlot *m = &replicator->managers[i];

		if (m->dboid != InvalidOid && m->pid == 0 && !list_member_oid(dbs, m->dboid))
			m->dboid = InvalidOid;
	}
	foreach(lc, dbs)
	{
		Oid			dboid = lfirst_oid(lc);
		ManagerSlot *m = NULL;
		ManagerSlot *free_slot = NULL;

		for (i = 0; i < REPLICATOR_MAX_DATABASES; i++)
		{
			if (replicator->managers[i].dboid == dboid)
				m = &replicator->managers[i];
			else if (replicator->managers[i].dboid == InvalidOid && !free_slot)
				free_slot = &replicator->managers[i];
		}
		if (m == NULL)
		{
			if (free_slot == NULL)
				continue;		/* more databases than slots: skip */
			m = free_slot;
			memset(m, 0, sizeof(ManagerSlot));
			m->dboid = dboid;
		}
		/* a manager that never attached (e.g. died at start) is retried */
		if (m->pid == -1 && m->starting_since < now - 10 * USECS_PER_SEC)
			m->pid = 0;
		if (m->pid == 0 && m->next_probe <= now)
		{
			m->next_probe = TimestampTzPlusMilliseconds(now, LAUNCHER_REPROBE_MS);
			start_manager(m);
		}
	}
	LWLockRelease(replicator->lock);
}

static void
start_manager(ManagerSlot *slot)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "edge_crdt");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "edge_crdt_manager_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "edge_crdt manager %u", slot->dboid);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "edge_crdt manager");
	bgw.bgw_main_arg = ObjectIdGetDatum(slot->dboid);
	bgw.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
		ereport(WARNING,
				(errmsg("could not start edge_crdt manager for database %u", slot->dboid),
				 errhint("Raise max_worker_processes.")));
	else
	{
		slot->pid = -1;			/* starting; the manager fills in its pid */
		slot->starting_since = GetCurrentTimestamp();
	}
}

/*---- manager ----*/

static ManagerSlot *my_manager_slot = NULL;

static void
manager_detach(int code, Datum arg)
{
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	if (my_manager_slot)
	{
		my_manager_slot->pid = 0;
		my_manager_slot->latch = NULL;
	}
	LWLockRelease(replicator->lock);
}

void
edge_crdt_manager_main(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	int			i;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	for (i = 0; i < REPLICATOR_MAX_DATABASES; i++)
		if (replicator->managers[i].dboid == dboid)
		{
			my_manager_slot = &replicator->managers[i];
			my_manager_slot->pid = MyProcPid;
			my_manager_slot->latch = &MyProc->procLatch;
		}
	LWLockRelease(replicator->lock);
	before_shmem_exit(manager_detach, (Datum) 0);
	if (my_manager_slot == NULL)
		proc_exit(0);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("edge_crdt manager");

	for (;;)
	{
		bool		has_peers = false;
		bool		has_streams = false;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (OidIsValid(get_extension_oid("edge_crdt", true)))
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			if (SPI_execute("SELECT EXISTS (SELECT 1 FROM edge_crdt.peer), "
							"EXISTS (SELECT 1 FROM edge_crdt.stream)", true, 1) == SPI_OK_SELECT &&
				SPI_processed == 1)
			{
				bool		isnull;

				has_peers = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 1, &isnull));
				has_streams = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
														 SPI_tuptable->tupdesc, 2, &isnull));
			}
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();

		manager_sync_workers(dboid);
		if (!has_peers && !has_streams)
			proc_exit(0);		/* the launcher probes again later */
		MaintenanceRun(has_peers, has_streams);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 MANAGER_NAPTIME_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * Make the peer slots of this database match edge_crdt.peer: a running
 * worker for every enabled peer, none for paused or removed ones.
 */
static void
manager_sync_workers(Oid dboid)
{
	typedef struct WantedPeer
	{
		int32		node;
		char		name[64];
		bool		enabled;
	} WantedPeer;
	WantedPeer *wanted = NULL;
	int			nwanted = 0;
	TimestampTz now = GetCurrentTimestamp();
	int			i,
				j;
	MemoryContext cxt = CurrentMemoryContext;

	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (OidIsValid(get_extension_oid("edge_crdt", true)))
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT node_id, peer_name, enabled FROM edge_crdt.peer",
						true, 0) == SPI_OK_SELECT)
		{
			wanted = MemoryContextAllocZero(cxt, sizeof(WantedPeer) * (SPI_processed + 1));
			for (i = 0; i < (int) SPI_processed; i++)
			{
				bool		isnull;
				HeapTuple	t = SPI_tuptable->vals[i];
				TupleDesc	d = SPI_tuptable->tupdesc;

				wanted[i].node = DatumGetInt32(SPI_getbinval(t, d, 1, &isnull));
				strlcpy(wanted[i].name, SPI_getvalue(t, d, 2), sizeof(wanted[i].name));
				wanted[i].enabled = DatumGetBool(SPI_getbinval(t, d, 3, &isnull));
			}
			nwanted = (int) SPI_processed;
		}
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();

	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	/* stop workers that are no longer wanted */
	for (i = 0; i < REPLICATOR_MAX_PEERS; i++)
	{
		PeerSlot   *p = &replicator->peers[i];
		bool		exists = false;
		bool		enabled = false;

		if (p->dboid != dboid)
			continue;
		for (j = 0; j < nwanted; j++)
			if (wanted[j].node == p->peer_node)
			{
				exists = true;
				enabled = wanted[j].enabled;
			}
		if (!enabled)
		{
			if (p->pid > 0)
				kill(p->pid, SIGTERM);
			/* a paused peer keeps its slot, so its counters survive */
			else if (p->pid == 0 && !exists)
				p->dboid = InvalidOid;
			if (p->state != PEER_ERROR)
				p->state = PEER_STOPPED;
		}
	}
	/* start the missing ones */
	for (j = 0; j < nwanted; j++)
	{
		PeerSlot   *p = NULL;
		int			freeno = -1;

		if (!wanted[j].enabled)
			continue;
		for (i = 0; i < REPLICATOR_MAX_PEERS; i++)
		{
			if (replicator->peers[i].dboid == dboid &&
				replicator->peers[i].peer_node == wanted[j].node)
				p = &replicator->peers[i];
			else if (replicator->peers[i].dboid == InvalidOid && freeno < 0)
				freeno = i;
		}
		if (p == NULL)
		{
			if (freeno < 0)
			{
				ereport(WARNING,
						(errmsg("too many edge_crdt peers: at most %d peer workers",
								REPLICATOR_MAX_PEERS)));
				continue;
			}
			p = &replicator->peers[freeno];
			memset(p, 0, sizeof(PeerSlot));
			p->dboid = dboid;
			p->peer_node = wanted[j].node;
		}
		strlcpy(p->peer_name, wanted[j].name, sizeof(p->peer_name));
		if (p->pid == -1 && p->starting_since < now - 10 * USECS_PER_SEC)
			p->pid = 0;			/* never attached: try again */
		if (p->pid == 0 && p->restart_after <= now)
		{
			if (start_peer_worker(p - replicator->peers))
			{
				p->pid = -1;	/* starting; the worker fills in its pid */
				p->starting_since = now;
			}
		}
	}
	LWLockRelease(replicator->lock);
	if (wanted)
		pfree(wanted);
}

static bool
start_peer_worker(int slotno)
{
	BackgroundWorker bgw;
	BackgroundWorkerHandle *handle;
	PeerSlot   *p = &replicator->peers[slotno];

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "edge_crdt");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "edge_crdt_peer_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "edge_crdt peer %s", p->peer_name);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "edge_crdt peer");
	bgw.bgw_main_arg = Int32GetDatum(slotno);
	if (!RegisterDynamicBackgroundWorker(&bgw, &handle))
	{
		ereport(WARNING,
				(errmsg("could not start edge_crdt worker for peer \"%s\"", p->peer_name),
				 errhint("Raise max_worker_processes.")));
		return false;
	}
	return true;
}

/*
 * Called by a peer worker on exit: free its pid and, after a failure,
 * schedule the restart with exponential backoff.
 */
void
ReplicatorPeerExited(PeerSlot *slot, bool failed)
{
	LWLockAcquire(replicator->lock, LW_EXCLUSIVE);
	slot->pid = 0;
	if (failed)
	{
		int			backoff;

		slot->failures = Min(slot->failures + 1, 16);
		backoff = Min(RESTART_BACKOFF_MAX_MS, 500 << Min(slot->failures, 6));
		slot->restart_after = Max(slot->restart_after,
								  TimestampTzPlusMilliseconds(GetCurrentTimestamp(), backoff));
		slot->state = PEER_ERROR;
	}
	else if (slot->state != PEER_ERROR)
		slot->state = PEER_STOPPED;
	LWLockRelease(replicator->lock);
}
