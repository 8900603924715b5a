/*-------------------------------------------------------------------------
 * edge_crdt.c
 *	  Module entry point: GUCs, shared memory and (later) the background
 *	  workers.  Everything else lives in the module directories.
 *
 * The library must be in shared_preload_libraries: the hybrid logical clock
 * lives in shared memory and the replicator is a background worker.  Loading
 * it any other way still defines the GUCs (so SET and postgresql.conf
 * entries validate) but every function that needs shared state refuses to
 * run, saying why.
 *
 * IDENTIFICATION
 *	  src/edge_crdt.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "edge_crdt/conflict.h"
#include "edge_crdt/graph.h"
#include "edge_crdt/hlc.h"
#include "edge_crdt/maintenance.h"
#include "edge_crdt/replicator.h"
#include "edge_crdt/stream.h"
#include "edge_crdt/shmem.h"

PG_MODULE_MAGIC;

/*---- Local state ----*/

bool		edge_crdt_preloaded = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*---- GUC variables ----*/

int			edge_crdt_max_clock_skew = 60000;

/*---- Function declarations ----*/

void		_PG_init(void);

static void edge_crdt_shmem_request(void);
static void edge_crdt_shmem_startup(void);

void
EdgeCrdtRequireSharedState(void)
{
	if (!edge_crdt_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("edge_crdt must be loaded via shared_preload_libraries"),
				 errhint("Add edge_crdt to shared_preload_libraries in postgresql.conf and restart the server.")));
}

static void
edge_crdt_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(HlcShmemSize());
	RequestAddinShmemSpace(ReplicatorShmemSize());
	/* [0] the clock's ceiling file, [1] the replicator's slots */
	RequestNamedLWLockTranche("edge_crdt", 2);
}

static void
edge_crdt_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	HlcShmemInit();
	ReplicatorShmemInit();
}

void
_PG_init(void)
{
	DefineCustomIntVariable("edge_crdt.max_clock_skew",
							gettext_noop("Largest distance a remote clock may run ahead of the local wall clock."),
							gettext_noop("A remote version further in the future is rejected and the peer is stopped."),
							&edge_crdt_max_clock_skew,
							60000,
							1,
							INT_MAX,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	GraphDefineGucs();
	ConflictDefineGucs();
	MaintenanceDefineGucs();
	StreamDefineGucs();

	MarkGUCPrefixReserved("edge_crdt");

	if (!process_shared_preload_libraries_in_progress)
		return;

	edge_crdt_preloaded = true;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = edge_crdt_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = edge_crdt_shmem_startup;

	ReplicatorRegisterLauncher();
}
