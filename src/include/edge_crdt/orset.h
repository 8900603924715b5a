/*-------------------------------------------------------------------------
 * orset.h
 *	  Add-wins observed-remove set of text elements (edge_crdt.orset).
 *
 * The state follows the ORSWOT design (Bieniusa et al., "An optimized
 * conflict-free replicated set"; riak_dt_orswot): a causal context, kept as
 * a version vector node -> highest counter seen, plus a map element -> set of
 * dots (node, counter).  A dot names one add event.  A removed element keeps
 * no tombstone: the version vector says its dots were seen, and that is
 * enough for a merge to know the element was removed rather than not yet
 * added.
 *
 *	  add x at node i	 vv[i] += 1; entries[x] = {(i, vv[i])}
 *						 (x's earlier dots were all observed, so they go)
 *	  remove x			 drop entries[x]; no new dot
 *	  merge(A, B)		 vv = pointwise max; a dot of x survives when both
 *						 sides have it, or when the other side's vv does not
 *						 cover it (the other side has not seen it, so its
 *						 absence there is not a removal); elements left with
 *						 no dots disappear
 *	  leq(A, B)			 vv_A <= vv_B pointwise and every dot of B that vv_A
 *						 covers is also a dot of the same element in A;
 *						 exactly "merge(A, B) = B"
 *
 * A concurrent add and remove of the same element therefore keep the
 * element (add wins): the remove only drops dots it observed.
 *
 * A state is valid when every dot is covered by its own version vector
 * (counter <= vv[node]), node ids are positive int4 values and counters are
 * positive.  Elements are byte strings without NUL bytes (text values).
 *
 * Text format (canonical on output, any whitespace between tokens on input):
 *
 *	  {"apple":[1000.3],"pear":[7.2,1000.4]}@{7:2,1000:4}
 *	  {}@{}											(the empty set)
 *
 * The element map comes first: each element is a double-quoted string
 * followed by ':' and its non-empty list of dots written node.counter; then
 * '@' and the version vector as node:counter pairs.  In strings, '"' and '\'
 * are escaped as \" and \\; control characters (bytes below 0x20 and 0x7f)
 * are written as \b \f \n \r \t or \u00XX; every other byte, including
 * UTF-8 sequences, is written as is.  Input also accepts \/ and \uXXXX for
 * code points 0x01 to 0x7f (a \u escape never produces a multibyte
 * character, so the result does not depend on the server encoding).
 * Output lists elements by bytes (memcmp, then shorter first), each
 * element's dots by (node, counter) and the version vector by node, and
 * omits zero vv entries (input accepts and drops them).  Input rejects a
 * repeated element, a repeated dot in one element, a repeated vv node, an
 * element with no dots and a dot the vv does not cover.
 *
 * Binary format (send/recv), big-endian:
 *
 *	  uint8 version (1)
 *	  uint32 nvv, then nvv times: int32 node, int64 counter (counter > 0)
 *	  uint32 nelems, then nelems times:
 *		  uint32 len, len bytes, uint32 ndots (> 0),
 *		  then ndots times: int32 node, int64 counter
 *
 * with the same ordering and validity rules as canonical text; receive
 * rejects anything else (unsorted, duplicate, uncovered, truncated,
 * trailing bytes).  The core decodes raw element bytes; the fmgr layer
 * converts them between client and server encoding like textsend/textrecv.
 *
 * On-disk layout: a varlena (set by the fmgr layer) whose payload is
 * OrSet's header, then OrSetDot vv[nvv], OrSetDot dots[ndots],
 * OrSetElem elems[nelems] and the element bytes back to back.  Everything is
 * in canonical order and padding is zero, so equal states have equal bytes.
 * The type is declared with double alignment, so the int64 counters are
 * naturally aligned.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/orset.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_ORSET_H
#define EDGE_CRDT_ORSET_H

#include "edge_crdt/crdt_core.h"

/*
 * Size bounds.  A state may hold at most ORSET_MAX_ELEMENTS elements, each
 * at most ORSET_MAX_ELEMENT_BYTES long, and its flat layout (header, vv,
 * dots, element entries and bytes) may take at most ORSET_MAX_BYTES.  Going
 * past any of them, including by a merge, is CRDT_ERR_TOO_LARGE.
 */
#define ORSET_MAX_ELEMENT_BYTES		8192
#define ORSET_MAX_ELEMENTS			100000
#define ORSET_MAX_BYTES				(64 * 1024 * 1024)

#define ORSET_BINARY_VERSION		1

/* A dot, and also a version vector entry (node -> highest counter). */
typedef struct OrSetDot
{
	int32_t		node;
	int32_t		pad;			/* always zero: states compare bytewise */
	int64_t		counter;
} OrSetDot;

typedef struct OrSetElem
{
	uint32_t	off;			/* offset of the bytes in the string area */
	uint32_t	len;
	uint32_t	dot_off;		/* index of the first dot in the dot array */
	uint32_t	ndots;
} OrSetElem;

typedef struct OrSet
{
	int32_t		vl_len_;		/* varlena header: the fmgr layer sets it */
	uint32_t	nvv;
	uint32_t	nelems;
	uint32_t	ndots;
	uint32_t	strbytes;
	uint32_t	pad;			/* zero; keeps the arrays 8-byte aligned */
	/* OrSetDot vv[nvv], dots[ndots]; OrSetElem elems[nelems]; char str[] */
} OrSet;

/* An element given to an operation: bytes, not NUL-terminated. */
typedef struct OrSetStr
{
	const char *data;
	uint32_t	len;
} OrSetStr;

static inline const OrSetDot *
orset_vv(const OrSet *s)
{
	return (const OrSetDot *) (s + 1);
}

static inline const OrSetDot *
orset_dots(const OrSet *s)
{
	return orset_vv(s) + s->nvv;
}

static inline const OrSetElem *
orset_elems(const OrSet *s)
{
	return (const OrSetElem *) (orset_dots(s) + s->ndots);
}

static inline const char *
orset_strings(const OrSet *s)
{
	return (const char *) (orset_elems(s) + s->nelems);
}

/* Bytes of the whole flat state, varlena header included. */
static inline size_t
orset_total_size(const OrSet *s)
{
	return sizeof(OrSet) + (size_t) s->nvv * sizeof(OrSetDot) +
		(size_t) s->ndots * sizeof(OrSetDot) +
		(size_t) s->nelems * sizeof(OrSetElem) + s->strbytes;
}

/* Element i's bytes (not NUL-terminated). */
static inline OrSetStr
orset_element(const OrSet *s, uint32_t i)
{
	OrSetStr	r;
	const OrSetElem *e = &orset_elems(s)[i];

	r.data = orset_strings(s) + e->off;
	r.len = e->len;
	return r;
}

extern OrSet *orset_empty(CrdtAllocFn alloc);

/* Text and binary forms; see above. */
extern CrdtStatus orset_parse(const char *str, OrSet **out,
							  CrdtAllocFn alloc, CrdtError *err);
extern char *orset_print(const OrSet *s, CrdtAllocFn alloc);
extern void orset_encode(const OrSet *s, CrdtBuf *buf);
extern CrdtStatus orset_decode(const void *data, size_t len, OrSet **out,
							   CrdtAllocFn alloc, CrdtError *err);

/*
 * The same state with element i's bytes replaced by elems[i], re-sorted
 * into canonical order (used for encoding conversion).  Fails if two
 * elements become equal or a bound is exceeded.
 */
extern CrdtStatus orset_replace_elements(const OrSet *s, const OrSetStr *elems,
										 OrSet **out, CrdtAllocFn alloc,
										 CrdtError *err);

/* Lattice. */
extern CrdtStatus orset_merge(const OrSet *a, const OrSet *b, OrSet **out,
							  CrdtAllocFn alloc, CrdtError *err);
extern bool orset_leq(const OrSet *a, const OrSet *b);
extern bool orset_equal(const OrSet *a, const OrSet *b);

/*
 * Local operations at node.  add gives every distinct element of elems one
 * fresh dot (in byte order, so the result does not depend on the order of
 * elems); remove drops the listed elements that are present.
 */
extern CrdtStatus orset_add(const OrSet *s, int32_t node,
							const OrSetStr *elems, uint32_t n, OrSet **out,
							CrdtAllocFn alloc, CrdtError *err);
extern CrdtStatus orset_remove(const OrSet *s, const OrSetStr *elems,
							   uint32_t n, OrSet **out,
							   CrdtAllocFn alloc, CrdtError *err);
extern bool orset_contains(const OrSet *s, const char *data, size_t len);

#endif							/* EDGE_CRDT_ORSET_H */
