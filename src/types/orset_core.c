/*-------------------------------------------------------------------------
 * orset_core.c
 *	  Backend-independent core of edge_crdt.orset, the add-wins
 *	  observed-remove set (ORSWOT): text and binary forms, merge, partial
 *	  order and local operations over the canonical flat layout.
 *
 * The semantics and both external formats are described in orset.h.
 *
 * Every operation that produces a state runs its emit function twice
 * through an OrSetWriter: once to count (and check the size bounds before
 * anything large is allocated), once to fill a buffer of exactly the right
 * size.  Emit functions visit inputs in canonical order, so the output is
 * canonical by construction and needs no sorting.  Only the parser (whose
 * input may come in any order) and orset_replace_elements sort, through a
 * builder.
 *
 * Nothing here may include postgres.h: the property tests and fuzz targets
 * link this file without the server.
 *
 * IDENTIFICATION
 *	  src/types/orset_core.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_crdt/orset.h"

/*
 * CRDT_NODE_ID_VALID for a value that is already an int32_t (the shared
 * macro's upper bound check would be a constant comparison warning).
 */
#define ORSET_NODE_VALID(node)	((node) > 0)

/* Longest element prefix quoted in an error message. */
#define ORSET_MSG_ELEMENT_BYTES		40

/* ----------------------------------------------------------------
 *		Comparisons and lookups
 * ----------------------------------------------------------------
 */

/* Element order: bytes as unsigned (memcmp), then the shorter first. */
static int
orset_str_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t		n = alen < blen ? alen : blen;
	int			c = n > 0 ? memcmp(a, b, n) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return 0;
}

static int
orset_dot_cmp(const OrSetDot *a, const OrSetDot *b)
{
	if (a->node != b->node)
		return a->node < b->node ? -1 : 1;
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	return 0;
}

static int
orset_dot_qsort_cmp(const void *a, const void *b)
{
	return orset_dot_cmp((const OrSetDot *) a, (const OrSetDot *) b);
}

static int
orset_node_qsort_cmp(const void *a, const void *b)
{
	int32_t		x = ((const OrSetDot *) a)->node;
	int32_t		y = ((const OrSetDot *) b)->node;

	return x < y ? -1 : (x > y ? 1 : 0);
}

static int
orset_str_qsort_cmp(const void *a, const void *b)
{
	const OrSetStr *x = (const OrSetStr *) a;
	const OrSetStr *y = (const OrSetStr *) b;

	return orset_str_cmp(x->data, x->len, y->data, y->len);
}

/* vv[node], 0 when the node is absent (it has seen no dot of that node). */
static int64_t
orset_vv_get(const OrSetDot *vv, uint32_t nvv, int32_t node)
{
	uint32_t	lo = 0,
				hi = nvv;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;

		if (vv[mid].node == node)
			return vv[mid].counter;
		if (vv[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static bool
orset_covered(const OrSetDot *vv, uint32_t nvv, const OrSetDot *dot)
{
	return dot->counter <= orset_vv_get(vv, nvv, dot->node);
}

/* Index of the element with these bytes, or -1. */
static int64_t
orset_find(const OrSet *s, const char *data, size_t len)
{
	const OrSetElem *elems = orset_elems(s);
	const char *str = orset_strings(s);
	uint32_t	lo = 0,
				hi = s->nelems;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;
		int			c = orset_str_cmp(str + elems[mid].off, elems[mid].len,
									  data, len);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * An element for an error message: escaped like the text output and cut
 * to a prefix that ends on a UTF-8 character boundary, so the message stays
 * short and valid text.
 */
static const char *
orset_msg_element(const char *data, size_t len, char *buf, size_t bufsize)
{
	size_t		n = len;
	size_t		o = 0;
	bool		cut = false;

	if (n > ORSET_MSG_ELEMENT_BYTES)
	{
		n = ORSET_MSG_ELEMENT_BYTES;
		while (n > 0 && ((unsigned char) data[n] & 0xC0) == 0x80)
			n--;
		cut = true;
	}
	for (size_t i = 0; i < n && o + 8 < bufsize; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (c == '"' || c == '\\')
		{
			buf[o++] = '\\';
			buf[o++] = (char) c;
		}
		else if (c < 0x20 || c == 0x7f)
		{
			static const char hex[] = "0123456789abcdef";

			buf[o++] = '\\';
			buf[o++] = 'u';
			buf[o++] = '0';
			buf[o++] = '0';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
		else
			buf[o++] = (char) c;
	}
	if (cut)
	{
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o] = '\0';
	return buf;
}

#define ORSET_MSG_BUFSIZE	(ORSET_MSG_ELEMENT_BYTES * 6 + 8)

/* ----------------------------------------------------------------
 *		Writer: counting pass, then filling pass
 * ----------------------------------------------------------------
 */

typedef struct OrSetWriter
{
	OrSet	   *s;				/* NULL while counting */
	OrSetDot   *vv;
	OrSetDot   *dots;
	OrSetElem  *elems;
	char	   *str;
	size_t		nvv;
	size_t		ndots;
	size_t		nelems;
	size_t		strbytes;
} OrSetWriter;

static size_t
orset_layout_size(size_t nvv, size_t ndots, size_t nelems, size_t strbytes)
{
	return sizeof(OrSet) + nvv * sizeof(OrSetDot) + ndots * sizeof(OrSetDot) +
		nelems * sizeof(OrSetElem) + strbytes;
}

static CrdtStatus
orset_check_bounds(size_t nvv, size_t ndots, size_t nelems, size_t strbytes,
				   CrdtError *err)
{
	size_t		size;

	if (nelems > ORSET_MAX_ELEMENTS)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "orset would have %zu elements, more than the maximum of %d",
						 nelems, ORSET_MAX_ELEMENTS);
	size = orset_layout_size(nvv, ndots, nelems, strbytes);
	if (size > ORSET_MAX_BYTES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "orset would take %zu bytes, more than the maximum of %d",
						 size, ORSET_MAX_BYTES);
	return CRDT_OK;
}

/* After the counting pass: check the bounds, allocate, rewind. */
static CrdtStatus
orset_writer_alloc(OrSetWriter *w, CrdtAllocFn alloc, CrdtError *err)
{
	size_t		size;
	OrSet	   *s;

	if (orset_check_bounds(w->nvv, w->ndots, w->nelems, w->strbytes,
						   err) != CRDT_OK)
		return err->status;
	size = orset_layout_size(w->nvv, w->ndots, w->nelems, w->strbytes);
	s = alloc(size);
	memset(s, 0, size);			/* padding is part of the compared bytes */
	s->nvv = (uint32_t) w->nvv;
	s->ndots = (uint32_t) w->ndots;
	s->nelems = (uint32_t) w->nelems;
	s->strbytes = (uint32_t) w->strbytes;
	w->s = s;
	w->vv = (OrSetDot *) orset_vv(s);
	w->dots = (OrSetDot *) orset_dots(s);
	w->elems = (OrSetElem *) orset_elems(s);
	w->str = (char *) orset_strings(s);
	w->nvv = w->ndots = w->nelems = w->strbytes = 0;
	return CRDT_OK;
}

/* Zero counters carry no information and are never stored. */
static void
orset_put_vv(OrSetWriter *w, int32_t node, int64_t counter)
{
	if (counter == 0)
		return;
	if (w->s)
	{
		w->vv[w->nvv].node = node;
		w->vv[w->nvv].counter = counter;
	}
	w->nvv++;
}

static void
orset_put_dot(OrSetWriter *w, const OrSetDot *dot)
{
	if (w->s)
	{
		w->dots[w->ndots].node = dot->node;
		w->dots[w->ndots].counter = dot->counter;
	}
	w->ndots++;
}

/*
 * Close an element whose dots were put since dot_start; an element left
 * with no dots is absent.
 */
static void
orset_put_elem(OrSetWriter *w, const char *data, size_t len, size_t dot_start)
{
	if (w->ndots == dot_start)
		return;
	if (w->s)
	{
		OrSetElem  *e = &w->elems[w->nelems];

		e->off = (uint32_t) w->strbytes;
		e->len = (uint32_t) len;
		e->dot_off = (uint32_t) dot_start;
		e->ndots = (uint32_t) (w->ndots - dot_start);
		if (len > 0)
			memcpy(w->str + w->strbytes, data, len);
	}
	w->nelems++;
	w->strbytes += len;
}

typedef void (*OrSetEmitFn) (OrSetWriter *w, const void *arg);

static CrdtStatus
orset_run(OrSetEmitFn emit, const void *arg, OrSet **out, CrdtAllocFn alloc,
		  CrdtError *err)
{
	OrSetWriter w;

	memset(&w, 0, sizeof(w));
	emit(&w, arg);
	if (orset_writer_alloc(&w, alloc, err) != CRDT_OK)
		return err->status;
	emit(&w, arg);
	*out = w.s;
	return CRDT_OK;
}

OrSet *
orset_empty(CrdtAllocFn alloc)
{
	OrSet	   *s = alloc(sizeof(OrSet));

	memset(s, 0, sizeof(OrSet));
	return s;
}

/* ----------------------------------------------------------------
 *		Builder: unsorted input to canonical state
 * ----------------------------------------------------------------
 */

typedef struct OrSetBuildElem
{
	OrSetStr	str;			/* first: qsort compares it as an OrSetStr */
	uint32_t	dot_start;
	uint32_t	ndots;
} OrSetBuildElem;

typedef struct OrSetBuild
{
	OrSetBuildElem *elems;
	size_t		nelems;
	OrSetDot   *dots;
	OrSetDot   *vv;
	size_t		nvv;
} OrSetBuild;

static void
orset_build_emit(OrSetWriter *w, const void *arg)
{
	const OrSetBuild *b = arg;

	for (size_t i = 0; i < b->nvv; i++)
		orset_put_vv(w, b->vv[i].node, b->vv[i].counter);
	for (size_t i = 0; i < b->nelems; i++)
	{
		const OrSetBuildElem *e = &b->elems[i];
		size_t		start = w->ndots;

		for (uint32_t k = 0; k < e->ndots; k++)
			orset_put_dot(w, &b->dots[e->dot_start + k]);
		orset_put_elem(w, e->str.data, e->str.len, start);
	}
}

/*
 * Sort and validate.  from_state says the vv and each element's dots come
 * from a valid state: already sorted, unique and covered.  They are then
 * left untouched, which matters because they may point into a datum that
 * must not be written.
 */
static CrdtStatus
orset_build_finish(OrSetBuild *b, bool from_state, OrSet **out,
				   CrdtAllocFn alloc, CrdtError *err)
{
	char		msg[ORSET_MSG_BUFSIZE];

	if (b->nvv > 1 && !from_state)
		qsort(b->vv, b->nvv, sizeof(OrSetDot), orset_node_qsort_cmp);
	for (size_t i = 1; i < b->nvv; i++)
		if (b->vv[i].node == b->vv[i - 1].node)
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "node %d appears twice in the version vector",
							 b->vv[i].node);

	for (size_t i = 0; i < b->nelems && !from_state; i++)
	{
		OrSetBuildElem *e = &b->elems[i];
		OrSetDot   *d = &b->dots[e->dot_start];

		if (e->ndots > 1)
			qsort(d, e->ndots, sizeof(OrSetDot), orset_dot_qsort_cmp);
		for (uint32_t k = 0; k < e->ndots; k++)
		{
			if (k > 0 && orset_dot_cmp(&d[k - 1], &d[k]) == 0)
				return crdt_fail(err, CRDT_ERR_INVALID,
								 "element \"%s\" lists dot %d.%lld twice",
								 orset_msg_element(e->str.data, e->str.len,
												   msg, sizeof(msg)),
								 d[k].node, (long long) d[k].counter);
			if (!orset_covered(b->vv, (uint32_t) b->nvv, &d[k]))
				return crdt_fail(err, CRDT_ERR_INVALID,
								 "dot %d.%lld of element \"%s\" is not covered by the version vector",
								 d[k].node, (long long) d[k].counter,
								 orset_msg_element(e->str.data, e->str.len,
												   msg, sizeof(msg)));
		}
	}

	if (b->nelems > 1)
		qsort(b->elems, b->nelems, sizeof(OrSetBuildElem), orset_str_qsort_cmp);
	for (size_t i = 1; i < b->nelems; i++)
		if (orset_str_cmp(b->elems[i - 1].str.data, b->elems[i - 1].str.len,
						  b->elems[i].str.data, b->elems[i].str.len) == 0)
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "element \"%s\" appears twice",
							 orset_msg_element(b->elems[i].str.data,
											   b->elems[i].str.len,
											   msg, sizeof(msg)));

	return orset_run(orset_build_emit, b, out, alloc, err);
}

/* ----------------------------------------------------------------
 *		Text input
 * ----------------------------------------------------------------
 */

static int
orset_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode the escape at p (which points at the backslash) into *c; *used is
 * its length in the input.
 */
static bool
orset_parse_escape(const char *p, char *c, size_t *used, CrdtError *err)
{
	unsigned char e = (unsigned char) p[1];

	*used = 2;
	switch (e)
	{
		case '"':
		case '\\':
		case '/':
			*c = (char) e;
			return true;
		case 'b':
			*c = '\b';
			return true;
		case 'f':
			*c = '\f';
			return true;
		case 'n':
			*c = '\n';
			return true;
		case 'r':
			*c = '\r';
			return true;
		case 't':
			*c = '\t';
			return true;
		case 'u':
			{
				int			v = 0;

				for (int i = 2; i < 6; i++)
				{
					int			h = orset_hex_value(p[i]);

					if (h < 0)
					{
						crdt_fail(err, CRDT_ERR_SYNTAX,
								  "\"\\u\" must be followed by four hexadecimal digits");
						return false;
					}
					v = v * 16 + h;
				}
				if (v < 0x01 || v > 0x7f)
				{
					crdt_fail(err, CRDT_ERR_SYNTAX,
							  "unicode escape \"\\u%04x\" is not allowed: only \\u0001 to \\u007f are accepted",
							  v);
					return false;
				}
				*c = (char) v;
				*used = 6;
				return true;
			}
		case '\0':
			crdt_fail(err, CRDT_ERR_SYNTAX, "unterminated quoted element");
			return false;
		default:
			if (e < 0x20 || e >= 0x7f)
				crdt_fail(err, CRDT_ERR_SYNTAX,
						  "invalid escape sequence: backslash followed by byte 0x%02x",
						  e);
			else
				crdt_fail(err, CRDT_ERR_SYNTAX,
						  "invalid escape sequence \"\\%c\"", e);
			return false;
	}
}

/*
 * A syntax error naming what was expected and what was found; a byte that
 * is not printable ASCII is shown in hex, so the message stays valid text
 * in any encoding even when the input stops in the middle of a character.
 */
static CrdtStatus
orset_fail_found(CrdtError *err, const char *expected, const char *p)
{
	unsigned char c = (unsigned char) *p;

	if (c == '\0')
		return crdt_fail(err, CRDT_ERR_SYNTAX, "expected %s at end of input",
						 expected);
	if (c < 0x20 || c >= 0x7f)
		return crdt_fail(err, CRDT_ERR_SYNTAX,
						 "expected %s but found byte 0x%02x", expected, c);
	return crdt_fail(err, CRDT_ERR_SYNTAX, "expected %s but found \"%c\"",
					 expected, c);
}

/* Skip whitespace, then consume c. */
static bool
orset_expect(const char **p, char c, CrdtError *err)
{
	char		expected[8];

	crdt_skip_space(p);
	if (**p == c)
	{
		(*p)++;
		return true;
	}
	snprintf(expected, sizeof(expected), "\"%c\"", c);
	orset_fail_found(err, expected, *p);
	return false;
}

/*
 * After an item of a list closed by close: true with *p past a ",", false
 * with *p past close, or a failure.
 */
static bool
orset_list_next(const char **p, char close, bool *more, CrdtError *err)
{
	char		expected[16];

	crdt_skip_space(p);
	if (**p == ',' || **p == close)
	{
		*more = (**p == ',');
		(*p)++;
		return true;
	}
	snprintf(expected, sizeof(expected), "\",\" or \"%c\"", close);
	orset_fail_found(err, expected, *p);
	return false;
}

/* A double-quoted element at *pp; the result is a fresh copy. */
static bool
orset_parse_string(const char **pp, OrSetStr *out, CrdtAllocFn alloc,
				   CrdtError *err)
{
	const char *start = *pp + 1;
	const char *q = start;
	size_t		n = 0;
	char	   *buf;
	char		c;
	size_t		used;

	/* First pass: validate and measure, so the copy is allocated once. */
	for (;;)
	{
		if (*q == '\0')
		{
			crdt_fail(err, CRDT_ERR_SYNTAX, "unterminated quoted element");
			return false;
		}
		if (*q == '"')
			break;
		if (*q == '\\')
		{
			if (!orset_parse_escape(q, &c, &used, err))
				return false;
			q += used;
		}
		else
			q++;
		if (++n > ORSET_MAX_ELEMENT_BYTES)
		{
			crdt_fail(err, CRDT_ERR_TOO_LARGE,
					  "element is longer than the maximum of %d bytes",
					  ORSET_MAX_ELEMENT_BYTES);
			return false;
		}
	}

	buf = alloc(n + 1);
	n = 0;
	for (q = start; *q != '"';)
	{
		if (*q == '\\')
		{
			(void) orset_parse_escape(q, &buf[n++], &used, err);
			q += used;
		}
		else
			buf[n++] = *q++;
	}
	buf[n] = '\0';
	out->data = buf;
	out->len = (uint32_t) n;
	*pp = q + 1;
	return true;
}

/* Append to a CrdtBuf used as an array of fixed-size records. */
#define ORSET_BUF_PUSH(buf, rec) crdt_buf_append((buf), &(rec), sizeof(rec))

/* "node.counter"; the '.' must follow the node id directly. */
static bool
orset_parse_dot(const char **p, OrSetDot *dot, CrdtError *err)
{
	int32_t		node;
	int64_t		counter;

	if (!crdt_parse_node_id(p, &node, err))
		return false;
	if (**p != '.')
	{
		crdt_fail(err, CRDT_ERR_SYNTAX,
				  "expected a dot written node.counter after node %d", node);
		return false;
	}
	(*p)++;
	if (!crdt_parse_int64(p, &counter, err))
		return false;
	if (counter <= 0)
	{
		crdt_fail(err, CRDT_ERR_INVALID,
				  "dot %d.%lld is invalid: dot counters are positive",
				  node, (long long) counter);
		return false;
	}
	memset(dot, 0, sizeof(*dot));
	dot->node = node;
	dot->counter = counter;
	return true;
}

CrdtStatus
orset_parse(const char *str, OrSet **out, CrdtAllocFn alloc, CrdtError *err)
{
	const char *p = str;
	CrdtBuf		elems,
				dots,
				vv;
	size_t		nelems = 0,
				ndots = 0,
				nvv = 0,
				strbytes = 0;
	bool		more;
	OrSetBuild	b;
	char		msg[ORSET_MSG_BUFSIZE];

	crdt_buf_init(&elems, alloc, 16 * sizeof(OrSetBuildElem));
	crdt_buf_init(&dots, alloc, 16 * sizeof(OrSetDot));
	crdt_buf_init(&vv, alloc, 8 * sizeof(OrSetDot));

	if (!orset_expect(&p, '{', err))
		return err->status;
	crdt_skip_space(&p);
	more = (*p != '}');
	if (!more)
		p++;
	while (more)
	{
		OrSetBuildElem e;

		crdt_skip_space(&p);
		if (*p != '"')
			return orset_fail_found(err, "a double-quoted element", p);
		memset(&e, 0, sizeof(e));
		if (!orset_parse_string(&p, &e.str, alloc, err))
			return err->status;
		e.dot_start = (uint32_t) ndots;
		if (!orset_expect(&p, ':', err) || !orset_expect(&p, '[', err))
			return err->status;
		crdt_skip_space(&p);
		if (*p == ']')
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "element \"%s\" has no dots: an element is present only with at least one dot",
							 orset_msg_element(e.str.data, e.str.len,
											   msg, sizeof(msg)));
		do
		{
			OrSetDot	d;

			if (!orset_parse_dot(&p, &d, err))
				return err->status;
			ORSET_BUF_PUSH(&dots, d);
			ndots++;
			e.ndots++;
			/* Bound the work before the final check sees the whole. */
			if (orset_check_bounds(nvv, ndots, nelems, strbytes,
								   err) != CRDT_OK)
				return err->status;
			if (!orset_list_next(&p, ']', &more, err))
				return err->status;
		} while (more);
		ORSET_BUF_PUSH(&elems, e);
		nelems++;
		strbytes += e.str.len;
		if (orset_check_bounds(nvv, ndots, nelems, strbytes,
							   err) != CRDT_OK)
			return err->status;
		if (!orset_list_next(&p, '}', &more, err))
			return err->status;
	}

	if (!orset_expect(&p, '@', err) || !orset_expect(&p, '{', err))
		return err->status;
	crdt_skip_space(&p);
	more = (*p != '}');
	if (!more)
		p++;
	while (more)
	{
		OrSetDot	d;
		int32_t		node;
		int64_t		counter;

		if (!crdt_parse_node_id(&p, &node, err) ||
			!orset_expect(&p, ':', err) ||
			!crdt_parse_int64(&p, &counter, err))
			return err->status;
		if (counter < 0)
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "version vector entry %d:%lld is invalid: counters are not negative",
							 node, (long long) counter);
		memset(&d, 0, sizeof(d));
		d.node = node;
		d.counter = counter;
		ORSET_BUF_PUSH(&vv, d);
		nvv++;
		if (orset_check_bounds(nvv, ndots, nelems, strbytes,
							   err) != CRDT_OK)
			return err->status;
		if (!orset_list_next(&p, '}', &more, err))
			return err->status;
	}
	crdt_skip_space(&p);
	if (*p != '\0')
		return orset_fail_found(err, "end of input after the version vector",
								p);

	b.elems = (OrSetBuildElem *) elems.data;
	b.nelems = nelems;
	b.dots = (OrSetDot *) dots.data;
	b.vv = (OrSetDot *) vv.data;
	b.nvv = nvv;
	return orset_build_finish(&b, false, out, alloc, err);
}

/* ----------------------------------------------------------------
 *		Text output
 * ----------------------------------------------------------------
 */

static void
orset_put_int64(CrdtBuf *buf, int64_t v)
{
	char		tmp[24];
	int			n = 0;
	uint64_t	u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

	do
	{
		tmp[n++] = (char) ('0' + u % 10);
		u /= 10;
	} while (u > 0);
	if (v < 0)
		tmp[n++] = '-';
	crdt_buf_reserve(buf, (size_t) n);
	while (n > 0)
		buf->data[buf->len++] = tmp[--n];
}

static void
orset_put_quoted(CrdtBuf *buf, const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	crdt_buf_reserve(buf, len + 2);
	buf->data[buf->len++] = '"';
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];

		switch (c)
		{
			case '"':
				crdt_buf_append(buf, "\\\"", 2);
				break;
			case '\\':
				crdt_buf_append(buf, "\\\\", 2);
				break;
			case '\b':
				crdt_buf_append(buf, "\\b", 2);
				break;
			case '\f':
				crdt_buf_append(buf, "\\f", 2);
				break;
			case '\n':
				crdt_buf_append(buf, "\\n", 2);
				break;
			case '\r':
				crdt_buf_append(buf, "\\r", 2);
				break;
			case '\t':
				crdt_buf_append(buf, "\\t", 2);
				break;
			default:
				if (c < 0x20 || c == 0x7f)
				{
					char		esc[6] = {'\\', 'u', '0', '0',
						hex[c >> 4], hex[c & 15]};

					crdt_buf_append(buf, esc, 6);
				}
				else
					crdt_buf_putc(buf, (char) c);
				break;
		}
	}
	crdt_buf_putc(buf, '"');
}

char *
orset_print(const OrSet *s, CrdtAllocFn alloc)
{
	CrdtBuf		buf;
	const OrSetDot *vv = orset_vv(s);
	const OrSetDot *dots = orset_dots(s);
	const OrSetElem *elems = orset_elems(s);
	const char *str = orset_strings(s);

	crdt_buf_init(&buf, alloc, 16 + (size_t) s->strbytes +
				  (size_t) s->nelems * 8 + (size_t) (s->ndots + s->nvv) * 12);
	crdt_buf_putc(&buf, '{');
	for (uint32_t i = 0; i < s->nelems; i++)
	{
		const OrSetElem *e = &elems[i];

		if (i > 0)
			crdt_buf_putc(&buf, ',');
		orset_put_quoted(&buf, str + e->off, e->len);
		crdt_buf_append(&buf, ":[", 2);
		for (uint32_t k = 0; k < e->ndots; k++)
		{
			const OrSetDot *d = &dots[e->dot_off + k];

			if (k > 0)
				crdt_buf_putc(&buf, ',');
			orset_put_int64(&buf, d->node);
			crdt_buf_putc(&buf, '.');
			orset_put_int64(&buf, d->counter);
		}
		crdt_buf_putc(&buf, ']');
	}
	crdt_buf_append(&buf, "}@{", 3);
	for (uint32_t i = 0; i < s->nvv; i++)
	{
		if (i > 0)
			crdt_buf_putc(&buf, ',');
		orset_put_int64(&buf, vv[i].node);
		crdt_buf_putc(&buf, ':');
		orset_put_int64(&buf, vv[i].counter);
	}
	crdt_buf_putc(&buf, '}');
	return crdt_buf_cstring(&buf);
}

/* ----------------------------------------------------------------
 *		Binary form
 * ----------------------------------------------------------------
 */

void
orset_encode(const OrSet *s, CrdtBuf *buf)
{
	const OrSetDot *vv = orset_vv(s);
	const OrSetDot *dots = orset_dots(s);
	const OrSetElem *elems = orset_elems(s);
	const char *str = orset_strings(s);

	crdt_buf_put_u8(buf, ORSET_BINARY_VERSION);
	crdt_buf_put_u32(buf, s->nvv);
	for (uint32_t i = 0; i < s->nvv; i++)
	{
		crdt_buf_put_i32(buf, vv[i].node);
		crdt_buf_put_i64(buf, vv[i].counter);
	}
	crdt_buf_put_u32(buf, s->nelems);
	for (uint32_t i = 0; i < s->nelems; i++)
	{
		const OrSetElem *e = &elems[i];

		crdt_buf_put_u32(buf, e->len);
		crdt_buf_append(buf, str + e->off, e->len);
		crdt_buf_put_u32(buf, e->ndots);
		for (uint32_t k = 0; k < e->ndots; k++)
		{
			crdt_buf_put_i32(buf, dots[e->dot_off + k].node);
			crdt_buf_put_i64(buf, dots[e->dot_off + k].counter);
		}
	}
}

/* Wire sizes of the records, for count checks before allocating. */
#define ORSET_WIRE_DOT		12
#define ORSET_WIRE_ELEM_MIN	8

typedef struct OrSetDecode
{
	const void *data;
	size_t		len;
	OrSetDot   *vv;				/* scratch: the vv, read in the first pass */
	CrdtError  *err;
	CrdtStatus	status;
} OrSetDecode;

static bool
orset_read_dot(CrdtReader *r, OrSetDot *d, CrdtError *err)
{
	int32_t		node;
	int64_t		counter;

	if (!crdt_read_i32(r, &node) || !crdt_read_i64(r, &counter))
	{
		crdt_fail(err, CRDT_ERR_CORRUPT, "truncated orset");
		return false;
	}
	if (!ORSET_NODE_VALID(node))
	{
		crdt_fail(err, CRDT_ERR_INVALID,
				  "node id %d is invalid: node ids are positive int4 values",
				  node);
		return false;
	}
	if (counter <= 0)
	{
		crdt_fail(err, CRDT_ERR_INVALID,
				  "counter %lld of node %d is invalid: counters are positive",
				  (long long) counter, node);
		return false;
	}
	memset(d, 0, sizeof(*d));
	d->node = node;
	d->counter = counter;
	return true;
}

/*
 * One pass over the encoding, validating everything.  The first pass
 * (counting writer) stops at the first problem; the second one cannot fail.
 */
static void
orset_decode_emit(OrSetWriter *w, const void *arg)
{
	OrSetDecode *dec = (OrSetDecode *) arg;
	CrdtError  *err = dec->err;
	CrdtReader	r;
	uint8_t		version;
	uint32_t	nvv,
				nelems;
	const uint8_t *prev = NULL;
	uint32_t	prevlen = 0;
	char		msg[ORSET_MSG_BUFSIZE];

	crdt_reader_init(&r, dec->data, dec->len);
	if (!crdt_read_u8(&r, &version))
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT, "missing format version");
		return;
	}
	if (version != ORSET_BINARY_VERSION)
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
								"unsupported orset binary format version %u",
								version);
		return;
	}
	if (!crdt_read_u32(&r, &nvv))
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT, "truncated orset");
		return;
	}
	if (nvv > crdt_reader_remaining(&r) / ORSET_WIRE_DOT)
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
								"version vector of %u entries does not fit in the remaining %zu bytes",
								nvv, crdt_reader_remaining(&r));
		return;
	}
	for (uint32_t i = 0; i < nvv; i++)
	{
		OrSetDot	d;

		if (!orset_read_dot(&r, &d, err))
		{
			dec->status = err->status;
			return;
		}
		if (i > 0 && d.node <= dec->vv[i - 1].node)
		{
			dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
									"version vector is not sorted by node or repeats node %d",
									d.node);
			return;
		}
		dec->vv[i] = d;
		orset_put_vv(w, d.node, d.counter);
	}

	if (!crdt_read_u32(&r, &nelems))
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT, "truncated orset");
		return;
	}
	if (nelems > ORSET_MAX_ELEMENTS)
	{
		dec->status = crdt_fail(err, CRDT_ERR_TOO_LARGE,
								"orset would have %u elements, more than the maximum of %d",
								nelems, ORSET_MAX_ELEMENTS);
		return;
	}
	if (nelems > crdt_reader_remaining(&r) / ORSET_WIRE_ELEM_MIN)
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
								"%u elements do not fit in the remaining %zu bytes",
								nelems, crdt_reader_remaining(&r));
		return;
	}
	for (uint32_t i = 0; i < nelems; i++)
	{
		uint32_t	len,
					ndots;
		const uint8_t *bytes;
		size_t		start = w->ndots;
		OrSetDot	prevdot = {0};

		if (!crdt_read_u32(&r, &len))
		{
			dec->status = crdt_fail(err, CRDT_ERR_CORRUPT, "truncated orset");
			return;
		}
		if (len > ORSET_MAX_ELEMENT_BYTES)
		{
			dec->status = crdt_fail(err, CRDT_ERR_TOO_LARGE,
									"element of %u bytes is longer than the maximum of %d bytes",
									len, ORSET_MAX_ELEMENT_BYTES);
			return;
		}
		if (!crdt_read_bytes(&r, len, &bytes))
		{
			dec->status = crdt_fail(err, CRDT_ERR_CORRUPT, "truncated orset");
			return;
		}
		if (len > 0 && memchr(bytes, '\0', len) != NULL)
		{
			dec->status = crdt_fail(err, CRDT_ERR_INVALID,
									"element contains a NUL byte");
			return;
		}
		if (i > 0 && orset_str_cmp((const char *) prev, prevlen,
								   (const char *) bytes, len) >= 0)
		{
			dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
									"elements are not sorted or element \"%s\" repeats",
									orset_msg_element((const char *) bytes, len,
													  msg, sizeof(msg)));
			return;
		}
		prev = bytes;
		prevlen = len;

		if (!crdt_read_u32(&r, &ndots))
		{
			dec->status = crdt_fail(err, CRDT_ERR_CORRUPT, "truncated orset");
			return;
		}
		if (ndots == 0)
		{
			dec->status = crdt_fail(err, CRDT_ERR_INVALID,
									"element \"%s\" has no dots",
									orset_msg_element((const char *) bytes, len,
													  msg, sizeof(msg)));
			return;
		}
		if (ndots > crdt_reader_remaining(&r) / ORSET_WIRE_DOT)
		{
			dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
									"%u dots do not fit in the remaining %zu bytes",
									ndots, crdt_reader_remaining(&r));
			return;
		}
		for (uint32_t k = 0; k < ndots; k++)
		{
			OrSetDot	d;

			if (!orset_read_dot(&r, &d, err))
			{
				dec->status = err->status;
				return;
			}
			if (k > 0 && orset_dot_cmp(&prevdot, &d) >= 0)
			{
				dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
										"dots of element \"%s\" are not sorted or repeat",
										orset_msg_element((const char *) bytes, len,
														  msg, sizeof(msg)));
				return;
			}
			if (!orset_covered(dec->vv, nvv, &d))
			{
				dec->status = crdt_fail(err, CRDT_ERR_INVALID,
										"dot %d.%lld of element \"%s\" is not covered by the version vector",
										d.node, (long long) d.counter,
										orset_msg_element((const char *) bytes, len,
														  msg, sizeof(msg)));
				return;
			}
			prevdot = d;
			orset_put_dot(w, &d);
		}
		orset_put_elem(w, (const char *) bytes, len, start);
		if (orset_check_bounds(w->nvv, w->ndots, w->nelems, w->strbytes,
							   err) != CRDT_OK)
		{
			dec->status = err->status;
			return;
		}
	}
	if (crdt_reader_remaining(&r) != 0)
	{
		dec->status = crdt_fail(err, CRDT_ERR_CORRUPT,
								"%zu unexpected bytes after the last element",
								crdt_reader_remaining(&r));
		return;
	}
}

CrdtStatus
orset_decode(const void *data, size_t len, OrSet **out, CrdtAllocFn alloc,
			 CrdtError *err)
{
	OrSetDecode dec;
	OrSetWriter w;
	size_t		maxvv = len / ORSET_WIRE_DOT;

	dec.data = data;
	dec.len = len;
	dec.err = err;
	dec.status = CRDT_OK;
	/* The vv count is checked against the input length before it is used. */
	dec.vv = alloc((maxvv > 0 ? maxvv : 1) * sizeof(OrSetDot));

	memset(&w, 0, sizeof(w));
	orset_decode_emit(&w, &dec);
	if (dec.status != CRDT_OK)
		return dec.status;
	if (orset_writer_alloc(&w, alloc, err) != CRDT_OK)
		return err->status;
	orset_decode_emit(&w, &dec);
	*out = w.s;
	return CRDT_OK;
}

CrdtStatus
orset_replace_elements(const OrSet *s, const OrSetStr *elems, OrSet **out,
					   CrdtAllocFn alloc, CrdtError *err)
{
	OrSetBuild	b;
	const OrSetElem *se = orset_elems(s);

	b.nelems = s->nelems;
	b.elems = alloc((s->nelems > 0 ? s->nelems : 1) * sizeof(OrSetBuildElem));
	for (uint32_t i = 0; i < s->nelems; i++)
	{
		if (elems[i].len > ORSET_MAX_ELEMENT_BYTES)
			return crdt_fail(err, CRDT_ERR_TOO_LARGE,
							 "element of %u bytes is longer than the maximum of %d bytes",
							 elems[i].len, ORSET_MAX_ELEMENT_BYTES);
		if (elems[i].len > 0 && memchr(elems[i].data, '\0', elems[i].len))
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "element contains a NUL byte");
		b.elems[i].str = elems[i];
		b.elems[i].dot_start = se[i].dot_off;
		b.elems[i].ndots = se[i].ndots;
	}
	/* Read only (from_state): the casts only drop const. */
	b.dots = (OrSetDot *) orset_dots(s);
	b.vv = (OrSetDot *) orset_vv(s);
	b.nvv = s->nvv;
	return orset_build_finish(&b, true, out, alloc, err);
}

/* ----------------------------------------------------------------
 *		Lattice
 * ----------------------------------------------------------------
 */

typedef struct OrSetPair
{
	const OrSet *a;
	const OrSet *b;
} OrSetPair;

/* Put the dots of one side's element that the other side has not seen. */
static void
orset_put_unseen(OrSetWriter *w, const OrSetDot *dots, uint32_t n,
				 const OrSetDot *other_vv, uint32_t other_nvv)
{
	for (uint32_t k = 0; k < n; k++)
		if (!orset_covered(other_vv, other_nvv, &dots[k]))
			orset_put_dot(w, &dots[k]);
}

static void
orset_merge_emit(OrSetWriter *w, const void *arg)
{
	const OrSetPair *pair = arg;
	const OrSet *a = pair->a;
	const OrSet *b = pair->b;
	const OrSetDot *avv = orset_vv(a),
			   *bvv = orset_vv(b);
	const OrSetDot *adots = orset_dots(a),
			   *bdots = orset_dots(b);
	const OrSetElem *ae = orset_elems(a),
			   *be = orset_elems(b);
	const char *astr = orset_strings(a),
			   *bstr = orset_strings(b);
	uint32_t	i = 0,
				j = 0;

	while (i < a->nvv || j < b->nvv)
	{
		if (j >= b->nvv || (i < a->nvv && avv[i].node < bvv[j].node))
		{
			orset_put_vv(w, avv[i].node, avv[i].counter);
			i++;
		}
		else if (i >= a->nvv || bvv[j].node < avv[i].node)
		{
			orset_put_vv(w, bvv[j].node, bvv[j].counter);
			j++;
		}
		else
		{
			orset_put_vv(w, avv[i].node,
						 avv[i].counter > bvv[j].counter ?
						 avv[i].counter : bvv[j].counter);
			i++;
			j++;
		}
	}

	i = j = 0;
	while (i < a->nelems || j < b->nelems)
	{
		size_t		start = w->ndots;
		int			c;

		if (i >= a->nelems)
			c = 1;
		else if (j >= b->nelems)
			c = -1;
		else
			c = orset_str_cmp(astr + ae[i].off, ae[i].len,
							  bstr + be[j].off, be[j].len);
		if (c < 0)
		{
			orset_put_unseen(w, adots + ae[i].dot_off, ae[i].ndots,
							 bvv, b->nvv);
			orset_put_elem(w, astr + ae[i].off, ae[i].len, start);
			i++;
		}
		else if (c > 0)
		{
			orset_put_unseen(w, bdots + be[j].dot_off, be[j].ndots,
							 avv, a->nvv);
			orset_put_elem(w, bstr + be[j].off, be[j].len, start);
			j++;
		}
		else
		{
			const OrSetDot *da = adots + ae[i].dot_off;
			const OrSetDot *db = bdots + be[j].dot_off;
			uint32_t	na = ae[i].ndots,
						nb = be[j].ndots,
						p = 0,
						q = 0;

			/* Both sorted: the output stays sorted without a sort. */
			while (p < na || q < nb)
			{
				int			dc;

				if (p >= na)
					dc = 1;
				else if (q >= nb)
					dc = -1;
				else
					dc = orset_dot_cmp(&da[p], &db[q]);
				if (dc == 0)
				{
					orset_put_dot(w, &da[p]);
					p++;
					q++;
				}
				else if (dc < 0)
				{
					if (!orset_covered(bvv, b->nvv, &da[p]))
						orset_put_dot(w, &da[p]);
					p++;
				}
				else
				{
					if (!orset_covered(avv, a->nvv, &db[q]))
						orset_put_dot(w, &db[q]);
					q++;
				}
			}
			orset_put_elem(w, astr + ae[i].off, ae[i].len, start);
			i++;
			j++;
		}
	}
}

CrdtStatus
orset_merge(const OrSet *a, const OrSet *b, OrSet **out, CrdtAllocFn alloc,
			CrdtError *err)
{
	OrSetPair	pair;

	pair.a = a;
	pair.b = b;
	return orset_run(orset_merge_emit, &pair, out, alloc, err);
}

/*
 * merge(a, b) = b exactly when a's vv is below b's (then every dot of a
 * that b lacks is covered by b's vv and dropped) and b has no dot that a
 * has seen but does not hold (the merge would drop it).
 */
bool
orset_leq(const OrSet *a, const OrSet *b)
{
	const OrSetDot *avv = orset_vv(a),
			   *bvv = orset_vv(b);
	const OrSetDot *adots = orset_dots(a),
			   *bdots = orset_dots(b);
	const OrSetElem *ae = orset_elems(a),
			   *be = orset_elems(b);
	const char *astr = orset_strings(a),
			   *bstr = orset_strings(b);
	uint32_t	i = 0;

	for (uint32_t k = 0; k < a->nvv; k++)
		if (avv[k].counter > orset_vv_get(bvv, b->nvv, avv[k].node))
			return false;

	for (uint32_t j = 0; j < b->nelems; j++)
	{
		const OrSetDot *da = NULL;
		const OrSetDot *db = bdots + be[j].dot_off;
		uint32_t	na = 0,
					p = 0;
		int			c = 1;

		while (i < a->nelems &&
			   (c = orset_str_cmp(astr + ae[i].off, ae[i].len,
								  bstr + be[j].off, be[j].len)) < 0)
			i++;
		if (i < a->nelems && c == 0)
		{
			da = adots + ae[i].dot_off;
			na = ae[i].ndots;
		}
		for (uint32_t k = 0; k < be[j].ndots; k++)
		{
			if (!orset_covered(avv, a->nvv, &db[k]))
				continue;
			while (p < na && orset_dot_cmp(&da[p], &db[k]) < 0)
				p++;
			if (p >= na || orset_dot_cmp(&da[p], &db[k]) != 0)
				return false;
		}
	}
	return true;
}

bool
orset_equal(const OrSet *a, const OrSet *b)
{
	size_t		size = orset_total_size(a);

	if (size != orset_total_size(b))
		return false;
	/* Skip the varlena header: the core never sets it. */
	return memcmp((const char *) a + sizeof(int32_t),
				  (const char *) b + sizeof(int32_t),
				  size - sizeof(int32_t)) == 0;
}

/* ----------------------------------------------------------------
 *		Local operations
 * ----------------------------------------------------------------
 */

/* Sorted copy of elems without repeats; *n is updated. */
static OrSetStr *
orset_sorted_unique(const OrSetStr *elems, uint32_t *n, CrdtAllocFn alloc)
{
	OrSetStr   *v = alloc(((size_t) *n > 0 ? *n : 1) * sizeof(OrSetStr));
	uint32_t	m = 0;

	if (*n > 0)
		memcpy(v, elems, (size_t) *n * sizeof(OrSetStr));
	if (*n > 1)
		qsort(v, *n, sizeof(OrSetStr), orset_str_qsort_cmp);
	for (uint32_t i = 0; i < *n; i++)
		if (m == 0 || orset_str_cmp(v[m - 1].data, v[m - 1].len,
									v[i].data, v[i].len) != 0)
			v[m++] = v[i];
	*n = m;
	return v;
}

typedef struct OrSetUpdate
{
	const OrSet *s;
	const OrSetStr *elems;		/* sorted, unique */
	uint32_t	n;
	int32_t		node;			/* add only */
	int64_t		base;			/* add only: vv[node] before the add */
} OrSetUpdate;

static void
orset_add_emit(OrSetWriter *w, const void *arg)
{
	const OrSetUpdate *u = arg;
	const OrSet *s = u->s;
	const OrSetDot *vv = orset_vv(s);
	const OrSetDot *dots = orset_dots(s);
	const OrSetElem *se = orset_elems(s);
	const char *str = orset_strings(s);
	bool		done = false;
	uint32_t	i = 0,
				j = 0;

	for (uint32_t k = 0; k < s->nvv; k++)
	{
		if (!done && vv[k].node >= u->node)
		{
			orset_put_vv(w, u->node, u->base + u->n);
			done = true;
			if (vv[k].node == u->node)
				continue;
		}
		orset_put_vv(w, vv[k].node, vv[k].counter);
	}
	if (!done)
		orset_put_vv(w, u->node, u->base + u->n);

	while (i < s->nelems || j < u->n)
	{
		size_t		start = w->ndots;
		int			c;

		if (i >= s->nelems)
			c = 1;
		else if (j >= u->n)
			c = -1;
		else
			c = orset_str_cmp(str + se[i].off, se[i].len,
							  u->elems[j].data, u->elems[j].len);
		if (c < 0)
		{
			for (uint32_t k = 0; k < se[i].ndots; k++)
				orset_put_dot(w, &dots[se[i].dot_off + k]);
			orset_put_elem(w, str + se[i].off, se[i].len, start);
			i++;
		}
		else
		{
			/* New, or re-added: the fresh dot replaces the observed ones. */
			OrSetDot	d;

			memset(&d, 0, sizeof(d));
			d.node = u->node;
			d.counter = u->base + j + 1;
			orset_put_dot(w, &d);
			orset_put_elem(w, u->elems[j].data, u->elems[j].len, start);
			if (c == 0)
				i++;
			j++;
		}
	}
}

CrdtStatus
orset_add(const OrSet *s, int32_t node, const OrSetStr *elems, uint32_t n,
		  OrSet **out, CrdtAllocFn alloc, CrdtError *err)
{
	OrSetUpdate u;

	if (!ORSET_NODE_VALID(node))
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "node id %d is invalid: node ids are positive int4 values",
						 node);
	for (uint32_t i = 0; i < n; i++)
	{
		if (elems[i].len > ORSET_MAX_ELEMENT_BYTES)
			return crdt_fail(err, CRDT_ERR_TOO_LARGE,
							 "element of %u bytes is longer than the maximum of %d bytes",
							 elems[i].len, ORSET_MAX_ELEMENT_BYTES);
		if (elems[i].len > 0 && memchr(elems[i].data, '\0', elems[i].len))
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "element contains a NUL byte");
	}
	u.s = s;
	u.n = n;
	u.elems = orset_sorted_unique(elems, &u.n, alloc);
	u.node = node;
	u.base = orset_vv_get(orset_vv(s), s->nvv, node);
	if ((int64_t) u.n > INT64_MAX - u.base)
		return crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
						 "dot counter of node %d would overflow", node);
	return orset_run(orset_add_emit, &u, out, alloc, err);
}

static void
orset_remove_emit(OrSetWriter *w, const void *arg)
{
	const OrSetUpdate *u = arg;
	const OrSet *s = u->s;
	const OrSetDot *vv = orset_vv(s);
	const OrSetDot *dots = orset_dots(s);
	const OrSetElem *se = orset_elems(s);
	const char *str = orset_strings(s);
	uint32_t	j = 0;

	for (uint32_t k = 0; k < s->nvv; k++)
		orset_put_vv(w, vv[k].node, vv[k].counter);
	for (uint32_t i = 0; i < s->nelems; i++)
	{
		size_t		start = w->ndots;
		int			c = 1;

		while (j < u->n &&
			   (c = orset_str_cmp(u->elems[j].data, u->elems[j].len,
								  str + se[i].off, se[i].len)) < 0)
			j++;
		if (j < u->n && c == 0)
			continue;			/* removed: the vv remembers its dots */
		for (uint32_t k = 0; k < se[i].ndots; k++)
			orset_put_dot(w, &dots[se[i].dot_off + k]);
		orset_put_elem(w, str + se[i].off, se[i].len, start);
	}
}

CrdtStatus
orset_remove(const OrSet *s, const OrSetStr *elems, uint32_t n, OrSet **out,
			 CrdtAllocFn alloc, CrdtError *err)
{
	OrSetUpdate u;

	memset(&u, 0, sizeof(u));
	u.s = s;
	u.n = n;
	u.elems = orset_sorted_unique(elems, &u.n, alloc);
	return orset_run(orset_remove_emit, &u, out, alloc, err);
}

bool
orset_contains(const OrSet *s, const char *data, size_t len)
{
	return orset_find(s, data, len) >= 0;
}
