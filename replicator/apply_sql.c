/*-------------------------------------------------------------------------
 * apply_sql.c
 *	  edge_crdt.apply_change(bytea): apply one change-set message from SQL.
 *
 * The replicator applies changes from a peer connection; this entry point
 * lets tests (and a DBA replaying a recorded change) feed one ROW or DELETE
 * message through the very same merge, in the caller's transaction.  Like
 * the apply worker it runs with session_replication_role = replica, so the
 * capture triggers stay quiet and the merged metadata is what is written;
 * the setting is restored when the call returns.
 *
 * The merge writes rows without privilege checks on the target table, so
 * the function is revoked from PUBLIC (sql/install/70_apply.sql).
 *
 * IDENTIFICATION
 *	  replicator/apply_sql.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "edge_crdt/apply.h"
#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/message.h"
#include "edge_crdt/wire.h"

/* How errors (e.g. the clock skew check) name the source of the change. */
#define APPLY_SQL_PEER	"edge_crdt.apply_change()"

PG_FUNCTION_INFO_V1(apply_change_sql);
Datum
apply_change_sql(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	WireMessage msg;
	CrdtError	err;
	ApplyStats	stats;
	int			nestlevel;

	if (wire_decode(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), &msg,
					crdt_palloc, &err) != CRDT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid edge_crdt change set"),
				 errdetail("%s.", err.message)));
	if (msg.type != WIRE_ROW && msg.type != WIRE_DELETE && msg.type != WIRE_MESSAGE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("edge_crdt.apply_change applies only row, delete and message messages"),
				 errdetail("The message is a %s message.",
						   wire_msg_type_name(msg.type))));

	memset(&stats, 0, sizeof(stats));
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("session_replication_role", "replica",
							 PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
	if (msg.type == WIRE_MESSAGE)
		ApplyWireMessage(&msg, APPLY_SQL_PEER, 0);
	else
		ApplyWireChange(&msg, APPLY_SQL_PEER, 0, InvalidXLogRecPtr, &stats);
	AtEOXact_GUC(true, nestlevel);

	/* What the merge did, for tests that want to see it. */
	ereport(DEBUG1,
			(errmsg_internal("edge_crdt apply: inserted " INT64_FORMAT
							 ", updated " INT64_FORMAT ", deleted " INT64_FORMAT
							 ", skipped " INT64_FORMAT ", conflicts " INT64_FORMAT,
							 stats.rows_inserted, stats.rows_updated,
							 stats.rows_deleted, stats.rows_skipped,
							 stats.conflicts)));
	PG_RETURN_VOID();
}
