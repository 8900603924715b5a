/*-------------------------------------------------------------------------
 * pncounter.h
 *	  Increment/decrement counter (edge_crdt.pncounter): two node maps.
 *
 * P counts each node's increments and N its decrements; both are the
 * grow-only node maps of gcounter.h, so every lattice operation is the node
 * map's applied to each half, and the value is sum(P) - sum(N).
 *
 * Flat layout: header, then the npos entries of P, then the nneg entries of
 * N, each half in canonical node-map form (sorted, no zero counts, pad zero).
 *
 * Text:   {node:+p-n,...}, sorted by node, one item per node that has a
 *         non-zero p or n, no spaces, e.g. {7:+5-2,9:+0-3}; empty "{}".
 * Binary: u8 version (1), then P and N each as u32 n, n x (i32 node,
 *         i64 count), big-endian.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/pncounter.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_PNCOUNTER_H
#define EDGE_CRDT_PNCOUNTER_H

#include "edge_crdt/gcounter.h"

/*
 * Size bound: at most this many distinct nodes over P and N together, so a
 * pncounter prints to at most as many items as a gcounter.  Exceeding it is
 * CRDT_ERR_TOO_LARGE.
 */
#define PNCOUNTER_MAX_NODES		GCOUNTER_MAX_ENTRIES

typedef struct PNCounter
{
	int32_t		vl_len_;		/* varlena header: only the fmgr layer sets it */
	int32_t		npos;			/* entries of P */
	int32_t		nneg;			/* entries of N, after P's */
	int32_t		pad;			/* always zero; keeps entries 8-byte aligned */
	GCounterEntry entries[];
} PNCounter;

#define PNCOUNTER_SIZE(np, nn) \
	(offsetof(PNCounter, entries) + \
	 ((size_t) (np) + (size_t) (nn)) * sizeof(GCounterEntry))
#define PNCOUNTER_POS(c)	((c)->entries)
#define PNCOUNTER_NEG(c)	((c)->entries + (c)->npos)

/* Results are freshly allocated with vl_len_ zero, as for gcounter. */
extern PNCounter *pncounter_empty(CrdtAllocFn alloc);
extern CrdtStatus pncounter_parse(const char *text, CrdtAllocFn alloc,
								  PNCounter **out, CrdtError *err);
extern char *pncounter_print(const PNCounter *c, CrdtAllocFn alloc);
extern void pncounter_encode(const PNCounter *c, CrdtBuf *buf);
extern CrdtStatus pncounter_decode(const void *data, size_t len,
								   CrdtAllocFn alloc, PNCounter **out,
								   CrdtError *err);
extern CrdtStatus pncounter_merge(const PNCounter *a, const PNCounter *b,
								  CrdtAllocFn alloc, PNCounter **out,
								  CrdtError *err);
extern bool pncounter_leq(const PNCounter *a, const PNCounter *b);
extern bool pncounter_equal(const PNCounter *a, const PNCounter *b);

/*
 * c + delta and c - delta for node: a positive amount grows P, a negative
 * one grows N (and the reverse for sub), so both are inflations.
 */
extern CrdtStatus pncounter_add(const PNCounter *c, int32_t node,
								int64_t delta, CrdtAllocFn alloc,
								PNCounter **out, CrdtError *err);
extern CrdtStatus pncounter_sub(const PNCounter *c, int32_t node,
								int64_t delta, CrdtAllocFn alloc,
								PNCounter **out, CrdtError *err);
extern CrdtStatus pncounter_value(const PNCounter *c, int64_t *out,
								  CrdtError *err);

#endif							/* EDGE_CRDT_PNCOUNTER_H */
