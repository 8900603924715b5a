/*-------------------------------------------------------------------------
 * maintenance.h
 *	  Periodic jobs of the per-database manager (replicator/maintenance.c):
 *	  tombstone collection and frontiers (condition and proof in
 *	  sql/install/88_gc.sql), stream trimming (sql/install/90_stream.sql).
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/maintenance.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_MAINTENANCE_H
#define EDGE_CRDT_MAINTENANCE_H

extern void MaintenanceDefineGucs(void);

/*
 * Called by the manager on every turn; runs each job whose interval has
 * passed (tombstone collection only with peers, stream trimming only with
 * streams).  Errors are logged, never raised: the manager must stay up.
 */
extern void MaintenanceRun(bool has_peers, bool has_streams);

#endif							/* EDGE_CRDT_MAINTENANCE_H */
