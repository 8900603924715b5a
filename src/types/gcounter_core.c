/*-------------------------------------------------------------------------
 * gcounter_core.c
 *	  Backend-independent core of the grow-only counter and of the node map
 *	  that both counter types are built from.
 *
 * The node map functions (gcounter_map_*, gcounter_text_scan) hold all of
 * the lattice, text and binary logic; pncounter_core.c applies them to its
 * two halves instead of having its own.  No postgres.h here: the property
 * tests and fuzz targets link this file natively.
 *
 * IDENTIFICATION
 *	  src/types/gcounter_core.c
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "edge_crdt/gcounter.h"

/* ---------------------------------------------------------------------
 * Node map
 * ---------------------------------------------------------------------
 */

int32_t
gcounter_map_find(const GCounterEntry *e, int32_t n, int32_t node)
{
	int32_t		lo = 0;
	int32_t		hi = n;

	while (lo < hi)
	{
		int32_t		mid = lo + (hi - lo) / 2;

		if (e[mid].node < node)
			lo = mid + 1;
		else if (e[mid].node > node)
			hi = mid;
		else
			return mid;
	}
	return -lo - 1;
}

int32_t
gcounter_map_union_count(const GCounterEntry *a, int32_t na,
						 const GCounterEntry *b, int32_t nb)
{
	int32_t		i = 0,
				j = 0,
				k = 0;

	while (i < na && j < nb)
	{
		if (a[i].node <= b[j].node)
		{
			if (a[i].node == b[j].node)
				j++;
			i++;
		}
		else
			j++;
		k++;
	}
	return k + (na - i) + (nb - j);
}

int32_t
gcounter_map_merge(const GCounterEntry *a, int32_t na,
				   const GCounterEntry *b, int32_t nb,
				   GCounterEntry *out)
{
	int32_t		i = 0,
				j = 0,
				k = 0;

	while (i < na && j < nb)
	{
		if (a[i].node < b[j].node)
			out[k++] = a[i++];
		else if (a[i].node > b[j].node)
			out[k++] = b[j++];
		else
		{
			out[k++] = (a[i].count >= b[j].count) ? a[i] : b[j];
			i++;
			j++;
		}
	}
	while (i < na)
		out[k++] = a[i++];
	while (j < nb)
		out[k++] = b[j++];
	return k;
}

bool
gcounter_map_leq(const GCounterEntry *a, int32_t na,
				 const GCounterEntry *b, int32_t nb)
{
	int32_t		j = 0;

	/* Every entry of a needs a node in b with at least its count. */
	for (int32_t i = 0; i < na; i++)
	{
		while (j < nb && b[j].node < a[i].node)
			j++;
		if (j == nb || b[j].node != a[i].node || b[j].count < a[i].count)
			return false;
	}
	return true;
}

CrdtStatus
gcounter_map_add(const GCounterEntry *e, int32_t n, int32_t node,
				 int64_t delta, GCounterEntry *out, int32_t *nout,
				 CrdtError *err)
{
	int32_t		idx;
	int32_t		pos;

	/* CRDT_NODE_ID_VALID for an int32: positive is enough. */
	if (node <= 0)
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "node id %d is invalid: node ids are positive int4 values",
						 node);
	if (delta < 0)
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "cannot add a negative amount (%lld) to a grow-only count",
						 (long long) delta);

	idx = gcounter_map_find(e, n, node);
	if (idx >= 0)
	{
		int64_t		sum;

		if (!crdt_add_i64(e[idx].count, delta, &sum))
			return crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
							 "count of node %d is out of range for type bigint",
							 node);
		memcpy(out, e, (size_t) n * sizeof(GCounterEntry));
		out[idx].count = sum;
		*nout = n;
		return CRDT_OK;
	}

	/* Absent means 0, and a 0 entry is never stored. */
	pos = -idx - 1;
	memcpy(out, e, (size_t) pos * sizeof(GCounterEntry));
	if (delta == 0)
	{
		memcpy(out + pos, e + pos, (size_t) (n - pos) * sizeof(GCounterEntry));
		*nout = n;
		return CRDT_OK;
	}
	out[pos].node = node;
	out[pos].pad = 0;
	out[pos].count = delta;
	memcpy(out + pos + 1, e + pos, (size_t) (n - pos) * sizeof(GCounterEntry));
	*nout = n + 1;
	return CRDT_OK;
}

__int128
gcounter_map_total(const GCounterEntry *e, int32_t n)
{
	__int128	total = 0;

	for (int32_t i = 0; i < n; i++)
		total += e[i].count;
	return total;
}

void
gcounter_map_encode(CrdtBuf *buf, const GCounterEntry *e, int32_t n)
{
	crdt_buf_reserve(buf, 4 + (size_t) n * 12);
	crdt_buf_put_u32(buf, (uint32_t) n);
	for (int32_t i = 0; i < n; i++)
	{
		crdt_buf_put_i32(buf, e[i].node);
		crdt_buf_put_i64(buf, e[i].count);
	}
}

CrdtStatus
gcounter_map_decode(CrdtReader *r, CrdtAllocFn alloc, GCounterEntry **out,
					int32_t *n, CrdtError *err)
{
	uint32_t	count;
	GCounterEntry *e;

	if (!crdt_read_u32(r, &count))
		return crdt_fail(err, CRDT_ERR_CORRUPT, "entry count is truncated");
	if (count > GCOUNTER_MAX_ENTRIES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "entry count %u exceeds the limit of %d",
						 count, GCOUNTER_MAX_ENTRIES);
	/* Each entry is 12 bytes on the wire; check before allocating. */
	if ((size_t) count * 12 > crdt_reader_remaining(r))
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "entry count %u needs %zu bytes but only %zu follow",
						 count, (size_t) count * 12, crdt_reader_remaining(r));

	e = alloc((count > 0 ? count : 1) * sizeof(GCounterEntry));
	for (uint32_t i = 0; i < count; i++)
	{
		int32_t		node;
		int64_t		c;

		(void) crdt_read_i32(r, &node);
		(void) crdt_read_i64(r, &c);
		if (node <= 0)
			return crdt_fail(err, CRDT_ERR_CORRUPT, "invalid node id %d", node);
		if (i > 0 && node <= e[i - 1].node)
			return crdt_fail(err, CRDT_ERR_CORRUPT,
							 "node %d is out of order or duplicated", node);
		if (c <= 0)
			return crdt_fail(err, CRDT_ERR_CORRUPT,
							 "count %lld of node %d is not positive",
							 (long long) c, node);
		e[i].node = node;
		e[i].pad = 0;
		e[i].count = c;
	}
	*out = e;
	*n = (int32_t) count;
	return CRDT_OK;
}

CrdtStatus
gcounter_decode_version(CrdtReader *r, const char *typname, CrdtError *err)
{
	uint8_t		version;

	if (!crdt_read_u8(r, &version))
		return crdt_fail(err, CRDT_ERR_CORRUPT, "empty %s value", typname);
	if (version != GCOUNTER_BINARY_VERSION)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "unsupported %s binary format version %u",
						 typname, (unsigned) version);
	return CRDT_OK;
}

/* ---------------------------------------------------------------------
 * Text scanning
 * ---------------------------------------------------------------------
 */

static int
gcounter_item_cmp(const void *a, const void *b)
{
	int32_t		na = ((const GCounterTextItem *) a)->node;
	int32_t		nb = ((const GCounterTextItem *) b)->node;

	return (na > nb) - (na < nb);
}

static CrdtStatus
gcounter_unexpected(CrdtError *err, const char *p, const char *wanted)
{
	if (*p == '\0')
		return crdt_fail(err, CRDT_ERR_SYNTAX, "expected %s at end of input",
						 wanted);
	if (isprint((unsigned char) *p))
		return crdt_fail(err, CRDT_ERR_SYNTAX, "expected %s but found \"%c\"",
						 wanted, *p);
	return crdt_fail(err, CRDT_ERR_SYNTAX, "expected %s but found byte 0x%02x",
					 wanted, (unsigned) (unsigned char) *p);
}

CrdtStatus
gcounter_text_scan(const char *text, GCounterValueParser parse_value,
				   const char *typname, CrdtAllocFn alloc,
				   GCounterTextItem **items, int32_t *n, CrdtError *err)
{
	const char *p = text;
	size_t		cap = 0;
	int32_t		len = 0;
	GCounterTextItem *arr;

	/* Each item takes a colon, so their number bounds the array. */
	for (const char *s = text; *s != '\0'; s++)
		if (*s == ':')
			cap++;
	if (cap > GCOUNTER_MAX_ENTRIES)
		cap = GCOUNTER_MAX_ENTRIES;
	arr = alloc((cap > 0 ? cap : 1) * sizeof(GCounterTextItem));

	if (!crdt_expect_char(&p, '{', err))
		return err->status;
	crdt_skip_space(&p);
	if (*p == '}')
		p++;
	else
	{
		for (;;)
		{
			GCounterTextItem item;

			memset(&item, 0, sizeof(item));
			if (!crdt_parse_node_id(&p, &item.node, err) ||
				!crdt_expect_char(&p, ':', err) ||
				!parse_value(&p, item.node, item.value, err))
				return err->status;
			if (len == GCOUNTER_MAX_ENTRIES)
				return crdt_fail(err, CRDT_ERR_TOO_LARGE,
								 "a %s holds at most %d node entries",
								 typname, GCOUNTER_MAX_ENTRIES);
			arr[len++] = item;

			crdt_skip_space(&p);
			if (*p == ',')
				p++;
			else if (*p == '}')
			{
				p++;
				break;
			}
			else
				return gcounter_unexpected(err, p, "\",\" or \"}\"");
		}
	}
	crdt_skip_space(&p);
	if (*p != '\0')
		return gcounter_unexpected(err, p, "end of input");

	qsort(arr, (size_t) len, sizeof(GCounterTextItem), gcounter_item_cmp);
	for (int32_t i = 1; i < len; i++)
		if (arr[i].node == arr[i - 1].node)
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "node %d appears more than once", arr[i].node);
	*items = arr;
	*n = len;
	return CRDT_OK;
}

/* ---------------------------------------------------------------------
 * The gcounter datum: one node map
 * ---------------------------------------------------------------------
 */

static GCounter *
gcounter_alloc(int32_t n, CrdtAllocFn alloc)
{
	GCounter   *c = alloc(GCOUNTER_SIZE(n));

	c->vl_len_ = 0;
	c->nentries = n;
	return c;
}

GCounter *
gcounter_empty(CrdtAllocFn alloc)
{
	return gcounter_alloc(0, alloc);
}

static bool
gcounter_parse_count(const char **p, int32_t node, int64_t *value,
					 CrdtError *err)
{
	if (!crdt_parse_int64(p, &value[0], err))
		return false;
	if (value[0] < 0)
	{
		crdt_fail(err, CRDT_ERR_INVALID,
				  "count %lld of node %d is negative: a gcounter only grows",
				  (long long) value[0], node);
		return false;
	}
	return true;
}

CrdtStatus
gcounter_parse(const char *text, CrdtAllocFn alloc, GCounter **out,
			   CrdtError *err)
{
	GCounterTextItem *items;
	int32_t		nitems;
	int32_t		k = 0;
	GCounter   *c;

	if (gcounter_text_scan(text, gcounter_parse_count, "gcounter", alloc,
						   &items, &nitems, err) != CRDT_OK)
		return err->status;

	c = gcounter_alloc(nitems, alloc);
	for (int32_t i = 0; i < nitems; i++)
	{
		/* 0 is the bottom of an entry: not stored, so states stay canonical. */
		if (items[i].value[0] == 0)
			continue;
		c->entries[k].node = items[i].node;
		c->entries[k].pad = 0;
		c->entries[k].count = items[i].value[0];
		k++;
	}
	c->nentries = k;
	*out = c;
	return CRDT_OK;
}

char *
gcounter_print(const GCounter *c, CrdtAllocFn alloc)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, alloc, 2 + (size_t) c->nentries * 16);
	crdt_buf_putc(&buf, '{');
	for (int32_t i = 0; i < c->nentries; i++)
		crdt_buf_printf(&buf, "%s%d:%lld", i > 0 ? "," : "",
						c->entries[i].node, (long long) c->entries[i].count);
	crdt_buf_putc(&buf, '}');
	return crdt_buf_cstring(&buf);
}

void
gcounter_encode(const GCounter *c, CrdtBuf *buf)
{
	crdt_buf_put_u8(buf, GCOUNTER_BINARY_VERSION);
	gcounter_map_encode(buf, c->entries, c->nentries);
}

CrdtStatus
gcounter_decode(const void *data, size_t len, CrdtAllocFn alloc,
				GCounter **out, CrdtError *err)
{
	CrdtReader	r;
	GCounterEntry *e;
	int32_t		n;
	GCounter   *c;

	crdt_reader_init(&r, data, len);
	if (gcounter_decode_version(&r, "gcounter", err) != CRDT_OK ||
		gcounter_map_decode(&r, alloc, &e, &n, err) != CRDT_OK)
		return err->status;
	if (crdt_reader_remaining(&r) != 0)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "unexpected data after the last entry");

	c = gcounter_alloc(n, alloc);
	memcpy(c->entries, e, (size_t) n * sizeof(GCounterEntry));
	*out = c;
	return CRDT_OK;
}

CrdtStatus
gcounter_merge(const GCounter *a, const GCounter *b, CrdtAllocFn alloc,
			   GCounter **out, CrdtError *err)
{
	int32_t		n = gcounter_map_union_count(a->entries, a->nentries,
											 b->entries, b->nentries);
	GCounter   *c;

	if (n > GCOUNTER_MAX_ENTRIES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "merged gcounter would have %d node entries, more than the limit of %d",
						 n, GCOUNTER_MAX_ENTRIES);
	c = gcounter_alloc(n, alloc);
	gcounter_map_merge(a->entries, a->nentries, b->entries, b->nentries,
					   c->entries);
	*out = c;
	return CRDT_OK;
}

bool
gcounter_leq(const GCounter *a, const GCounter *b)
{
	return gcounter_map_leq(a->entries, a->nentries, b->entries, b->nentries);
}

bool
gcounter_equal(const GCounter *a, const GCounter *b)
{
	return a->nentries == b->nentries &&
		memcmp(a->entries, b->entries,
			   (size_t) a->nentries * sizeof(GCounterEntry)) == 0;
}

CrdtStatus
gcounter_add(const GCounter *c, int32_t node, int64_t delta,
			 CrdtAllocFn alloc, GCounter **out, CrdtError *err)
{
	GCounter   *r;
	int32_t		n;

	if (c->nentries >= GCOUNTER_MAX_ENTRIES && delta > 0 &&
		gcounter_map_find(c->entries, c->nentries, node) < 0)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "a gcounter holds at most %d node entries",
						 GCOUNTER_MAX_ENTRIES);
	r = gcounter_alloc(c->nentries + 1, alloc);
	if (gcounter_map_add(c->entries, c->nentries, node, delta,
						 r->entries, &n, err) != CRDT_OK)
		return err->status;
	r->nentries = n;
	*out = r;
	return CRDT_OK;
}

CrdtStatus
gcounter_value(const GCounter *c, int64_t *out, CrdtError *err)
{
	__int128	total = gcounter_map_total(c->entries, c->nentries);

	if (total > INT64_MAX)
		return crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
						 "gcounter value is out of range for type bigint");
	*out = (int64_t) total;
	return CRDT_OK;
}
