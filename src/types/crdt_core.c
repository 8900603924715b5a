/*-------------------------------------------------------------------------
 * crdt_core.c
 *	  Backend-independent helpers shared by the CRDT type cores: error
 *	  reporting, a growable buffer and a bounds-checked reader.
 *
 * Nothing here may include postgres.h: the property tests and fuzz targets
 * link this file without the server.
 *
 * IDENTIFICATION
 *	  src/types/crdt_core.c
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edge_crdt/crdt_core.h"

CrdtStatus
crdt_fail(CrdtError *err, CrdtStatus status, const char *fmt,...)
{
	va_list		ap;

	if (err != NULL)
	{
		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}

void
crdt_buf_init(CrdtBuf *buf, CrdtAllocFn alloc, size_t initial)
{
	if (initial < 16)
		initial = 16;
	buf->alloc = alloc;
	buf->data = alloc(initial);
	buf->len = 0;
	buf->cap = initial;
}

/*
 * The allocator has no realloc: growing copies into a fresh chunk and leaves
 * the old one to the caller's memory context (or arena), which is cheap
 * because capacity doubles.
 */
void
crdt_buf_reserve(CrdtBuf *buf, size_t more)
{
	size_t		need = buf->len + more + 1;	/* room for a terminator */
	size_t		cap = buf->cap;
	char	   *data;

	if (need <= cap)
		return;
	while (cap < need)
		cap *= 2;
	data = buf->alloc(cap);
	if (buf->len > 0)
		memcpy(data, buf->data, buf->len);
	buf->data = data;
	buf->cap = cap;
}

void
crdt_buf_append(CrdtBuf *buf, const void *data, size_t len)
{
	crdt_buf_reserve(buf, len);
	if (len > 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
}

void
crdt_buf_putc(CrdtBuf *buf, char c)
{
	crdt_buf_reserve(buf, 1);
	buf->data[buf->len++] = c;
}

void
crdt_buf_puts(CrdtBuf *buf, const char *s)
{
	crdt_buf_append(buf, s, strlen(s));
}

void
crdt_buf_printf(CrdtBuf *buf, const char *fmt,...)
{
	va_list		ap;
	int			n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	crdt_buf_reserve(buf, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(buf->data + buf->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	buf->len += (size_t) n;
}

void
crdt_buf_put_u8(CrdtBuf *buf, uint8_t v)
{
	crdt_buf_append(buf, &v, 1);
}

void
crdt_buf_put_u32(CrdtBuf *buf, uint32_t v)
{
	uint8_t		b[4];

	b[0] = (uint8_t) (v >> 24);
	b[1] = (uint8_t) (v >> 16);
	b[2] = (uint8_t) (v >> 8);
	b[3] = (uint8_t) v;
	crdt_buf_append(buf, b, 4);
}

void
crdt_buf_put_i32(CrdtBuf *buf, int32_t v)
{
	crdt_buf_put_u32(buf, (uint32_t) v);
}

void
crdt_buf_put_i64(CrdtBuf *buf, int64_t v)
{
	crdt_buf_put_u32(buf, (uint32_t) ((uint64_t) v >> 32));
	crdt_buf_put_u32(buf, (uint32_t) (uint64_t) v);
}

char *
crdt_buf_cstring(CrdtBuf *buf)
{
	crdt_buf_reserve(buf, 0);
	buf->data[buf->len] = '\0';
	return buf->data;
}

bool
crdt_read_bytes(CrdtReader *r, size_t n, const uint8_t **p)
{
	if (n > crdt_reader_remaining(r))
		return false;
	*p = r->data + r->off;
	r->off += n;
	return true;
}

bool
crdt_read_u8(CrdtReader *r, uint8_t *v)
{
	const uint8_t *p;

	if (!crdt_read_bytes(r, 1, &p))
		return false;
	*v = p[0];
	return true;
}

bool
crdt_read_u32(CrdtReader *r, uint32_t *v)
{
	const uint8_t *p;

	if (!crdt_read_bytes(r, 4, &p))
		return false;
	*v = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
	return true;
}

bool
crdt_read_i32(CrdtReader *r, int32_t *v)
{
	uint32_t	u;

	if (!crdt_read_u32(r, &u))
		return false;
	*v = (int32_t) u;
	return true;
}

bool
crdt_read_i64(CrdtReader *r, int64_t *v)
{
	uint32_t	hi,
				lo;

	if (!crdt_read_u32(r, &hi) || !crdt_read_u32(r, &lo))
		return false;
	*v = (int64_t) (((uint64_t) hi << 32) | lo);
	return true;
}

void
crdt_skip_space(const char **p)
{
	while (**p != '\0' && isspace((unsigned char) **p))
		(*p)++;
}

bool
crdt_expect_char(const char **p, char c, CrdtError *err)
{
	crdt_skip_space(p);
	if (**p != c)
	{
		if (**p == '\0')
			crdt_fail(err, CRDT_ERR_SYNTAX, "expected \"%c\" at end of input", c);
		else
			crdt_fail(err, CRDT_ERR_SYNTAX, "expected \"%c\" but found \"%c\"",
					  c, **p);
		return false;
	}
	(*p)++;
	return true;
}

/*
 * Decimal int64 with optional sign.  Hand-rolled rather than strtoll so the
 * result never depends on locale or errno, and overflow is exact.
 */
bool
crdt_parse_int64(const char **p, int64_t *out, CrdtError *err)
{
	const char *s;
	bool		neg = false;
	uint64_t	acc = 0;
	uint64_t	limit;
	int			ndigits = 0;

	crdt_skip_space(p);
	s = *p;
	if (*s == '+' || *s == '-')
	{
		neg = (*s == '-');
		s++;
	}
	limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	while (*s >= '0' && *s <= '9')
	{
		unsigned	d = (unsigned) (*s - '0');

		if (acc > (limit - d) / 10)
		{
			crdt_fail(err, CRDT_ERR_OUT_OF_RANGE,
					  "value is out of range for type bigint");
			return false;
		}
		acc = acc * 10 + d;
		s++;
		ndigits++;
	}
	if (ndigits == 0)
	{
		crdt_fail(err, CRDT_ERR_SYNTAX, "expected an integer");
		return false;
	}
	if (neg)
		*out = (acc == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) acc;
	else
		*out = (int64_t) acc;
	*p = s;
	return true;
}

bool
crdt_parse_node_id(const char **p, int32_t *out, CrdtError *err)
{
	int64_t		v;

	if (!crdt_parse_int64(p, &v, err))
		return false;
	if (!CRDT_NODE_ID_VALID(v))
	{
		crdt_fail(err, CRDT_ERR_INVALID,
				  "node id %lld is invalid: node ids are positive int4 values",
				  (long long) v);
		return false;
	}
	*out = (int32_t) v;
	return true;
}
