/*-------------------------------------------------------------------------
 * stream_apply.c
 *	  Placeholder until the stream module (issue 7) lands: a stream message
 *	  from a peer is an error, which the replicator quarantines.
 *
 * IDENTIFICATION
 *	  src/stream/stream_apply.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "edge_crdt/stream.h"

void
StreamApplyRemote(const char *body, uint32 len, int32 origin_node)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("streams are not available on this node")));
}
