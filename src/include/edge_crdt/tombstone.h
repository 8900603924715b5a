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
#include "access/xlogdefs.h"
#include "edge_crdt/crdt_core.h"
#include "edge_crdt/relinfo.h"

extern bytea *TombstoneKeyFromTuple(ReplRelInfo *info, TupleDesc desc,
									HeapTuple tuple);

/* Causal length of the key's tombstone, or 0 when it has none. */
extern int64 TombstoneLookup(Oid relid, bytea *key);

/*
 * What a local insert of key must exceed: its tombstone's causal length or
 * the table's floor (the greatest of its collected tombstones), whichever
 * is greater.
 */
extern int64 TombstoneLookupWithFloor(Oid relid, bytea *key);

/* Has the table any tombstone (the floor does not count)? */
extern bool TombstoneLookupAny(Oid relid);

/*
 * Record (or raise) the key's tombstone; a smaller cl never wins.
 * origin_lsn is the commit position of the deleting transaction on the node
 * that deleted (InvalidXLogRecPtr for a local deletion, or when unknown);
 * tombstone collection needs it (sql/install/88_gc.sql).
 */
extern void TombstoneWrite(Oid relid, bytea *key, int64 cl, CrdtVersion version,
						   XLogRecPtr origin_lsn);

/* Smallest odd causal length above a tombstone's (1 without one). */
static inline int64
TombstoneNextAliveCl(int64 tombstone_cl)
{
	return (tombstone_cl % 2 == 0) ? tombstone_cl + 1 : tombstone_cl + 2;
}

#endif							/* EDGE_CRDT_TOMBSTONE_H */
