/*-------------------------------------------------------------------------
 * tombstone.h
 *	  Tombstones of deleted rows (edge_crdt.tombstone) and the primary-key
 *	  encoding that identifies a row across incarnations.
 *
 * A key is the concatenation, in primary-key column order, of
 *	  uint8 kind ('b' binary send format, 't' text), uint32 length, bytes
 * Binary send output does not depend on session settings (DateStyle,
 * extra_float_digits...), so the same key always encodes to the same bytes.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/tombstone.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_TOMBSTONE_H
#define EDGE_CRDT_TOMBSTONE_H

#include "access/htup.h"
#include "edge_crdt/crdt_core.h"
#include "edge_crdt/relinfo.h"

extern bytea *TombstoneKeyFromTuple(ReplRelInfo *info, TupleDesc desc,
									HeapTuple tuple);

/* Causal length of the key's tombstone, or 0 when it has none. */
extern int64 TombstoneLookup(Oid relid, bytea *key);

/* Has the table any tombstone? */
extern bool TombstoneLookupAny(Oid relid);

/* Record (or raise) the key's tombstone; a smaller cl never wins. */
extern void TombstoneWrite(Oid relid, bytea *key, int64 cl, CrdtVersion version);

/* Smallest odd causal length above a tombstone's (1 without one). */
static inline int64
TombstoneNextAliveCl(int64 tombstone_cl)
{
	return (tombstone_cl % 2 == 0) ? tombstone_cl + 1 : tombstone_cl + 2;
}

#endif							/* EDGE_CRDT_TOMBSTONE_H */
