/*-------------------------------------------------------------------------
 * hlc.h
 *	  Hybrid logical clock shared by every backend of the cluster.
 *
 * A timestamp is an int8: (unix milliseconds << 16) | logical counter.  The
 * clock lives in shared memory and only moves forward; a persisted ceiling
 * keeps it from going backwards across restarts.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/hlc.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_HLC_H
#define EDGE_CRDT_HLC_H

#define HLC_LOGICAL_BITS	16
#define HLC_FROM_MS(ms)		((int64) (ms) << HLC_LOGICAL_BITS)
#define HLC_TO_MS(h)		((int64) (h) >> HLC_LOGICAL_BITS)

/* GUC: how far (ms) a remote version may run ahead of our wall clock. */
extern int	edge_crdt_max_clock_skew;

extern Size HlcShmemSize(void);
extern void HlcShmemInit(void);

/* A fresh timestamp, strictly greater than any issued or observed before. */
extern int64 HlcNow(void);

/* The same, with a logical part below logical_limit (see hlc.c). */
extern int64 HlcNowBounded(uint32 logical_limit);

/*
 * Advance past a remote timestamp.  peer names the source for the error
 * raised when the value is more than max_clock_skew ahead of our wall clock
 * (NULL for a value given directly by a user).
 */
extern int64 HlcObserve(int64 remote, const char *peer);

#endif							/* EDGE_CRDT_HLC_H */
