/*-------------------------------------------------------------------------
 * stream_lease.h
 *	  Shared consumer groups: fresh messages handed out in leases
 *	  (src/stream/stream_lease.c), for read_group in stream_fast.c.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/stream_lease.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_STREAM_LEASE_H
#define EDGE_CRDT_STREAM_LEASE_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "datatype/timestamp.h"
#include "utils/tuplestore.h"

/*
 * What StreamTakeFresh handed out, for ack's map of delivered messages, and
 * when a lease it saw becomes due for redelivery (0: none), for a reader
 * that waits.
 */
typedef struct StreamTaken
{
	TimestampTz next_due;
	int			n;
	int64		lease_id;
	int64	   *pos;
	int32	   *origin;
	int64	   *hlc;
	int32	   *seq;
} StreamTaken;

/*
 * Hand up to count messages of the group that no lease covers to consumer,
 * in one new lease visible again at visible_until; append them to out
 * (read_group's row type) and describe them in *taken.  May move the
 * group's floor, unless it takes nothing and will_sleep (the caller is
 * going to wait in the same transaction).  With redeliveries_first,
 * returns false having done nothing if a committed lease is due for
 * redelivery (the caller hands those out first, then calls again without).
 * The caller is connected to SPI.
 */
extern bool StreamTakeFresh(int32 stream_id, int32 group_id, Datum consumer,
							int count, TimestampTz now, TimestampTz visible_until,
							bool redeliveries_first, bool will_sleep,
							Tuplestorestate *out, TupleDesc outdesc,
							StreamTaken *taken);

/* qsort / bsearch order of int64 positions. */
extern int	StreamCmpInt64(const void *a, const void *b);

#endif							/* EDGE_CRDT_STREAM_LEASE_H */
