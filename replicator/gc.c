/*-------------------------------------------------------------------------
 * gc.c
 *	  Tombstone collection and frontiers on a timer, in the manager.
 *
 * The work itself is SQL (edge_crdt.collect_tombstones() and
 * edge_crdt.emit_frontier(), sql/install/88_gc.sql, which also holds the
 * condition and why it is safe); this only decides when, and keeps an error
 * from taking the manager, which also runs the peer workers, down.
 *
 * Collection runs before the frontier is written, in one transaction: the
 * frontier then also carries this node's own stamped deletions past the
 * position they were stamped with, so peers can report them as applied.
 *
 * IDENTIFICATION
 *	  replicator/gc.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "edge_crdt/gc.h"

static int	gc_interval_ms = 10000;
static int	gc_retention_s = 86400;
static TimestampTz gc_last_run = 0;

void
GcDefineGucs(void)
{
	DefineCustomIntVariable("edge_crdt.tombstone_gc_interval",
							gettext_noop("How often each database collects tombstones and writes its frontier."),
							gettext_noop("Peers need this node's frontiers before they can collect; 0 turns both off."),
							&gc_interval_ms,
							10000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("edge_crdt.tombstone_retention",
							gettext_noop("Tombstones younger than this are kept even once every node has them."),
							gettext_noop("A safety margin on top of causal stability; -1 keeps every tombstone."),
							&gc_retention_s,
							86400,
							-1,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}

void
GcMaybeRun(void)
{
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt = CurrentMemoryContext;

	if (gc_interval_ms <= 0 ||
		!TimestampDifferenceExceeds(gc_last_run, now, gc_interval_ms))
		return;
	gc_last_run = now;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		pgstat_report_activity(STATE_RUNNING, "collecting tombstones");
		if (SPI_execute("SELECT edge_crdt.collect_tombstones(), edge_crdt.emit_frontier()",
						false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not collect tombstones");
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);
}
