/*-------------------------------------------------------------------------
 * conflict.h
 *	  Recording how the apply resolved concurrent writes
 *	  (replicator/conflict.c, table edge_crdt.conflicts).
 *
 * Resolution itself is the lattice merge in apply.c and never depends on
 * this module; it only makes the outcomes visible to DBAs when
 * edge_crdt.log_conflicts is on.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/conflict.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_CONFLICT_H
#define EDGE_CRDT_CONFLICT_H

#include "edge_crdt/crdt_core.h"
#include "utils/relcache.h"

typedef enum ConflictKind
{
	CONFLICT_LOCAL_WON,			/* plain column: our newer version kept */
	CONFLICT_CRDT_MERGED,		/* CRDT column: both sides contributed */
	CONFLICT_INCARNATION_LOST,	/* remote row of an incarnation that is dead here */
	CONFLICT_DELETE_LOST		/* remote delete of an incarnation older than ours */
} ConflictKind;

typedef struct ConflictRecord
{
	ConflictKind kind;
	const char *column;			/* NULL for row-level kinds */
	CrdtVersion local;
	CrdtVersion remote;
	int64		local_cl;
	int64		remote_cl;
} ConflictRecord;

extern bool edge_crdt_log_conflicts;

extern void ConflictDefineGucs(void);

/* Insert records into edge_crdt.conflicts (when log_conflicts is on). */
extern void ConflictLog(const char *peer, Relation rel, const char *key,
						const ConflictRecord *records, int nrecords);

#endif							/* EDGE_CRDT_CONFLICT_H */
