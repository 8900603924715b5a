/*-------------------------------------------------------------------------
 * message.c
 *	  Writing edge_crdt messages into the change stream (message.h).
 *
 * IDENTIFICATION
 *	  src/wire/message.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "replication/message.h"

#include "edge_crdt/message.h"

void
EdgeCrdtEmitMessage(EdgeCrdtMessageKind kind, const char *body, Size len)
{
	char	   *content = palloc(len + 1);

	content[0] = (char) kind;
	memcpy(content + 1, body, len);
	(void) LogLogicalMessage(EDGE_CRDT_MESSAGE_PREFIX, content, len + 1, true);
	pfree(content);
}

/*
 * emit_message(kind "char", body text) returns void
 *	  For the SQL parts of the extension (replicate_table, replicate_ddl).
 */
PG_FUNCTION_INFO_V1(emit_message_sql);
Datum
emit_message_sql(PG_FUNCTION_ARGS)
{
	char		kind = PG_GETARG_CHAR(0);
	text	   *body = PG_GETARG_TEXT_PP(1);

	if (kind != EDGE_CRDT_MSG_TABLE && kind != EDGE_CRDT_MSG_DDL &&
		kind != EDGE_CRDT_MSG_FRONTIER)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("edge_crdt.emit_message() sends only table, DDL and frontier messages")));
	EdgeCrdtEmitMessage(kind, VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body));
	PG_RETURN_VOID();
}
