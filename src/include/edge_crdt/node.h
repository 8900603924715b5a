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

#endif							/* EDGE_CRDT_NODE_H */
