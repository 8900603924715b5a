/*-------------------------------------------------------------------------
 * node.h
 *	  This database's node identity (edge_crdt.node).
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/node.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_NODE_H
#define EDGE_CRDT_NODE_H

/*
 * The local node id, cached per backend.  Returns 0 when create_node() has
 * not been called and missing_ok; otherwise that case raises an error whose
 * hint says to call edge_crdt.create_node().
 */
extern int32 EdgeCrdtLocalNodeId(bool missing_ok);

/*
 * The part of a node id that goes into every edge_crdt.next_id() value
 * (next_id.c).  Ids are unique across the mesh only if no two nodes share
 * it, so add_peer refuses a peer that has ours.
 */
#define NODE_ID_PREFIX_BITS		12
#define NodeIdPrefix(node)		((int32) ((node) & ((1 << NODE_ID_PREFIX_BITS) - 1)))

/*
 * Node, region and peer names appear in slot names, logs and views: 1-63
 * bytes of ASCII letters, digits, "_" and "-", starting with a letter.
 * "what" names the argument in the error.
 */
extern void EdgeCrdtValidateName(const char *what, const char *value);

#endif							/* EDGE_CRDT_NODE_H */
