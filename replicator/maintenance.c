/*-------------------------------------------------------------------------
 * maintenance.c
 *	  Periodic jobs of the per-database manager.
 *
 * The jobs themselves are SQL: edge_crdt.collect_tombstones() followed by
 * edge_crdt.emit_frontier() (sql/install/88_gc.sql, which also holds the
 * condition and why it is safe), and edge_crdt.stream_trim()
 * (sql/install/90_stream.sql).  This decides when, and keeps an error in
 * one from taking the manager, which also runs the peer workers, down.
 *
 * Streams are trimmed one per transaction: a trim that truncates or rotates
 * a stream holds locks that stop its publishers and readers until it
 * commits, which should not wait for the counting of the next streams; and
 * an error in one stream does not keep the others from being trimmed.
 *
 * Collection runs before the frontier is written, in one transaction: the
 * frontier is then committed after the position this node's own deletions
 * were just stamped with, so peers that apply it report them as applied.
 *
 * IDENTIFICATION
 *	  replicator/maintenance.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "edge_crdt/maintenance.h"

typedef struct MaintenanceJob
{
	const char *what;			/* for pg_stat_activity and errors */
	const char *items_sql;		/* NULL, or the items to run sql for, one each */
	const char *sql;			/* with items, the item is $1 (text) */
	int		   *interval_ms;	/* 0: off */
	TimestampTz last_run;
} MaintenanceJob;

static int	gc_interval_ms = 10000;
static int	gc_retention_s = 86400;
static int	trim_interval_ms = 60000;

static MaintenanceJob gc_job = {
	"collecting tombstones",
	NULL,
	"SELECT edge_crdt.collect_tombstones(), edge_crdt.emit_frontier()",
	&gc_interval_ms, 0
};
static MaintenanceJob trim_job = {
	"trimming streams",
	"SELECT name FROM edge_crdt.stream ORDER BY stream_id",
	"SELECT edge_crdt.stream_trim($1)",
	&trim_interval_ms, 0
};

void
MaintenanceDefineGucs(void)
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
	DefineCustomIntVariable("edge_crdt.stream_trim_interval",
							gettext_noop("How often each database trims its streams (edge_crdt.stream_trim())."),
							gettext_noop("0 leaves trimming to whoever calls stream_trim()."),
							&trim_interval_ms,
							60000,
							0,
							INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/*
 * Run sql, with $1 = arg unless arg is NULL, in a transaction of its own.
 * An error is reported and rolled back, never thrown.  With items, the
 * first column of every row is appended to *items as text, in the caller's
 * memory context.
 */
static void
maintenance_run_sql(const MaintenanceJob *job, const char *sql, const char *arg, List **items)
{
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		Oid			argtype = TEXTOID;
		Datum		value;
		int			ret;
		uint64		i;

		PushActiveSnapshot(GetTransactionSnapshot());
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		pgstat_report_activity(STATE_RUNNING, job->what);
		if (arg != NULL)
		{
			value = CStringGetTextDatum(arg);
			ret = SPI_execute_with_args(sql, 1, &argtype, &value, NULL, false, 0);
		}
		else
			ret = SPI_execute(sql, false, 0);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "edge_crdt manager: %s failed", job->what);
		for (i = 0; items != NULL && i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			*items = lappend(*items, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
			MemoryContextSwitchTo(old);
		}
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
	MemoryContextSwitchTo(cxt);
	pgstat_report_activity(STATE_IDLE, NULL);
}

static void
maintenance_run_job(MaintenanceJob *job)
{
	TimestampTz now = GetCurrentTimestamp();
	MemoryContext cxt;
	MemoryContext old;
	List	   *items = NIL;
	ListCell   *lc;

	if (*job->interval_ms <= 0 ||
		!TimestampDifferenceExceeds(job->last_run, now, *job->interval_ms))
		return;
	job->last_run = now;

	if (job->items_sql == NULL)
	{
		maintenance_run_sql(job, job->sql, NULL, NULL);
		return;
	}
	cxt = AllocSetContextCreate(CurrentMemoryContext, "edge_crdt maintenance items",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	maintenance_run_sql(job, job->items_sql, NULL, &items);
	foreach(lc, items)
		maintenance_run_sql(job, job->sql, (const char *) lfirst(lc), NULL);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
}

void
MaintenanceRun(bool has_peers, bool has_streams)
{
	if (has_peers)
		maintenance_run_job(&gc_job);
	if (has_streams)
		maintenance_run_job(&trim_job);
}
