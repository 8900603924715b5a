/*-------------------------------------------------------------------------
 * gcounter.h
 *	  Grow-only counter (edge_crdt.gcounter) and the node map it is made of.
 *
 * A node map sends node ids (positive int4) to counts (int8 > 0); a node
 * that never counted is absent, because 0 is the bottom of each entry.  The
 * map is a join-semilattice under per-node max and is the one piece of
 * lattice logic behind both counters: a gcounter is one map, a pncounter
 * (pncounter.h) is two of them.  The gcounter_map_* functions are that
 * shared core; the gcounter_* functions wrap one map as a datum.
 *
 * Flat layout (the varlena payload, also what the core works on): a header
 * followed by entries sorted by node id, no duplicates, no zero counts, pad
 * bytes zero.  Equal states therefore have equal bytes.  The header keeps
 * the entries 8-byte aligned; the type is declared ALIGNMENT = double.
 *
 * Text:   {node:count,...}, sorted by node, no spaces, empty "{}".
 * Binary: u8 version (1), u32 n, n x (i32 node, i64 count), big-endian.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/gcounter.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_GCOUNTER_H
#define EDGE_CRDT_GCOUNTER_H

#include "edge_crdt/crdt_core.h"

/*
 * Size bound: at most this many node entries in one counter (for a
 * pncounter: distinct nodes over both halves).  It caps a datum at 64 kB and
 * a merge or update at a few thousand steps, while leaving room for far more
 * nodes than a mesh has.  Exceeding it is CRDT_ERR_TOO_LARGE.
 */
#define GCOUNTER_MAX_ENTRIES	4096

/* Version byte that starts every binary (send/recv) encoding. */
#define GCOUNTER_BINARY_VERSION 1

typedef struct GCounterEntry
{
	int32_t		node;			/* positive node id */
	int32_t		pad;			/* always zero: bytes are compared */
	int64_t		count;			/* > 0 */
} GCounterEntry;

typedef struct GCounter
{
	int32_t		vl_len_;		/* varlena header: only the fmgr layer sets it */
	int32_t		nentries;
	GCounterEntry entries[];	/* sorted by node */
} GCounter;

#define GCOUNTER_SIZE(n) \
	(offsetof(GCounter, entries) + (size_t) (n) * sizeof(GCounterEntry))

/*
 * Node map core, shared with pncounter.  A map is (entries, n) in the
 * canonical form above.  Output arrays are supplied by the caller; the
 * *_count helpers say how large they must be.
 */

/* Index of node, or -(insertion point) - 1 when absent (bsearch style). */
extern int32_t gcounter_map_find(const GCounterEntry *e, int32_t n,
								 int32_t node);

/* Number of distinct nodes in a and b together. */
extern int32_t gcounter_map_union_count(const GCounterEntry *a, int32_t na,
										const GCounterEntry *b, int32_t nb);

/* Per-node max into out (room for gcounter_map_union_count entries). */
extern int32_t gcounter_map_merge(const GCounterEntry *a, int32_t na,
								  const GCounterEntry *b, int32_t nb,
								  GCounterEntry *out);

/* Per-node <=; identical to "merge(a, b) = b". */
extern bool gcounter_map_leq(const GCounterEntry *a, int32_t na,
							 const GCounterEntry *b, int32_t nb);

/*
 * Copy of the map with delta (>= 0) added to node's entry into out (room
 * for n + 1 entries); *nout is the new length.  Fails on overflow; the
 * caller enforces the entry bound.
 */
extern CrdtStatus gcounter_map_add(const GCounterEntry *e, int32_t n,
								   int32_t node, int64_t delta,
								   GCounterEntry *out, int32_t *nout,
								   CrdtError *err);

/* Exact sum of the counts: at most 4096 * 2^63, so 128 bits never wrap. */
extern __int128 gcounter_map_total(const GCounterEntry *e, int32_t n);

/* u32 n, then n x (i32 node, i64 count). */
extern void gcounter_map_encode(CrdtBuf *buf, const GCounterEntry *e,
								int32_t n);

/*
 * Reads what gcounter_map_encode wrote, validating it: the count is checked
 * against the bound and the remaining bytes before anything is allocated,
 * nodes must be valid and strictly ascending, counts positive.
 */
extern CrdtStatus gcounter_map_decode(CrdtReader *r, CrdtAllocFn alloc,
									  GCounterEntry **out, int32_t *n,
									  CrdtError *err);

/*
 * Text scanning shared by both counters: "{node:<value>,...}" in any order,
 * whitespace between tokens.  parse_value reads one <value> into up to
 * GCOUNTER_TEXT_MAX_VALUES int64s.  Items come back sorted by node; a
 * duplicate node or more than GCOUNTER_MAX_ENTRIES items is an error.
 */
#define GCOUNTER_TEXT_MAX_VALUES 2

typedef struct GCounterTextItem
{
	int32_t		node;
	int64_t		value[GCOUNTER_TEXT_MAX_VALUES];
} GCounterTextItem;

typedef bool (*GCounterValueParser) (const char **p, int32_t node,
									 int64_t *value, CrdtError *err);

extern CrdtStatus gcounter_text_scan(const char *text,
									 GCounterValueParser parse_value,
									 const char *typname, CrdtAllocFn alloc,
									 GCounterTextItem **items, int32_t *n,
									 CrdtError *err);

/* Reads the version byte of a binary encoding. */
extern CrdtStatus gcounter_decode_version(CrdtReader *r, const char *typname,
										  CrdtError *err);

/*
 * The gcounter datum.  Results are freshly allocated with vl_len_ zero;
 * the fmgr layer stamps the varlena size.
 */
extern GCounter *gcounter_empty(CrdtAllocFn alloc);
extern CrdtStatus gcounter_parse(const char *text, CrdtAllocFn alloc,
								 GCounter **out, CrdtError *err);
extern char *gcounter_print(const GCounter *c, CrdtAllocFn alloc);
extern void gcounter_encode(const GCounter *c, CrdtBuf *buf);
extern CrdtStatus gcounter_decode(const void *data, size_t len,
								  CrdtAllocFn alloc, GCounter **out,
								  CrdtError *err);
extern CrdtStatus gcounter_merge(const GCounter *a, const GCounter *b,
								 CrdtAllocFn alloc, GCounter **out,
								 CrdtError *err);
extern bool gcounter_leq(const GCounter *a, const GCounter *b);
extern bool gcounter_equal(const GCounter *a, const GCounter *b);

/* Adds delta (>= 0) to node's entry: always an inflation. */
extern CrdtStatus gcounter_add(const GCounter *c, int32_t node, int64_t delta,
							   CrdtAllocFn alloc, GCounter **out,
							   CrdtError *err);
extern CrdtStatus gcounter_value(const GCounter *c, int64_t *out,
								 CrdtError *err);

#endif							/* EDGE_CRDT_GCOUNTER_H */
