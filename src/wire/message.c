/*-------------------------------------------------------------------------
 * message.c
 *	  Writing edge_crdt messages into the change stream (message.h).
 *
 * IDENTIFICATION
 *	  src/wire/message.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
