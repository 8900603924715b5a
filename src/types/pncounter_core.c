/*-------------------------------------------------------------------------
 * pncounter_core.c
 *	  Backend-independent core of the increment/decrement counter.
 *
 * A pncounter is two grow-only node maps, P and N.  Every lattice, text and
 * binary step is delegated to the gcounter_map_* functions of
 * gcounter_core.c, half by half; this file only lays the halves out side by
 * side and keeps the node bound over their union.
 *
 * IDENTIFICATION
 *	  src/types/pncounter_core.c
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <string.h>

#include "edge_crdt/pncounter.h"

static PNCounter *
pncounter_alloc(int32_t npos, int32_t nneg, CrdtAllocFn alloc)
{
	PNCounter  *c = alloc(PNCOUNTER_SIZE(npos, nneg));

	c->vl_len_ = 0;
	c->npos = npos;
	c->nneg = nneg;
	c->pad = 0;
	return c;
}

static int32_t
pncounter_nodes(const PNCounter *c)
{
	return gcounter_map_union_count(PNCOUNTER_POS(c), c->npos,
									PNCOUNTER_NEG(c), c->nneg);
}

static CrdtStatus
pncounter_too_many(CrdtError *err, int32_t nodes)
{
	return crdt_fail(err, CRDT_ERR_TOO_LARGE,
					 "pncounter would have %d nodes, more than the limit of %d",
					 nodes, PNCOUNTER_MAX_NODES);
}

PNCounter *
pncounter_empty(CrdtAllocFn alloc)
{
	return pncounter_alloc(0, 0, alloc);
}

/* One half of "+p-n": the sign, then an unsigned decimal count. */
static bool
pncounter_parse_part(const char **p, char sign, int64_t *v, CrdtError *err)
{
	if (!crdt_expect_char(p, sign, err))
		return false;
	crdt_skip_space(p);
	if (!isdigit((unsigned char) **p))
	{
		crdt_fail(err, CRDT_ERR_SYNTAX, "expected digits after \"%c\"", sign);
		return false;
	}
	return crdt_parse_int64(p, v, err);
}

static bool
pncounter_parse_pair(const char **p, int32_t node, int64_t *value,
					 CrdtError *err)
{
	return pncounter_parse_part(p, '+', &value[0], err) &&
		pncounter_parse_part(p, '-', &value[1], err);
}

CrdtStatus
pncounter_parse(const char *text, CrdtAllocFn alloc, PNCounter **out,
				CrdtError *err)
{
	GCounterTextItem *items;
	int32_t		nitems;
	int32_t		npos = 0,
				nneg = 0;
	PNCounter  *c;
	GCounterEntry *e;

	if (gcounter_text_scan(text, pncounter_parse_pair, "pncounter", alloc,
						   &items, &nitems, err) != CRDT_OK)
		return err->status;

	for (int32_t i = 0; i < nitems; i++)
	{
		npos += (items[i].value[0] != 0);
		nneg += (items[i].value[1] != 0);
	}
	c = pncounter_alloc(npos, nneg, alloc);
	e = c->entries;
	/* Zero halves are the bottom and are left out, as in a gcounter. */
	for (int half = 0; half < 2; half++)
		for (int32_t i = 0; i < nitems; i++)
		{
			if (items[i].value[half] == 0)
				continue;
			e->node = items[i].node;
			e->pad = 0;
			e->count = items[i].value[half];
			e++;
		}
	*out = c;
	return CRDT_OK;
}

char *
pncounter_print(const PNCounter *c, CrdtAllocFn alloc)
{
	const GCounterEntry *pe = PNCOUNTER_POS(c);
	const GCounterEntry *ne = PNCOUNTER_NEG(c);
	int32_t		i = 0,
				j = 0;
	bool		first = true;
	CrdtBuf		buf;

	crdt_buf_init(&buf, alloc, 2 + ((size_t) c->npos + c->nneg) * 24);
	crdt_buf_putc(&buf, '{');
	/* One item per node of either half, in node order. */
	while (i < c->npos || j < c->nneg)
	{
		int32_t		node;
		long long	p = 0,
					n = 0;

		if (j == c->nneg || (i < c->npos && pe[i].node <= ne[j].node))
			node = pe[i].node;
		else
			node = ne[j].node;
		if (i < c->npos && pe[i].node == node)
			p = pe[i++].count;
		if (j < c->nneg && ne[j].node == node)
			n = ne[j++].count;
		crdt_buf_printf(&buf, "%s%d:+%lld-%lld", first ? "" : ",",
						node, p, n);
		first = false;
	}
	crdt_buf_putc(&buf, '}');
	return crdt_buf_cstring(&buf);
}

void
pncounter_encode(const PNCounter *c, CrdtBuf *buf)
{
	crdt_buf_put_u8(buf, GCOUNTER_BINARY_VERSION);
	gcounter_map_encode(buf, PNCOUNTER_POS(c), c->npos);
	gcounter_map_encode(buf, PNCOUNTER_NEG(c), c->nneg);
}

CrdtStatus
pncounter_decode(const void *data, size_t len, CrdtAllocFn alloc,
				 PNCounter **out, CrdtError *err)
{
	CrdtReader	r;
	GCounterEntry *pe,
			   *ne;
	int32_t		np,
				nn,
				nodes;
	PNCounter  *c;

	crdt_reader_init(&r, data, len);
	if (gcounter_decode_version(&r, "pncounter", err) != CRDT_OK ||
		gcounter_map_decode(&r, alloc, &pe, &np, err) != CRDT_OK ||
		gcounter_map_decode(&r, alloc, &ne, &nn, err) != CRDT_OK)
		return err->status;
	if (crdt_reader_remaining(&r) != 0)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "unexpected data after the last entry");
	nodes = gcounter_map_union_count(pe, np, ne, nn);
	if (nodes > PNCOUNTER_MAX_NODES)
		return pncounter_too_many(err, nodes);

	c = pncounter_alloc(np, nn, alloc);
	memcpy(PNCOUNTER_POS(c), pe, (size_t) np * sizeof(GCounterEntry));
	memcpy(PNCOUNTER_NEG(c), ne, (size_t) nn * sizeof(GCounterEntry));
	*out = c;
	return CRDT_OK;
}

CrdtStatus
pncounter_merge(const PNCounter *a, const PNCounter *b, CrdtAllocFn alloc,
				PNCounter **out, CrdtError *err)
{
	int32_t		np = gcounter_map_union_count(PNCOUNTER_POS(a), a->npos,
											  PNCOUNTER_POS(b), b->npos);
	int32_t		nn = gcounter_map_union_count(PNCOUNTER_NEG(a), a->nneg,
											  PNCOUNTER_NEG(b), b->nneg);
	PNCounter  *c = pncounter_alloc(np, nn, alloc);

	gcounter_map_merge(PNCOUNTER_POS(a), a->npos, PNCOUNTER_POS(b), b->npos,
					   PNCOUNTER_POS(c));
	gcounter_map_merge(PNCOUNTER_NEG(a), a->nneg, PNCOUNTER_NEG(b), b->nneg,
					   PNCOUNTER_NEG(c));
	/* Each half fits when the sum does; count the union only otherwise. */
	if (np + nn > PNCOUNTER_MAX_NODES)
	{
		int32_t		nodes = pncounter_nodes(c);

		if (nodes > PNCOUNTER_MAX_NODES)
			return pncounter_too_many(err, nodes);
	}
	*out = c;
	return CRDT_OK;
}

bool
pncounter_leq(const PNCounter *a, const PNCounter *b)
{
	return gcounter_map_leq(PNCOUNTER_POS(a), a->npos,
							PNCOUNTER_POS(b), b->npos) &&
		gcounter_map_leq(PNCOUNTER_NEG(a), a->nneg,
						 PNCOUNTER_NEG(b), b->nneg);
}

bool
pncounter_equal(const PNCounter *a, const PNCounter *b)
{
	return a->npos == b->npos && a->nneg == b->nneg &&
		memcmp(a->entries, b->entries,
			   ((size_t) a->npos + a->nneg) * sizeof(GCounterEntry)) == 0;
}

/* Grows one half (0 = P, 1 = N) of node by amount >= 0. */
static CrdtStatus
pncounter_grow(const PNCounter *c, int32_t node, int half, int64_t amount,
			   CrdtAllocFn alloc, PNCounter **out, CrdtError *err)
{
	const GCounterEntry *pe = PNCOUNTER_POS(c);
	const GCounterEntry *ne = PNCOUNTER_NEG(c);
	PNCounter  *r;
	int32_t		n;

	/* A node new to both halves is a new node: enforce the bound. */
	if (amount > 0 && node > 0 &&
		gcounter_map_find(pe, c->npos, node) < 0 &&
		gcounter_map_find(ne, c->nneg, node) < 0)
	{
		int32_t		nodes = pncounter_nodes(c);

		if (nodes >= PNCOUNTER_MAX_NODES)
			return pncounter_too_many(err, nodes + 1);
	}

	if (half == 0)
	{
		r = pncounter_alloc(c->npos + 1, c->nneg, alloc);
		if (gcounter_map_add(pe, c->npos, node, amount, r->entries, &n,
							 err) != CRDT_OK)
			return err->status;
		r->npos = n;
		memcpy(PNCOUNTER_NEG(r), ne, (size_t) c->nneg * sizeof(GCounterEntry));
	}
	else
	{
		r = pncounter_alloc(c->npos, c->nneg + 1, alloc);
		memcpy(PNCOUNTER_POS(r), pe, (size_t) c->npos * sizeof(GCounterEntry));
		if (gcounter_map_add(ne, c->nneg, node, amount, PNCOUNTER_NEG(r), &n,
							 err) != CRDT_OK)
			return err->status;
		r->nneg = n;
	}
	*out = r;
	return CRDT_OK;
}

CrdtStatus
pncounter_add(const PNCounter *c, int32_t node, int64_t delta,
			  CrdtAllocFn alloc, PNCounter **out, CrdtError *err)
{
	if (delta >= 0)
		return pncounter_grow(c, node, 0, delta, alloc, out, err);
	if (delta == INT64_MIN)
		return crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
						 "count of node %d is out of range for type bigint",
						 node);
	return pncounter_grow(c, node, 1, -delta, alloc, out, err);
}

CrdtStatus
pncounter_sub(const PNCounter *c, int32_t node, int64_t delta,
			  CrdtAllocFn alloc, PNCounter **out, CrdtError *err)
{
	if (delta >= 0)
		return pncounter_grow(c, node, 1, delta, alloc, out, err);
	if (delta == INT64_MIN)
		return crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
						 "count of node %d is out of range for type bigint",
						 node);
	return pncounter_grow(c, node, 0, -delta, alloc, out, err);
}

CrdtStatus
pncounter_value(const PNCounter *c, int64_t *out, CrdtError *err)
{
	__int128	v = gcounter_map_total(PNCOUNTER_POS(c), c->npos) -
		gcounter_map_total(PNCOUNTER_NEG(c), c->nneg);

	if (v > INT64_MAX || v < INT64_MIN)
		return crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
						 "pncounter value is out of range for type bigint");
	*out = (int64_t) v;
	return CRDT_OK;
}
