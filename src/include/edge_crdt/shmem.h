/*-------------------------------------------------------------------------
 * shmem.h
 *	  Whether edge_crdt's shared state exists in this server.
 *
 * The library can be loaded without shared_preload_libraries (CREATE
 * EXTENSION, a direct function call, logical decoding); everything that needs
 * shared memory calls EdgeCrdtRequireSharedState() first so the user gets a
 * clear error instead of a crash.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/shmem.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_SHMEM_H
#define EDGE_CRDT_SHMEM_H

/* true once _PG_init ran during shared_preload_libraries processing */
extern bool edge_crdt_preloaded;

extern void EdgeCrdtRequireSharedState(void);

#endif							/* EDGE_CRDT_SHMEM_H */
