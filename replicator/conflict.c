/*-------------------------------------------------------------------------
 * conflict.c
 *	  Make the apply's conflict resolutions visible: one row per resolved
 *	  conflict in edge_crdt.conflicts when edge_crdt.log_conflicts is on.
 *
 * The rows are written in the apply's own transaction, so a quarantined
 * or rolled-back remote transaction leaves no conflict records behind.
 *
 * IDENTIFICATION
 *	  replicator/conflict.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "edge_crdt/conflict.h"

bool		edge_crdt_log_conflicts = false;

static const char *const kind_names[] = {
	[CONFLICT_LOCAL_WON] = "local_won",
	[CONFLICT_CRDT_MERGED] = "crdt_merged",
	[CONFLICT_INCARNATION_LOST] = "incarnation_lost",
	[CONFLICT_DELETE_LOST] = "delete_lost"
};

void
ConflictDefineGucs(void)
{
	DefineCustomBoolVariable("edge_crdt.log_conflicts",
							 gettext_noop("Records every conflict the apply resolves in edge_crdt.conflicts."),
							 gettext_noop("Resolution does not depend on it; the counts in edge_crdt.peers are kept either way."),
							 &edge_crdt_log_conflicts,
							 false,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

static Datum
version_text(CrdtVersion v)
{
	if (v.hlc == 0)
		return (Datum) 0;
	return CStringGetTextDatum(psprintf(INT64_FORMAT "@%d", (int64) v.hlc, v.node));
}

void
ConflictLog(const char *peer, Relation rel, const char *key,
			const ConflictRecord *records, int nrecords)
{
	static SPIPlanPtr plan = NULL;
	int			i;

	if (!edge_crdt_log_conflicts || nrecords == 0)
		return;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (plan == NULL)
	{
		Oid			types[9] = {TEXTOID, OIDOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, INT8OID, INT8OID};
		SPIPlanPtr	p;

		p = SPI_prepare("INSERT INTO edge_crdt.conflicts (peer_name, relid, key, column_name, "
						"kind, local_version, remote_version, local_cl, remote_cl) "
						"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", 9, types);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	for (i = 0; i < nrecords; i++)
	{
		const ConflictRecord *r = &records[i];
		Datum		values[9];
		char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

		values[0] = CStringGetTextDatum(peer);
		values[1] = ObjectIdGetDatum(RelationGetRelid(rel));
		values[2] = CStringGetTextDatum(key);
		if (r->column)
			values[3] = CStringGetTextDatum(r->column);
		else
			nulls[3] = 'n';
		values[4] = CStringGetTextDatum(kind_names[r->kind]);
		values[5] = version_text(r->local);
		if (values[5] == (Datum) 0)
			nulls[5] = 'n';
		values[6] = version_text(r->remote);
		if (values[6] == (Datum) 0)
			nulls[6] = 'n';
		values[7] = Int64GetDatum(r->local_cl);
		values[8] = Int64GetDatum(r->remote_cl);
		if (SPI_execute_plan(plan, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into edge_crdt.conflicts");
	}
	SPI_finish();
}
