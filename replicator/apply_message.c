/*-------------------------------------------------------------------------
 * apply_message.c
 *	  Hand a MESSAGE received from a peer to the module of its kind.
 *
 * Table and DDL messages are handled by SQL functions of the extension
 * (sql/install/87_ddl.sql): they run DDL and catalog checks, which are
 * SQL's job, and they are rare.
 *
 * IDENTIFICATION
 *	  replicator/apply_message.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "edge_crdt/message.h"
#include "edge_crdt/stream.h"

static bool copy_requested = false;

bool
ApplyCopyRequested(void)
{
	bool		requested = copy_requested;

	copy_requested = false;
	return requested;
}

/* Run the SQL handler of a table or DDL message; true if it says so. */
static bool
apply_sql_handler(const char *sql, const WireMessage *msg, int32 origin_node)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		values[2];
	bool		isnull;
	bool		result;

	values[0] = PointerGetDatum(cstring_to_text_with_len(msg->content.data + 1,
														 msg->content.len - 1));
	values[1] = Int32GetDatum(origin_node);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 2, types, values, NULL, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not apply an edge_crdt message");
	result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										1, &isnull));
	SPI_finish();
	return !isnull && result;
}

void
ApplyWireMessage(const WireMessage *msg, const char *peer, int32 origin_node)
{
	if (!msg->transactional || msg->content.len < 1 ||
		msg->prefix.len != strlen(EDGE_CRDT_MESSAGE_PREFIX) ||
		memcmp(msg->prefix.data, EDGE_CRDT_MESSAGE_PREFIX, msg->prefix.len) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("peer \"%s\" sent a message edge_crdt does not send", peer)));

	switch (msg->content.data[0])
	{
		case EDGE_CRDT_MSG_STREAM:
			StreamApplyRemote(msg->content.data + 1, msg->content.len - 1,
							  origin_node);
			break;
		case EDGE_CRDT_MSG_MARKER:
			break;
		case EDGE_CRDT_MSG_TABLE:
			if (apply_sql_handler("SELECT edge_crdt.apply_table_message($1::jsonb, $2)",
								  msg, origin_node))
				copy_requested = true;
			break;
		case EDGE_CRDT_MSG_DDL:
			(void) apply_sql_handler("SELECT edge_crdt.apply_ddl_message($1::jsonb, $2)",
									 msg, origin_node);
			break;
		case EDGE_CRDT_MSG_FRONTIER:
			(void) apply_sql_handler("SELECT edge_crdt.apply_frontier_message($1::jsonb, $2)",
									 msg, origin_node);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("peer \"%s\" sent a message of unknown kind '%c'",
							peer, msg->content.data[0]),
					 errhint("The peer runs a newer edge_crdt; upgrade this node, then retry the quarantined transaction.")));
	}
}
