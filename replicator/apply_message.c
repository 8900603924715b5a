/*-------------------------------------------------------------------------
 * apply_message.c
 *	  Hand a MESSAGE received from a peer to the module of its kind.
 *
 * IDENTIFICATION
 *	  replicator/apply_message.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "edge_crdt/message.h"
#include "edge_crdt/stream.h"

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
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("peer \"%s\" sent a message of unknown kind '%c'",
							peer, msg->content.data[0]),
					 errhint("The peer runs a newer edge_crdt; upgrade this node, then retry the quarantined transaction.")));
	}
}
