/*-------------------------------------------------------------------------
 * gc.h
 *	  Tombstone collection and frontiers, driven by the per-database
 *	  manager (replicator/gc.c; the condition and its proof are in
 *	  sql/install/88_gc.sql).
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/gc.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_GC_H
#define EDGE_CRDT_GC_H

extern void GcDefineGucs(void);

/*
 * Called by the manager on every turn: once per edge_crdt.tombstone_gc_interval
 * it collects what tombstones it can and writes this node's frontier.
 * Errors are logged, never raised: the manager must stay up.
 */
extern void GcMaybeRun(void);

#endif							/* EDGE_CRDT_GC_H */
