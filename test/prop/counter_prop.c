/*-------------------------------------------------------------------------
 * counter_prop.c
 *	  Property tests of the gcounter and pncounter cores.
 *
 * Both counters are driven through one table of operations (CounterType),
 * so every lattice, encoding and canonical-form property is stated once and
 * checked on both types.  States are built the way a database builds them:
 * from the empty counter by local updates on a small pool of node ids, so
 * merges overlap, plus counts near the int8 limit so overflow paths run.
 *
 * IDENTIFICATION
 *	  test/prop/counter_prop.c
 *-------------------------------------------------------------------------
 */
#include "prop.h"

#include "edge_crdt/gcounter.h"
#include "edge_crdt/pncounter.h"

#define ITERATIONS	1000

static const uint64_t seeds[] = {1, 42, 0x5eed5eedULL, 20240601ULL};

static const int32_t node_pool[] = {1, 2, 3, 7, 1000, 65536, INT32_MAX};
#define NPOOL ((int) (sizeof(node_pool) / sizeof(node_pool[0])))

static int32_t
random_node(void)
{
	return node_pool[prop_below(NPOOL)];
}

/* Mostly small amounts; sometimes 0, sometimes huge (overflow paths). */
static int64_t
random_amount(void)
{
	switch (prop_below(10))
	{
		case 0:
			return 0;
		case 1:
			return (int64_t) prop_below(1ULL << 62);
		case 2:
			return INT64_MAX - (int64_t) prop_below(3);
		default:
			return (int64_t) prop_below(100) + 1;
	}
}

/* Random whitespace between tokens of a messy text input. */
static void
put_space(CrdtBuf *buf)
{
	static const char *const spaces[] = {"", "", "", " ", "  ", "\t", "\n "};

	crdt_buf_puts(buf, spaces[prop_below(7)]);
}

static void
shuffle(void *base, size_t n, size_t size)
{
	char		tmp[64];
	char	   *a = base;

	for (size_t i = n; i > 1; i--)
	{
		size_t		j = prop_below(i);

		memcpy(tmp, a + (i - 1) * size, size);
		memcpy(a + (i - 1) * size, a + j * size, size);
		memcpy(a + j * size, tmp, size);
	}
}

/* One local update, kept abstract so the properties serve both types. */
typedef struct Op
{
	int32_t		node;
	int			kind;			/* gcounter: 0 add; pncounter: 0 add, 1 sub */
	int64_t		amount;
} Op;

typedef struct CounterType
{
	const char *name;
	void	   *(*empty) (void);
	size_t		(*size) (const void *s);
	CrdtStatus	(*apply) (const void *s, Op op, void **out, CrdtError *err);
	Op			(*random_op) (void);
	CrdtStatus	(*merge) (const void *a, const void *b, void **out,
						  CrdtError *err);
	bool		(*leq) (const void *a, const void *b);
	bool		(*equal) (const void *a, const void *b);
	char	   *(*print) (const void *s);
	CrdtStatus	(*parse) (const char *text, void **out, CrdtError *err);
	void		(*encode) (const void *s, CrdtBuf *buf);
	CrdtStatus	(*decode) (const void *data, size_t len, void **out,
						   CrdtError *err);
	/* Ops that rebuild s from empty (any order gives the same state). */
	int			(*ops_for) (const void *s, Op *ops, int max);
	/* Text of s with items shuffled, spaced and padded with zero items. */
	char	   *(*messy_text) (const void *s);
	/* Exact value of s under a model, from its entries. */
	__int128	(*model_value) (const void *s);
	CrdtStatus	(*value) (const void *s, int64_t *out, CrdtError *err);
} CounterType;

/* ---------------------------------------------------------------------
 * gcounter adapter
 * ---------------------------------------------------------------------
 */

static void *
gc_empty(void)
{
	return gcounter_empty(prop_alloc);
}

static size_t
gc_size(const void *s)
{
	return GCOUNTER_SIZE(((const GCounter *) s)->nentries);
}

static CrdtStatus
gc_apply(const void *s, Op op, void **out, CrdtError *err)
{
	return gcounter_add(s, op.node, op.amount, prop_alloc,
						(GCounter **) out, err);
}

static Op
gc_random_op(void)
{
	Op			op = {random_node(), 0, random_amount()};

	return op;
}

static CrdtStatus
gc_merge(const void *a, const void *b, void **out, CrdtError *err)
{
	return gcounter_merge(a, b, prop_alloc, (GCounter **) out, err);
}

static bool
gc_leq(const void *a, const void *b)
{
	return gcounter_leq(a, b);
}

static bool
gc_equal(const void *a, const void *b)
{
	return gcounter_equal(a, b);
}

static char *
gc_print(const void *s)
{
	return gcounter_print(s, prop_alloc);
}

static CrdtStatus
gc_parse(const char *text, void **out, CrdtError *err)
{
	return gcounter_parse(text, prop_alloc, (GCounter **) out, err);
}

static void
gc_encode(const void *s, CrdtBuf *buf)
{
	gcounter_encode(s, buf);
}

static CrdtStatus
gc_decode(const void *data, size_t len, void **out, CrdtError *err)
{
	return gcounter_decode(data, len, prop_alloc, (GCounter **) out, err);
}

/* Splits a count into 1-3 positive chunks. */
static int
split_count(int64_t count, int64_t *chunks)
{
	int			k = 1 + (int) prop_below(3);
	int			n = 0;

	for (int i = 0; i < k - 1 && count > 1; i++)
	{
		int64_t		c = 1 + (int64_t) prop_below((uint64_t) count - 1);

		chunks[n++] = c;
		count -= c;
	}
	chunks[n++] = count;
	return n;
}

static int
map_ops(const GCounterEntry *e, int32_t n, int kind, Op *ops, int nops)
{
	for (int32_t i = 0; i < n; i++)
	{
		int64_t		chunks[3];
		int			k = split_count(e[i].count, chunks);

		for (int j = 0; j < k; j++)
		{
			ops[nops].node = e[i].node;
			ops[nops].kind = kind;
			ops[nops].amount = chunks[j];
			nops++;
		}
	}
	return nops;
}

static int
gc_ops_for(const void *s, Op *ops, int max)
{
	const GCounter *c = s;

	return map_ops(c->entries, c->nentries, 0, ops, 0);
}

static bool
map_has(const GCounterEntry *e, int32_t n, int32_t node)
{
	return gcounter_map_find(e, n, node) >= 0;
}

static char *
gc_messy_text(const void *s)
{
	const GCounter *c = s;
	char	   *items[64];
	int			n = 0;
	CrdtBuf		buf;

	for (int32_t i = 0; i < c->nentries; i++)
	{
		crdt_buf_init(&buf, prop_alloc, 32);
		put_space(&buf);
		crdt_buf_printf(&buf, "%s%d", prop_below(4) == 0 ? "0" : "",
						c->entries[i].node);
		put_space(&buf);
		crdt_buf_putc(&buf, ':');
		put_space(&buf);
		crdt_buf_printf(&buf, "%s%lld", prop_below(4) == 0 ? "+" : "",
						(long long) c->entries[i].count);
		put_space(&buf);
		items[n++] = crdt_buf_cstring(&buf);
	}
	/* Zero items for absent nodes must vanish. */
	for (int i = 0; i < NPOOL; i++)
		if (!map_has(c->entries, c->nentries, node_pool[i]) &&
			prop_below(3) == 0)
		{
			crdt_buf_init(&buf, prop_alloc, 32);
			crdt_buf_printf(&buf, "%d:0", node_pool[i]);
			items[n++] = crdt_buf_cstring(&buf);
		}
	shuffle(items, n, sizeof(char *));
	crdt_buf_init(&buf, prop_alloc, 64);
	put_space(&buf);
	crdt_buf_putc(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			crdt_buf_putc(&buf, ',');
		crdt_buf_puts(&buf, items[i]);
	}
	put_space(&buf);
	crdt_buf_putc(&buf, '}');
	put_space(&buf);
	return crdt_buf_cstring(&buf);
}

static __int128
gc_model_value(const void *s)
{
	const GCounter *c = s;
	__int128	v = 0;

	for (int32_t i = 0; i < c->nentries; i++)
		v += c->entries[i].count;
	return v;
}

static CrdtStatus
gc_value(const void *s, int64_t *out, CrdtError *err)
{
	return gcounter_value(s, out, err);
}

static const CounterType gcounter_type = {
	"gcounter", gc_empty, gc_size, gc_apply, gc_random_op, gc_merge, gc_leq,
	gc_equal, gc_print, gc_parse, gc_encode, gc_decode, gc_ops_for,
	gc_messy_text, gc_model_value, gc_value
};

/* ---------------------------------------------------------------------
 * pncounter adapter
 * ---------------------------------------------------------------------
 */

static void *
pn_empty(void)
{
	return pncounter_empty(prop_alloc);
}

static size_t
pn_size(const void *s)
{
	const PNCounter *c = s;

	return PNCOUNTER_SIZE(c->npos, c->nneg);
}

static CrdtStatus
pn_apply(const void *s, Op op, void **out, CrdtError *err)
{
	if (op.kind == 0)
		return pncounter_add(s, op.node, op.amount, prop_alloc,
							 (PNCounter **) out, err);
	return pncounter_sub(s, op.node, op.amount, prop_alloc,
						 (PNCounter **) out, err);
}

static Op
pn_random_op(void)
{
	Op			op = {random_node(), (int) prop_below(2), random_amount()};

	if (prop_below(3) == 0)
		op.amount = -op.amount;
	if (prop_below(200) == 0)
		op.amount = INT64_MIN;
	return op;
}

static CrdtStatus
pn_merge(const void *a, const void *b, void **out, CrdtError *err)
{
	return pncounter_merge(a, b, prop_alloc, (PNCounter **) out, err);
}

static bool
pn_leq(const void *a, const void *b)
{
	return pncounter_leq(a, b);
}

static bool
pn_equal(const void *a, const void *b)
{
	return pncounter_equal(a, b);
}

static char *
pn_print(const void *s)
{
	return pncounter_print(s, prop_alloc);
}

static CrdtStatus
pn_parse(const char *text, void **out, CrdtError *err)
{
	return pncounter_parse(text, prop_alloc, (PNCounter **) out, err);
}

static void
pn_encode(const void *s, CrdtBuf *buf)
{
	pncounter_encode(s, buf);
}

static CrdtStatus
pn_decode(const void *data, size_t len, void **out, CrdtError *err)
{
	return pncounter_decode(data, len, prop_alloc, (PNCounter **) out, err);
}

static int
pn_ops_for(const void *s, Op *ops, int max)
{
	const PNCounter *c = s;
	int			n;

	n = map_ops(PNCOUNTER_POS(c), c->npos, 0, ops, 0);
	n = map_ops(PNCOUNTER_NEG(c), c->nneg, 1, ops, n);
	/* A decrement may also be written as adding a negative amount. */
	for (int i = 0; i < n; i++)
		if (ops[i].kind == 1 && prop_below(2) == 0)
		{
			ops[i].kind = 0;
			ops[i].amount = -ops[i].amount;
		}
	return n;
}

static int64_t
map_get(const GCounterEntry *e, int32_t n, int32_t node)
{
	int32_t		i = gcounter_map_find(e, n, node);

	return i >= 0 ? e[i].count : 0;
}

static char *
pn_messy_text(const void *s)
{
	const PNCounter *c = s;
	char	   *items[64];
	int			n = 0;
	CrdtBuf		buf;

	for (int i = 0; i < NPOOL; i++)
	{
		int32_t		node = node_pool[i];
		int64_t		p = map_get(PNCOUNTER_POS(c), c->npos, node);
		int64_t		m = map_get(PNCOUNTER_NEG(c), c->nneg, node);

		/* Absent nodes sometimes appear as "+0-0" and must vanish. */
		if (p == 0 && m == 0 && prop_below(3) != 0)
			continue;
		crdt_buf_init(&buf, prop_alloc, 48);
		put_space(&buf);
		crdt_buf_printf(&buf, "%d", node);
		put_space(&buf);
		crdt_buf_putc(&buf, ':');
		put_space(&buf);
		crdt_buf_printf(&buf, "+%s%lld", prop_below(4) == 0 ? "00" : "",
						(long long) p);
		put_space(&buf);
		crdt_buf_printf(&buf, "-%lld", (long long) m);
		put_space(&buf);
		items[n++] = crdt_buf_cstring(&buf);
	}
	shuffle(items, n, sizeof(char *));
	crdt_buf_init(&buf, prop_alloc, 64);
	crdt_buf_putc(&buf, '{');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			crdt_buf_putc(&buf, ',');
		crdt_buf_puts(&buf, items[i]);
	}
	crdt_buf_putc(&buf, '}');
	put_space(&buf);
	return crdt_buf_cstring(&buf);
}

static __int128
pn_model_value(const void *s)
{
	const PNCounter *c = s;
	__int128	v = 0;

	for (int32_t i = 0; i < c->npos; i++)
		v += PNCOUNTER_POS(c)[i].count;
	for (int32_t i = 0; i < c->nneg; i++)
		v -= PNCOUNTER_NEG(c)[i].count;
	return v;
}

static CrdtStatus
pn_value(const void *s, int64_t *out, CrdtError *err)
{
	return pncounter_value(s, out, err);
}

static const CounterType pncounter_type = {
	"pncounter", pn_empty, pn_size, pn_apply, pn_random_op, pn_merge, pn_leq,
	pn_equal, pn_print, pn_parse, pn_encode, pn_decode, pn_ops_for,
	pn_messy_text, pn_model_value, pn_value
};

/* ---------------------------------------------------------------------
 * Properties, stated once for both types
 * ---------------------------------------------------------------------
 */

static const CounterType *T;

/* Same state, same bytes: the whole datum, header and padding included. */
static bool
same_bytes(const void *a, const void *b)
{
	return T->size(a) == T->size(b) && memcmp(a, b, T->size(a)) == 0;
}

/* A state reached by local updates from the empty counter. */
static void *
random_state(void)
{
	void	   *s = T->empty();
	int			k = (int) prop_below(12);

	for (int i = 0; i < k; i++)
	{
		CrdtError	err;
		void	   *next;

		if (T->apply(s, T->random_op(), &next, &err) == CRDT_OK)
			s = next;
		else
			CHECK(err.status == CRDT_ERR_OUT_OF_RANGE);
	}
	return s;
}

static void *
merged(const void *a, const void *b)
{
	CrdtError	err;
	void	   *m;

	/* Pool states are far below the entry bound: merge cannot fail. */
	CHECK(T->merge(a, b, &m, &err) == CRDT_OK);
	return m;
}

static void
prop_merge_commutative(void)
{
	void	   *a = random_state();
	void	   *b = random_state();

	CHECK(same_bytes(merged(a, b), merged(b, a)));
}

static void
prop_merge_associative(void)
{
	void	   *a = random_state();
	void	   *b = random_state();
	void	   *c = random_state();

	CHECK(same_bytes(merged(merged(a, b), c), merged(a, merged(b, c))));
}

static void
prop_merge_idempotent(void)
{
	void	   *a = random_state();
	void	   *b = random_state();
	void	   *ab = merged(a, b);

	CHECK(same_bytes(merged(a, a), a));
	CHECK(same_bytes(merged(ab, b), ab));
}

static void
prop_leq_merge(void)
{
	void	   *a = random_state();
	void	   *b = random_state();
	void	   *ab = merged(a, b);

	CHECK(T->leq(a, ab));
	CHECK(T->leq(b, ab));
	CHECK(T->leq(a, a));
	/* leq must be exactly "merge(a, b) = b", both ways round. */
	CHECK(T->leq(a, b) == T->equal(merged(a, b), b));
	CHECK(T->leq(b, a) == T->equal(merged(b, a), a));
	CHECK(T->leq(a, ab) == T->equal(merged(a, ab), ab));
	/* Equality of states is equality of bytes. */
	CHECK(T->equal(a, b) == same_bytes(a, b));
}

static void
prop_inflation(void)
{
	void	   *a = random_state();

	for (int i = 0; i < 4; i++)
	{
		CrdtError	err;
		void	   *next;

		if (T->apply(a, T->random_op(), &next, &err) != CRDT_OK)
		{
			CHECK(err.status == CRDT_ERR_OUT_OF_RANGE);
			continue;
		}
		CHECK(T->leq(a, next));
		CHECK(same_bytes(merged(a, next), next));
		a = next;
	}
}

static void
prop_model(void)
{
	void	   *a = random_state();
	__int128	model = T->model_value(a);
	CrdtError	err;
	int64_t		v;

	for (int i = 0; i < 4; i++)
	{
		Op			op = T->random_op();
		void	   *next;
		__int128	delta = op.amount;

		if (T->apply(a, op, &next, &err) != CRDT_OK)
			continue;
		if (op.kind == 1)
			delta = -delta;
		model += delta;
		a = next;
		CHECK(T->model_value(a) == model);
	}
	if (model >= INT64_MIN && model <= INT64_MAX)
	{
		CHECK(T->value(a, &v, &err) == CRDT_OK);
		CHECK(v == (int64_t) model);
	}
	else
	{
		CHECK(T->value(a, &v, &err) == CRDT_ERR_OUT_OF_RANGE);
	}
}

static void
prop_text_roundtrip(void)
{
	void	   *a = random_state();
	char	   *text = T->print(a);
	void	   *b;
	CrdtError	err;

	CHECK(T->parse(text, &b, &err) == CRDT_OK);
	CHECK(same_bytes(a, b));
	CHECK(strcmp(T->print(b), text) == 0);
	CHECK(strchr(text, ' ') == NULL);
}

static void
prop_binary_roundtrip(void)
{
	void	   *a = random_state();
	void	   *b;
	CrdtBuf		buf,
				buf2;
	CrdtError	err;

	crdt_buf_init(&buf, prop_alloc, 16);
	T->encode(a, &buf);
	CHECK(T->decode(buf.data, buf.len, &b, &err) == CRDT_OK);
	CHECK(same_bytes(a, b));
	crdt_buf_init(&buf2, prop_alloc, 16);
	T->encode(b, &buf2);
	CHECK(buf.len == buf2.len && memcmp(buf.data, buf2.data, buf.len) == 0);
}

static void
prop_canonical(void)
{
	void	   *a = random_state();
	Op			ops[256];
	int			n = T->ops_for(a, ops, 256);
	void	   *b = T->empty();
	void	   *c;
	CrdtError	err;

	/* Same updates in another order, with no-op updates mixed in. */
	shuffle(ops, n, sizeof(Op));
	for (int i = 0; i < n; i++)
	{
		void	   *next;
		Op			zero = {random_node(), (int) prop_below(2), 0};

		CHECK(T->apply(b, ops[i], &next, &err) == CRDT_OK);
		b = next;
		if (prop_below(4) == 0)
		{
			CHECK(T->apply(b, zero, &next, &err) == CRDT_OK);
			b = next;
		}
	}
	CHECK(same_bytes(a, b));

	/* Messy text of the same state parses to the same bytes. */
	CHECK(T->parse(T->messy_text(a), &c, &err) == CRDT_OK);
	CHECK(same_bytes(a, c));
}

static void
prop_decode_rejects_truncation(void)
{
	void	   *a = random_state();
	void	   *b;
	CrdtBuf		buf;
	CrdtError	err;

	crdt_buf_init(&buf, prop_alloc, 16);
	T->encode(a, &buf);
	for (size_t len = 0; len < buf.len; len++)
		CHECK(T->decode(buf.data, len, &b, &err) != CRDT_OK);
	/* And trailing garbage. */
	crdt_buf_put_u8(&buf, (uint8_t) prop_below(256));
	CHECK(T->decode(buf.data, buf.len, &b, &err) == CRDT_ERR_CORRUPT);
}

/*
 * The encoding is canonical: a mutated encoding either fails to decode or
 * decodes to a state that encodes back to exactly the mutated bytes.
 */
static void
prop_decode_mutation(void)
{
	void	   *a = random_state();
	void	   *b;
	CrdtBuf		buf,
				buf2;
	CrdtError	err;
	int			k = 1 + (int) prop_below(3);

	crdt_buf_init(&buf, prop_alloc, 16);
	T->encode(a, &buf);
	for (int i = 0; i < k; i++)
		buf.data[prop_below(buf.len)] ^= (char) (1 << prop_below(8));
	if (T->decode(buf.data, buf.len, &b, &err) != CRDT_OK)
	{
		CHECK(err.status == CRDT_ERR_CORRUPT || err.status == CRDT_ERR_TOO_LARGE);
		return;
	}
	crdt_buf_init(&buf2, prop_alloc, 16);
	T->encode(b, &buf2);
	CHECK(buf.len == buf2.len && memcmp(buf.data, buf2.data, buf.len) == 0);
}

static void
run(const CounterType *type, const char *property, void (*fn) (void))
{
	char		context[128];

	T = type;
	prop_checks = 0;
	prop_context = context;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
	{
		prop_seed(seeds[s]);
		for (int i = 0; i < ITERATIONS; i++)
		{
			snprintf(context, sizeof(context), "%s %s seed %llu iteration %d",
					 type->name, property, (unsigned long long) seeds[s], i);
			fn();
			prop_arena_reset();
		}
	}
	printf("ok prop %s %s (%d checks)\n", type->name, property, prop_checks);
}

/* ---------------------------------------------------------------------
 * Fixed cases: limits, overflow and rejected input
 * ---------------------------------------------------------------------
 */

static char *
text_of_nodes(int first, int count, const char *value)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, prop_alloc, (size_t) count * 16);
	crdt_buf_putc(&buf, '{');
	for (int i = 0; i < count; i++)
		crdt_buf_printf(&buf, "%s%d:%s", i ? "," : "", first + i, value);
	crdt_buf_putc(&buf, '}');
	return crdt_buf_cstring(&buf);
}

static void
expect_parse(const char *text, CrdtStatus status)
{
	void	   *s;
	CrdtError	err;

	prop_context = text;
	CHECK(T->parse(text, &s, &err) == status);
}

static void
gcounter_fixed_cases(void)
{
	GCounter   *full,
			   *other,
			   *r;
	CrdtError	err;
	int64_t		v;
	uint8_t		bin[64];

	T = &gcounter_type;
	prop_checks = 0;

	expect_parse("{}", CRDT_OK);
	expect_parse(" { } ", CRDT_OK);
	expect_parse("", CRDT_ERR_SYNTAX);
	expect_parse("{", CRDT_ERR_SYNTAX);
	expect_parse("{1:1", CRDT_ERR_SYNTAX);
	expect_parse("{1:1,}", CRDT_ERR_SYNTAX);
	expect_parse("{1 1}", CRDT_ERR_SYNTAX);
	expect_parse("{1:1}x", CRDT_ERR_SYNTAX);
	expect_parse("{1:x}", CRDT_ERR_SYNTAX);
	expect_parse("{:1}", CRDT_ERR_SYNTAX);
	expect_parse("{0:1}", CRDT_ERR_INVALID);
	expect_parse("{-3:1}", CRDT_ERR_INVALID);
	expect_parse("{2147483648:1}", CRDT_ERR_INVALID);
	expect_parse("{1:-1}", CRDT_ERR_INVALID);
	expect_parse("{1:1,1:2}", CRDT_ERR_INVALID);
	expect_parse("{1:0,1:0}", CRDT_ERR_INVALID);
	expect_parse("{1:9223372036854775807}", CRDT_OK);
	expect_parse("{1:9223372036854775808}", CRDT_ERR_OUT_OF_RANGE);
	expect_parse(text_of_nodes(1, GCOUNTER_MAX_ENTRIES, "1"), CRDT_OK);
	expect_parse(text_of_nodes(1, GCOUNTER_MAX_ENTRIES + 1, "1"),
				 CRDT_ERR_TOO_LARGE);
	prop_context = "gcounter limits";

	/* The entry bound holds for add and merge, not only for input. */
	CHECK(gcounter_parse(text_of_nodes(1, GCOUNTER_MAX_ENTRIES, "1"),
						 prop_alloc, &full, &err) == CRDT_OK);
	CHECK(gcounter_add(full, 5000, 1, prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);
	CHECK(gcounter_add(full, 5000, 0, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(gcounter_add(full, 7, 1, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(gcounter_value(r, &v, &err) == CRDT_OK && v == GCOUNTER_MAX_ENTRIES + 1);
	CHECK(gcounter_parse(text_of_nodes(3, 1, "1"), prop_alloc, &other,
						 &err) == CRDT_OK);
	CHECK(gcounter_merge(full, other, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(gcounter_parse(text_of_nodes(GCOUNTER_MAX_ENTRIES + 1, 1, "1"),
						 prop_alloc, &other, &err) == CRDT_OK);
	CHECK(gcounter_merge(full, other, prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);

	/* Overflow of an entry and of the sum. */
	CHECK(gcounter_parse("{1:9223372036854775807}", prop_alloc, &other,
						 &err) == CRDT_OK);
	CHECK(gcounter_add(other, 1, 1, prop_alloc, &r, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(gcounter_add(other, 2, 1, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(gcounter_value(r, &v, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(gcounter_add(other, 2, -1, prop_alloc, &r, &err) == CRDT_ERR_INVALID);
	CHECK(gcounter_add(other, 0, 1, prop_alloc, &r, &err) == CRDT_ERR_INVALID);

	/* Hand-made binary: bad version, bad entries, an absurd count. */
	{
		static const uint8_t ok[] = {1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5};

		memcpy(bin, ok, sizeof(ok));
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_OK);
		bin[0] = 2;
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		bin[0] = 1;
		bin[16] = 0;			/* count 0 */
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		bin[16] = 5;
		bin[8] = 0;				/* node 0 */
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		bin[8] = 7;
		bin[9] = 0xff;			/* count negative */
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		bin[1] = 0xff;			/* 4 billion entries: refused before allocating */
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);
		bin[1] = 0;
		bin[3] = 0x10;
		bin[4] = 0;				/* 4096 entries announced, one present */
		CHECK(gcounter_decode(bin, sizeof(ok), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
	}
	{
		/* Two entries out of order, then duplicated. */
		static const uint8_t unsorted[] = {1, 0, 0, 0, 2,
			0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1};

		memcpy(bin, unsorted, sizeof(unsorted));
		CHECK(gcounter_decode(bin, sizeof(unsorted), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		bin[20] = 9;
		CHECK(gcounter_decode(bin, sizeof(unsorted), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		bin[20] = 10;
		CHECK(gcounter_decode(bin, sizeof(unsorted), prop_alloc, &r, &err) == CRDT_OK);
	}
	prop_arena_reset();
	printf("ok prop gcounter fixed-cases (%d checks)\n", prop_checks);
}

static void
pncounter_fixed_cases(void)
{
	PNCounter  *full,
			   *other,
			   *r;
	CrdtError	err;
	int64_t		v;
	char	   *text;

	T = &pncounter_type;
	prop_checks = 0;

	expect_parse("{}", CRDT_OK);
	expect_parse("{7:+5-2,9:+0-3}", CRDT_OK);
	expect_parse("{7:5}", CRDT_ERR_SYNTAX);
	expect_parse("{7:+5}", CRDT_ERR_SYNTAX);
	expect_parse("{7:-2+5}", CRDT_ERR_SYNTAX);
	expect_parse("{7:+-5-2}", CRDT_ERR_SYNTAX);
	expect_parse("{7:+5--2}", CRDT_ERR_SYNTAX);
	expect_parse("{7:+5-2,7:+0-0}", CRDT_ERR_INVALID);
	expect_parse("{0:+5-2}", CRDT_ERR_INVALID);
	expect_parse("{7:+9223372036854775808-0}", CRDT_ERR_OUT_OF_RANGE);
	expect_parse(text_of_nodes(1, PNCOUNTER_MAX_NODES, "+1-1"), CRDT_OK);
	expect_parse(text_of_nodes(1, PNCOUNTER_MAX_NODES + 1, "+0-1"),
				 CRDT_ERR_TOO_LARGE);
	prop_context = "pncounter limits";

	text = text_of_nodes(1, PNCOUNTER_MAX_NODES, "+1-0");
	CHECK(pncounter_parse(text, prop_alloc, &full, &err) == CRDT_OK);
	/* A known node may start decrementing; a new node is refused. */
	CHECK(pncounter_sub(full, 9, 1, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(pncounter_value(r, &v, &err) == CRDT_OK && v == PNCOUNTER_MAX_NODES - 1);
	CHECK(pncounter_sub(full, 5000, 1, prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);
	CHECK(pncounter_add(full, 5000, -1, prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);
	CHECK(pncounter_add(full, 5000, 0, prop_alloc, &r, &err) == CRDT_OK);
	/* Merging in decrements of other nodes crosses the bound over the union. */
	CHECK(pncounter_parse("{5000:+0-1}", prop_alloc, &other, &err) == CRDT_OK);
	CHECK(pncounter_merge(full, other, prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);
	CHECK(pncounter_parse("{4096:+0-1}", prop_alloc, &other, &err) == CRDT_OK);
	CHECK(pncounter_merge(full, other, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(r->npos == PNCOUNTER_MAX_NODES && r->nneg == 1);

	/* Sums of P may exceed int8 while the value does not. */
	CHECK(pncounter_parse("{1:+9223372036854775807-9223372036854775807,"
						  "2:+9223372036854775807-0}",
						  prop_alloc, &other, &err) == CRDT_OK);
	CHECK(pncounter_value(other, &v, &err) == CRDT_OK && v == INT64_MAX);
	CHECK(pncounter_add(other, 3, 1, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(pncounter_value(r, &v, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(pncounter_parse("{1:+0-9223372036854775807,2:+0-1}",
						  prop_alloc, &other, &err) == CRDT_OK);
	CHECK(pncounter_value(other, &v, &err) == CRDT_OK && v == INT64_MIN);
	CHECK(pncounter_sub(other, 3, 1, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(pncounter_value(r, &v, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(pncounter_sub(other, 1, 1, prop_alloc, &r, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(pncounter_add(other, 4, INT64_MIN, prop_alloc, &r, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(pncounter_sub(other, 4, INT64_MIN, prop_alloc, &r, &err) == CRDT_ERR_OUT_OF_RANGE);
	CHECK(pncounter_add(other, 4, -5, prop_alloc, &r, &err) == CRDT_OK);
	CHECK(strcmp(pncounter_print(r, prop_alloc),
				 "{1:+0-9223372036854775807,2:+0-1,4:+0-5}") == 0);

	/* Binary: the halves are checked like a gcounter's, then the union. */
	{
		uint8_t		bin[] = {1, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5,
		0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2};

		CHECK(pncounter_decode(bin, sizeof(bin), prop_alloc, &r, &err) == CRDT_OK);
		CHECK(strcmp(pncounter_print(r, prop_alloc), "{7:+5-2}") == 0);
		bin[32] = 0;
		CHECK(pncounter_decode(bin, sizeof(bin), prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
		CHECK(pncounter_decode(bin, 17, prop_alloc, &r, &err) == CRDT_ERR_CORRUPT);
	}
	{
		/* 4096 P entries plus one other N node: too many nodes. */
		CrdtBuf		buf;
		int			n = PNCOUNTER_MAX_NODES;

		crdt_buf_init(&buf, prop_alloc, 64);
		crdt_buf_put_u8(&buf, 1);
		crdt_buf_put_u32(&buf, (uint32_t) n);
		for (int i = 1; i <= n; i++)
		{
			crdt_buf_put_i32(&buf, i);
			crdt_buf_put_i64(&buf, 1);
		}
		crdt_buf_put_u32(&buf, 1);
		crdt_buf_put_i32(&buf, n + 1);
		crdt_buf_put_i64(&buf, 1);
		CHECK(pncounter_decode(buf.data, buf.len, prop_alloc, &r, &err) == CRDT_ERR_TOO_LARGE);
	}
	prop_arena_reset();
	printf("ok prop pncounter fixed-cases (%d checks)\n", prop_checks);
}

int
main(void)
{
	static const CounterType *const types[] = {&gcounter_type, &pncounter_type};

	for (int t = 0; t < 2; t++)
	{
		run(types[t], "merge-commutative", prop_merge_commutative);
		run(types[t], "merge-associative", prop_merge_associative);
		run(types[t], "merge-idempotent", prop_merge_idempotent);
		run(types[t], "leq-is-merge-order", prop_leq_merge);
		run(types[t], "updates-inflate", prop_inflation);
		run(types[t], "value-matches-model", prop_model);
		run(types[t], "text-roundtrip", prop_text_roundtrip);
		run(types[t], "binary-roundtrip", prop_binary_roundtrip);
		run(types[t], "canonical-bytes", prop_canonical);
		run(types[t], "decode-rejects-truncation", prop_decode_rejects_truncation);
		run(types[t], "decode-mutation-canonical", prop_decode_mutation);
	}
	gcounter_fixed_cases();
	pncounter_fixed_cases();
	return 0;
}
