/*-------------------------------------------------------------------------
 * wire_prop.c
 *	  Property tests of the change-set wire codec (src/wire/wire_core.c).
 *
 * Random messages of every type (random names up to the limits, up to 40
 * columns of every value kind, empty and large-ish values) must decode to
 * the same message field by field and encode back to the same bytes.  The
 * decoder must reject every strict prefix and any trailing byte, and every
 * single-byte change must either be rejected or decode to a message that
 * encodes back to exactly the changed bytes (decode is the inverse of
 * encode, so no two encodings mean the same message).  Throughout, the
 * decoder may allocate only what the input could fill.
 *
 * IDENTIFICATION
 *	  test/prop/wire_prop.c
 *-------------------------------------------------------------------------
 */
#include "prop.h"

#include "edge_crdt/wire.h"

#define ITERATIONS		300
#define MAX_COLUMNS		40
#define MAX_MUTATIONS	300		/* byte positions tried per message */
#define MAX_PREFIXES	600 	/* prefix lengths tried per message */

static const uint64_t seeds[] = {1, 42, 0x5eed5eedULL, 20261126ULL};
#define NSEEDS ((int) (sizeof(seeds) / sizeof(seeds[0])))

static const WireMsgType msg_types[] = {
	WIRE_BEGIN, WIRE_COMMIT, WIRE_ROW, WIRE_DELETE, WIRE_MESSAGE
};
static const WireValueKind value_kinds[] = {
	WIRE_NULL, WIRE_BINARY, WIRE_TEXT, WIRE_UNCHANGED
};

/*
 * Allocation accounting: the decoder allocates only the column array, so
 * what it asks for must be bounded by what the input bytes could hold.
 */
static size_t alloc_bytes;

static void *
counting_alloc(size_t size)
{
	alloc_bytes += size;
	return prop_alloc(size);
}

static int64_t
random_i64(void)
{
	switch (prop_below(6))
	{
		case 0:
			return 0;
		case 1:
			return INT64_MAX;
		case 2:
			return INT64_MIN;
		case 3:
			return -(int64_t) prop_below(1000);
		default:
			return (int64_t) prop_next();
	}
}

static int32_t
random_i32(void)
{
	switch (prop_below(5))
	{
		case 0:
			return 0;
		case 1:
			return INT32_MAX;
		case 2:
			return INT32_MIN;
		default:
			return (int32_t) prop_next();
	}
}

/* A non-empty identifier of 1..maxlen bytes, no NUL; often at the limit. */
static WireSlice
random_name(uint32_t maxlen)
{
	WireSlice	s;
	char	   *p;

	switch (prop_below(4))
	{
		case 0:
			s.len = maxlen;
			break;
		case 1:
			s.len = 1;
			break;
		default:
			s.len = 1 + (uint32_t) prop_below(maxlen);
			break;
	}
	p = prop_alloc(s.len);
	for (uint32_t i = 0; i < s.len; i++)
		p[i] = prop_below(3) ? (char) ('a' + prop_below(26)) :
			(char) (1 + prop_below(255));
	s.data = p;
	return s;
}

/* Any bytes, including NUL; empty, small or large-ish. */
static WireSlice
random_value(void)
{
	WireSlice	s;
	char	   *p;

	switch (prop_below(12))
	{
		case 0:
			s.len = 0;
			break;
		case 1:
			s.len = 500 + (uint32_t) prop_below(2500);
			break;
		default:
			s.len = (uint32_t) prop_below(16);
			break;
	}
	p = prop_alloc(s.len);
	for (uint32_t i = 0; i < s.len; i++)
		p[i] = (char) prop_below(256);
	s.data = p;
	return s;
}

static void
random_columns(WireMessage *m)
{
	m->ncolumns = (uint16_t) prop_below(MAX_COLUMNS + 1);
	m->columns = m->ncolumns ? prop_alloc(sizeof(WireColumn) * m->ncolumns) : NULL;
	for (uint16_t i = 0; i < m->ncolumns; i++)
	{
		WireColumn *c = &m->columns[i];

		c->name = random_name(WIRE_MAX_NAME);
		c->type_name = random_name(WIRE_MAX_TYPE_NAME);
		c->version.hlc = random_i64();
		c->version.node = random_i32();
		c->kind = value_kinds[prop_below(4)];
		if (c->kind == WIRE_BINARY || c->kind == WIRE_TEXT)
			c->value = random_value();
	}
}

/* A message as the encoder's callers build it: unused fields zero. */
static void
random_message(WireMessage *m)
{
	memset(m, 0, sizeof(*m));
	m->type = msg_types[prop_below(5)];
	switch (m->type)
	{
		case WIRE_BEGIN:
			m->lsn = prop_next();
			m->commit_time = random_i64();
			m->xid = (uint32_t) prop_next();
			m->origin_node = random_i32();
			break;
		case WIRE_COMMIT:
			m->lsn = prop_next();
			m->end_lsn = prop_next();
			m->commit_time = random_i64();
			break;
		case WIRE_ROW:
		case WIRE_DELETE:
			m->nspname = random_name(WIRE_MAX_NAME);
			m->relname = random_name(WIRE_MAX_NAME);
			m->cl = random_i64();
			if (m->type == WIRE_DELETE)
			{
				m->version.hlc = random_i64();
				m->version.node = random_i32();
			}
			random_columns(m);
			break;
		case WIRE_MESSAGE:
			m->transactional = prop_below(2);
			m->prefix = random_name(WIRE_MAX_NAME);
			m->content = random_value();
			break;
	}
}

static bool
slice_eq(WireSlice a, WireSlice b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

static bool
version_eq(CrdtVersion a, CrdtVersion b)
{
	return crdt_version_cmp(a, b) == 0;
}

/* Field by field, not via the encoding, so encode bugs cannot hide. */
static bool
message_eq(const WireMessage *a, const WireMessage *b)
{
	if (a->type != b->type || a->lsn != b->lsn || a->end_lsn != b->end_lsn ||
		a->commit_time != b->commit_time || a->xid != b->xid ||
		a->origin_node != b->origin_node ||
		!slice_eq(a->nspname, b->nspname) ||
		!slice_eq(a->relname, b->relname) || a->cl != b->cl ||
		!version_eq(a->version, b->version) ||
		a->ncolumns != b->ncolumns ||
		a->transactional != b->transactional ||
		!slice_eq(a->prefix, b->prefix) || !slice_eq(a->content, b->content))
		return false;
	for (uint16_t i = 0; i < a->ncolumns; i++)
	{
		const WireColumn *x = &a->columns[i];
		const WireColumn *y = &b->columns[i];

		if (!slice_eq(x->name, y->name) ||
			!slice_eq(x->type_name, y->type_name) ||
			!version_eq(x->version, y->version) || x->kind != y->kind ||
			!slice_eq(x->value, y->value))
			return false;
	}
	return true;
}

static CrdtBuf
encode(const WireMessage *m)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, prop_alloc, 64);
	wire_encode(&buf, m);
	return buf;
}

/*
 * Decode an exact-size copy, so ASan sees any read past the end.  Rejected
 * inputs are malloc'ed and freed at once: the prefix and mutation loops make
 * too many to keep in the arena until the next reset.
 */
static CrdtStatus
decode_copy(const char *data, size_t len, WireMessage *m, CrdtError *err)
{
	char	   *copy = malloc(len ? len : 1);
	CrdtStatus	st;
	size_t		columns_fit = len / (2 + 2 + 8 + 4 + 1) + 1;

	memcpy(copy, data, len);
	alloc_bytes = 0;
	err->status = CRDT_OK;
	err->message[0] = '\0';
	st = wire_decode(copy, len, m, counting_alloc, err);
	free(copy);
	if (st == CRDT_OK)
	{
		/* The message points into its input: keep one in the arena. */
		copy = prop_alloc(len);
		memcpy(copy, data, len);
		alloc_bytes = 0;
		CHECK(wire_decode(copy, len, m, counting_alloc, err) == CRDT_OK);
	}
	CHECK(alloc_bytes <= columns_fit * sizeof(WireColumn));
	if (st != CRDT_OK)
	{
		CHECK(st == err->status);
		CHECK(st == CRDT_ERR_CORRUPT || st == CRDT_ERR_INVALID ||
			  st == CRDT_ERR_TOO_LARGE);
		CHECK(err->message[0] != '\0');
	}
	else
		CHECK(wire_msg_type_name(m->type) != NULL);
	return st;
}

static void
prop_roundtrip(void)
{
	int			start = prop_checks;

	for (int s = 0; s < NSEEDS; s++)
	{
		prop_seed(seeds[s]);
		for (int i = 0; i < ITERATIONS; i++)
		{
			WireMessage m,
						d;
			CrdtBuf		a,
						b;
			CrdtError	err;

			random_message(&m);
			a = encode(&m);
			CHECK(decode_copy(a.data, a.len, &d, &err) == CRDT_OK);
			CHECK(message_eq(&m, &d));
			b = encode(&d);
			CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
			prop_arena_reset();
		}
	}
	printf("ok prop wire roundtrip (%d checks)\n", prop_checks - start);
}

static void
prop_prefix_rejected(void)
{
	int			start = prop_checks;

	for (int s = 0; s < NSEEDS; s++)
	{
		prop_seed(seeds[s] + 1);
		for (int i = 0; i < ITERATIONS; i++)
		{
			WireMessage m,
						d;
			CrdtBuf		a;
			CrdtError	err;

			random_message(&m);
			a = encode(&m);
			for (size_t k = 0; k < a.len && k < MAX_PREFIXES; k++)
			{
				/* All prefixes of small messages, a sample of large ones. */
				size_t		n = a.len <= MAX_PREFIXES ? k : prop_below(a.len);

				CHECK(decode_copy(a.data, n, &d, &err) != CRDT_OK);
				/* A prefix is short of bytes; it never looks trailing. */
				CHECK(strstr(err.message, "trailing") == NULL);
			}
			prop_arena_reset();
		}
	}
	printf("ok prop wire prefix_rejected (%d checks)\n", prop_checks - start);
}

static void
prop_trailing_rejected(void)
{
	int			start = prop_checks;

	for (int s = 0; s < NSEEDS; s++)
	{
		prop_seed(seeds[s] + 2);
		for (int i = 0; i < ITERATIONS; i++)
		{
			WireMessage m,
						d;
			CrdtBuf		a;
			CrdtError	err;
			size_t		extra = 1 + prop_below(3);

			random_message(&m);
			a = encode(&m);
			for (size_t k = 0; k < extra; k++)
				crdt_buf_put_u8(&a, (uint8_t) prop_below(256));
			CHECK(decode_copy(a.data, a.len, &d, &err) == CRDT_ERR_CORRUPT);
			CHECK(strstr(err.message, "trailing") != NULL);
			prop_arena_reset();
		}
	}
	printf("ok prop wire trailing_rejected (%d checks)\n", prop_checks - start);
}

static void
prop_mutation(void)
{
	int			start = prop_checks;
	int			accepted = 0;

	for (int s = 0; s < NSEEDS; s++)
	{
		prop_seed(seeds[s] + 3);
		for (int i = 0; i < ITERATIONS / 2; i++)
		{
			WireMessage m,
						d;
			CrdtBuf		a;
			char	   *mut;
			size_t		npos;

			random_message(&m);
			a = encode(&m);
			mut = prop_alloc(a.len);
			npos = a.len < MAX_MUTATIONS ? a.len : MAX_MUTATIONS;
			for (size_t k = 0; k < npos; k++)
			{
				size_t		pos = a.len <= MAX_MUTATIONS ? k : prop_below(a.len);
				uint8_t		old = (uint8_t) a.data[pos];
				uint8_t		values[4];

				values[0] = (uint8_t) (old ^ (1u << prop_below(8)));
				values[1] = (uint8_t) prop_below(256);
				values[2] = 0;
				values[3] = 0xff;
				for (int v = 0; v < 4; v++)
				{
					CrdtError	err;

					if (values[v] == old)
						continue;
					memcpy(mut, a.data, a.len);
					mut[pos] = (char) values[v];
					if (decode_copy(mut, a.len, &d, &err) == CRDT_OK)
					{
						CrdtBuf		b = encode(&d);

						CHECK(b.len == a.len && memcmp(b.data, mut, a.len) == 0);
						accepted++;
					}
				}
			}
			prop_arena_reset();
		}
	}
	/* Sanity: value bytes are free-form, so many mutations must decode. */
	CHECK(accepted > 0);
	printf("ok prop wire mutation (%d checks)\n", prop_checks - start);
}

/* Hand-built hostile headers: counts and lengths far beyond the input. */
static void
prop_hostile(void)
{
	int			start = prop_checks;
	WireMessage d;
	CrdtError	err;
	CrdtBuf		b;
	static const uint8_t row_head[] = {
		1, 'R', 0, 1, 'p', 0, 1, 't', 0, 0, 0, 0, 0, 0, 0, 1
	};

	/* Column count just above the limit, and at it with no bytes behind. */
	crdt_buf_init(&b, prop_alloc, 64);
	crdt_buf_append(&b, row_head, sizeof(row_head));
	crdt_buf_append(&b, "\x06\x41", 2);	/* 1601 */
	CHECK(decode_copy(b.data, b.len, &d, &err) == CRDT_ERR_TOO_LARGE);
	CHECK(strstr(err.message, "1601") != NULL);
	b.len = sizeof(row_head);
	crdt_buf_append(&b, "\x06\x40", 2);	/* 1600 */
	CHECK(decode_copy(b.data, b.len, &d, &err) == CRDT_ERR_CORRUPT);
	CHECK(strstr(err.message, "does not fit") != NULL);
	CHECK(alloc_bytes == 0);
	b.len = sizeof(row_head);
	crdt_buf_append(&b, "\xff\xff", 2);
	CHECK(decode_copy(b.data, b.len, &d, &err) == CRDT_ERR_TOO_LARGE);

	/* A value length of 4 GB - 1 with nothing behind it. */
	b.len = sizeof(row_head);
	crdt_buf_append(&b, "\x00\x01" "\x00\x01" "c" "\x00\x01" "x"
					"\0\0\0\0\0\0\0\0" "\0\0\0\0" "b" "\xff\xff\xff\xff", 25);
	CHECK(decode_copy(b.data, b.len, &d, &err) == CRDT_ERR_TOO_LARGE);
	/* Just under the limit: truncated, not allocated. */
	b.data[b.len - 4] = 0x3f;
	CHECK(decode_copy(b.data, b.len, &d, &err) == CRDT_ERR_CORRUPT);
	CHECK(strstr(err.message, "truncated") != NULL);

	/* Versions and types. */
	CHECK(decode_copy("\x02" "B", 2, &d, &err) == CRDT_ERR_INVALID);
	CHECK(strcmp(err.message,
				 "unsupported protocol version 2 (this build speaks 1)") == 0);
	CHECK(decode_copy("\x01" "X", 2, &d, &err) == CRDT_ERR_INVALID);
	CHECK(decode_copy("", 0, &d, &err) == CRDT_ERR_CORRUPT);

	/* Strings: NUL inside, empty, over the limit. */
	CHECK(decode_copy("\x01" "M" "\x01" "\x00\x02" "a\0" "\0\0\0\0", 11,
					  &d, &err) == CRDT_ERR_CORRUPT);
	CHECK(strstr(err.message, "NUL") != NULL);
	CHECK(decode_copy("\x01" "M" "\x01" "\x00\x00" "\0\0\0\0", 9,
					  &d, &err) == CRDT_ERR_CORRUPT);
	CHECK(decode_copy("\x01" "M" "\x01" "\x00\x40", 5,
					  &d, &err) == CRDT_ERR_TOO_LARGE);
	CHECK(decode_copy("\x01" "M" "\x02" "\x00\x01" "a" "\0\0\0\0", 10,
					  &d, &err) == CRDT_ERR_CORRUPT);
	CHECK(decode_copy("\x01" "M" "\x01" "\x00\x01" "a" "\0\0\0\0", 10,
					  &d, &err) == CRDT_OK);
	CHECK(d.transactional && d.prefix.len == 1 && d.content.len == 0);
	prop_arena_reset();
	printf("ok prop wire hostile (%d checks)\n", prop_checks - start);
}

int
main(void)
{
	prop_context = "wire";
	prop_roundtrip();
	prop_prefix_rejected();
	prop_trailing_rejected();
	prop_mutation();
	prop_hostile();
	return 0;
}
