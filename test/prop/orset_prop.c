/*-------------------------------------------------------------------------
 * orset_prop.c
 *	  Property tests of the edge_crdt.orset core: lattice laws, the partial
 *	  order, inflation of local operations, add-wins semantics against a
 *	  naive observed-remove set, text and binary round trips, canonical
 *	  bytes, strict decoding and the size bounds.
 *
 * States come from two generators: random literals (any valid state,
 * including ones no execution reaches, such as several dots of one node on
 * an element) written as messy text, and snapshots of simulated replicas
 * that add, remove and merge.
 *
 * IDENTIFICATION
 *	  test/prop/orset_prop.c
 *-------------------------------------------------------------------------
 */
#include "prop.h"

#include "edge_crdt/orset.h"

/* Elements that stress the text format, plus random bytes. */
static const char *const pool[] = {
	"", "a", "b", "ab", "apple", "pear", "a b", "\"quoted\"", "back\\slash",
	"comma,colon:", "{}@[].", "caf\xc3\xa9", "\xe2\x82\xac", "line\nbreak\ttab",
	"\x01\x1f\x7f", "/slash", "A", "zz", " lead", "\\u0041",
};
#define NPOOL ((int) (sizeof(pool) / sizeof(pool[0])))

static const int32_t nodes[] = {1, 2, 7, 1000, 2147483647};
#define NNODES 5

/* ----------------------------------------------------------------
 *		Per-property counters
 * ----------------------------------------------------------------
 */
enum
{
	P_COMMUTATIVE,
	P_ASSOCIATIVE,
	P_IDEMPOTENT,
	P_UPPER_BOUND,
	P_LEQ_AGREES,
	P_LEQ_ORDER,
	P_INFLATION,
	P_TEXT_ROUNDTRIP,
	P_BINARY_ROUNDTRIP,
	P_CANONICAL,
	P_TRUNCATION,
	P_STRICT_DECODE,
	P_ADD_WINS,
	P_NO_RESURRECT,
	P_ORACLE,
	P_BOUNDS,
	P_COUNT
};

static const char *const pnames[P_COUNT] = {
	"merge-commutative", "merge-associative", "merge-idempotent",
	"merge-upper-bound", "leq-agrees-with-merge", "leq-partial-order",
	"ops-inflation", "text-roundtrip", "binary-roundtrip", "canonical-bytes",
	"decode-rejects-truncation", "decode-accepts-only-canonical",
	"add-wins", "remove-no-resurrect", "naive-orset-oracle", "size-bounds",
};

static int	pcount[P_COUNT];

#define PCHECK(p, cond) \
	do { pcount[p]++; CHECK(cond); } while (0)

static char ctxbuf[128];

/* ----------------------------------------------------------------
 *		Helpers
 * ----------------------------------------------------------------
 */

static OrSet *
must_parse(const char *text)
{
	OrSet	   *s = NULL;
	CrdtError	err;

	if (orset_parse(text, &s, prop_alloc, &err) != CRDT_OK)
	{
		fprintf(stderr, "parse failed (%s): %s\ninput: %s\n",
				prop_context, err.message, text);
		exit(1);
	}
	return s;
}

static OrSet *
must_merge(const OrSet *a, const OrSet *b)
{
	OrSet	   *s = NULL;
	CrdtError	err;

	if (orset_merge(a, b, &s, prop_alloc, &err) != CRDT_OK)
	{
		fprintf(stderr, "merge failed (%s): %s\n", prop_context, err.message);
		exit(1);
	}
	return s;
}

static OrSet *
must_add(const OrSet *a, int32_t node, const char *x)
{
	OrSet	   *s = NULL;
	CrdtError	err;
	OrSetStr	e = {x, (uint32_t) strlen(x)};

	if (orset_add(a, node, &e, 1, &s, prop_alloc, &err) != CRDT_OK)
	{
		fprintf(stderr, "add failed (%s): %s\n", prop_context, err.message);
		exit(1);
	}
	return s;
}

static OrSet *
must_remove(const OrSet *a, const char *x)
{
	OrSet	   *s = NULL;
	CrdtError	err;
	OrSetStr	e = {x, (uint32_t) strlen(x)};

	if (orset_remove(a, &e, 1, &s, prop_alloc, &err) != CRDT_OK)
	{
		fprintf(stderr, "remove failed (%s): %s\n", prop_context, err.message);
		exit(1);
	}
	return s;
}

static int64_t
orset_vv_get_for_test(const OrSet *s, int32_t node)
{
	for (uint32_t i = 0; i < s->nvv; i++)
		if (orset_vv(s)[i].node == node)
			return orset_vv(s)[i].counter;
	return 0;
}

static bool
has(const OrSet *s, const char *x)
{
	return orset_contains(s, x, strlen(x));
}

static CrdtBuf
encode(const OrSet *s)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, prop_alloc, 64);
	orset_encode(s, &buf);
	return buf;
}

/* Round trips every state seen goes through. */
static void
check_roundtrips(const OrSet *s)
{
	char	   *text = orset_print(s, prop_alloc);
	OrSet	   *t = must_parse(text);
	CrdtBuf		bin = encode(s);
	OrSet	   *d = NULL;
	CrdtError	err;

	PCHECK(P_TEXT_ROUNDTRIP, orset_equal(s, t));
	PCHECK(P_TEXT_ROUNDTRIP, strcmp(orset_print(t, prop_alloc), text) == 0);
	PCHECK(P_BINARY_ROUNDTRIP,
		   orset_decode(bin.data, bin.len, &d, prop_alloc, &err) == CRDT_OK);
	PCHECK(P_BINARY_ROUNDTRIP, orset_equal(s, d));
}

/* ----------------------------------------------------------------
 *		Random literal states
 * ----------------------------------------------------------------
 */

#define M_MAXEL 14
#define M_MAXDOTS 6

typedef struct MElem
{
	OrSetStr	str;
	int			nd;
	OrSetDot	d[M_MAXDOTS];
} MElem;

typedef struct MState
{
	int			nvv;
	OrSetDot	vv[NNODES];		/* may hold zero counters */
	int			nel;
	MElem		el[M_MAXEL];
} MState;

static int
str_cmp(OrSetStr a, OrSetStr b)
{
	size_t		n = a.len < b.len ? a.len : b.len;
	int			c = n ? memcmp(a.data, b.data, n) : 0;

	if (c)
		return c;
	return a.len < b.len ? -1 : (a.len > b.len ? 1 : 0);
}

static OrSetStr
random_element(void)
{
	OrSetStr	r;

	if (prop_below(5) > 0)
	{
		r.data = pool[prop_below(NPOOL)];
		r.len = (uint32_t) strlen(r.data);
	}
	else
	{
		uint32_t	len = (uint32_t) prop_below(13);
		char	   *b = prop_alloc(len + 1);

		for (uint32_t i = 0; i < len; i++)
			b[i] = (char) (1 + prop_below(255));
		r.data = b;
		r.len = len;
	}
	return r;
}

static void
random_model(MState *m)
{
	int			ncovered = 0;

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < NNODES; i++)
	{
		if (prop_below(10) < 6)
		{
			m->vv[m->nvv].node = nodes[i];
			m->vv[m->nvv].counter = (int64_t) prop_below(7);
			ncovered += (int) m->vv[m->nvv].counter;
			m->nvv++;
		}
	}
	if (prop_below(20) == 0 && m->nvv > 0)
	{
		/* Counters near the top of the range. */
		m->vv[0].counter = INT64_MAX - (int64_t) prop_below(3);
		ncovered += 3;
	}
	if (ncovered == 0)
		return;
	for (int k = (int) prop_below(M_MAXEL + 1); k > 0; k--)
	{
		MElem	   *e = &m->el[m->nel];
		bool		dup = false;
		int			want = 1 + (int) prop_below(prop_below(3) ? 2 : M_MAXDOTS);

		e->str = random_element();
		for (int i = 0; i < m->nel; i++)
			if (str_cmp(m->el[i].str, e->str) == 0)
				dup = true;
		if (dup)
			continue;
		e->nd = 0;
		for (int tries = 0; tries < 20 && e->nd < want; tries++)
		{
			OrSetDot	d;
			int			v = (int) prop_below(m->nvv);
			bool		seen = false;

			if (m->vv[v].counter == 0)
				continue;
			memset(&d, 0, sizeof(d));
			d.node = m->vv[v].node;
			if (m->vv[v].counter > 1000)
				d.counter = m->vv[v].counter - (int64_t) prop_below(3);
			else
				d.counter = 1 + (int64_t) prop_below((uint64_t) m->vv[v].counter);
			for (int i = 0; i < e->nd; i++)
				if (e->d[i].node == d.node && e->d[i].counter == d.counter)
					seen = true;
			if (!seen)
				e->d[e->nd++] = d;
		}
		if (e->nd > 0)
			m->nel++;
	}
}

static void
shuffle(void *base, int n, size_t size)
{
	char		tmp[sizeof(MElem)];
	char	   *b = base;

	for (int i = n - 1; i > 0; i--)
	{
		int			j = (int) prop_below((uint64_t) i + 1);

		memcpy(tmp, b + i * size, size);
		memcpy(b + i * size, b + j * size, size);
		memcpy(b + j * size, tmp, size);
	}
}

static int
elem_qcmp(const void *a, const void *b)
{
	return str_cmp(((const MElem *) a)->str, ((const MElem *) b)->str);
}

static int
dot_qcmp(const void *a, const void *b)
{
	const OrSetDot *x = a,
			   *y = b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	if (x->counter != y->counter)
		return x->counter < y->counter ? -1 : 1;
	return 0;
}

static void
ws(CrdtBuf *b, bool messy)
{
	static const char *const spaces[] = {" ", "\n", "\t ", "  \r\n"};

	if (messy && prop_below(3) == 0)
		crdt_buf_puts(b, spaces[prop_below(4)]);
}

static void
put_string(CrdtBuf *b, OrSetStr s, bool messy)
{
	static const char hex[] = "0123456789abcdef";

	crdt_buf_putc(b, '"');
	for (uint32_t i = 0; i < s.len; i++)
	{
		unsigned char c = (unsigned char) s.data[i];
		bool		alt = messy && prop_below(3) == 0;

		if (alt && c >= 0x01 && c <= 0x7f)
			crdt_buf_printf(b, "\\u%04X", c);	/* upper-case hex on input */
		else if (c == '"')
			crdt_buf_puts(b, "\\\"");
		else if (c == '\\')
			crdt_buf_puts(b, "\\\\");
		else if (c == '\n')
			crdt_buf_puts(b, "\\n");
		else if (c == '\t')
			crdt_buf_puts(b, "\\t");
		else if (c == '\r')
			crdt_buf_puts(b, "\\r");
		else if (c == '\b')
			crdt_buf_puts(b, "\\b");
		else if (c == '\f')
			crdt_buf_puts(b, "\\f");
		else if (c < 0x20 || c == 0x7f)
		{
			if (messy && prop_below(2) == 0)
				crdt_buf_putc(b, (char) c);	/* raw control byte is accepted */
			else
				crdt_buf_printf(b, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		}
		else if (c == '/' && messy && prop_below(2) == 0)
			crdt_buf_puts(b, "\\/");
		else
			crdt_buf_putc(b, (char) c);
	}
	crdt_buf_putc(b, '"');
}

/*
 * The model as text: canonical (what orset_print must produce, computed
 * independently here) or messy (shuffled, spaced, zero vv entries kept,
 * alternative escapes).
 */
static char *
model_text(MState *m, bool messy)
{
	CrdtBuf		b;
	bool		first = true;

	if (messy)
	{
		shuffle(m->el, m->nel, sizeof(MElem));
		for (int i = 0; i < m->nel; i++)
			shuffle(m->el[i].d, m->el[i].nd, sizeof(OrSetDot));
		shuffle(m->vv, m->nvv, sizeof(OrSetDot));
	}
	else
	{
		qsort(m->el, m->nel, sizeof(MElem), elem_qcmp);
		for (int i = 0; i < m->nel; i++)
			qsort(m->el[i].d, m->el[i].nd, sizeof(OrSetDot), dot_qcmp);
		qsort(m->vv, m->nvv, sizeof(OrSetDot), dot_qcmp);
	}

	crdt_buf_init(&b, prop_alloc, 256);
	ws(&b, messy);
	crdt_buf_putc(&b, '{');
	for (int i = 0; i < m->nel; i++)
	{
		ws(&b, messy);
		if (i > 0)
		{
			crdt_buf_putc(&b, ',');
			ws(&b, messy);
		}
		put_string(&b, m->el[i].str, messy);
		ws(&b, messy);
		crdt_buf_putc(&b, ':');
		ws(&b, messy);
		crdt_buf_putc(&b, '[');
		for (int k = 0; k < m->el[i].nd; k++)
		{
			ws(&b, messy);
			if (k > 0)
				crdt_buf_putc(&b, ',');
			ws(&b, messy);
			crdt_buf_printf(&b, "%d.%lld", m->el[i].d[k].node,
							(long long) m->el[i].d[k].counter);
		}
		ws(&b, messy);
		crdt_buf_putc(&b, ']');
	}
	ws(&b, messy);
	crdt_buf_putc(&b, '}');
	ws(&b, messy);
	crdt_buf_putc(&b, '@');
	ws(&b, messy);
	crdt_buf_putc(&b, '{');
	for (int i = 0; i < m->nvv; i++)
	{
		if (m->vv[i].counter == 0 && !messy)
			continue;
		ws(&b, messy);
		if (!first)
			crdt_buf_putc(&b, ',');
		first = false;
		ws(&b, messy);
		crdt_buf_printf(&b, "%d", m->vv[i].node);
		ws(&b, messy);
		crdt_buf_putc(&b, ':');
		ws(&b, messy);
		crdt_buf_printf(&b, "%lld", (long long) m->vv[i].counter);
	}
	ws(&b, messy);
	crdt_buf_putc(&b, '}');
	ws(&b, messy);
	return crdt_buf_cstring(&b);
}

static OrSet *
random_literal(void)
{
	MState		m;
	char	   *canon,
			   *messy;
	OrSet	   *a,
			   *b;

	random_model(&m);
	canon = model_text(&m, false);
	messy = model_text(&m, true);
	a = must_parse(canon);
	b = must_parse(messy);
	PCHECK(P_CANONICAL, orset_equal(a, b));
	PCHECK(P_CANONICAL, strcmp(orset_print(b, prop_alloc), canon) == 0);
	return prop_below(2) ? a : b;
}

/* ----------------------------------------------------------------
 *		Simulated replicas against a naive observed-remove set
 * ----------------------------------------------------------------
 */

#define R 3
#define SIM_MAX 256

/*
 * The textbook OR-set with tombstones: an element is present when one of
 * its add tags is not tombstoned; merge is union of both sets.
 */
typedef struct Naive
{
	int			nadds;
	int			add_elem[SIM_MAX];
	OrSetDot	add_dot[SIM_MAX];
	int			ntomb;
	OrSetDot	tomb[SIM_MAX];
} Naive;

static bool
naive_tombstoned(const Naive *n, OrSetDot d)
{
	for (int i = 0; i < n->ntomb; i++)
		if (n->tomb[i].node == d.node && n->tomb[i].counter == d.counter)
			return true;
	return false;
}

static bool
naive_present(const Naive *n, int elem)
{
	for (int i = 0; i < n->nadds; i++)
		if (n->add_elem[i] == elem && !naive_tombstoned(n, n->add_dot[i]))
			return true;
	return false;
}

static void
naive_merge(Naive *into, const Naive *from)
{
	for (int i = 0; i < from->nadds; i++)
	{
		bool		seen = false;

		for (int k = 0; k < into->nadds; k++)
			if (into->add_dot[k].node == from->add_dot[i].node &&
				into->add_dot[k].counter == from->add_dot[i].counter)
				seen = true;
		if (!seen && into->nadds < SIM_MAX)
		{
			into->add_elem[into->nadds] = from->add_elem[i];
			into->add_dot[into->nadds++] = from->add_dot[i];
		}
	}
	for (int i = 0; i < from->ntomb; i++)
		if (!naive_tombstoned(into, from->tomb[i]) && into->ntomb < SIM_MAX)
			into->tomb[into->ntomb++] = from->tomb[i];
}

static OrSet *snapshots[64];
static int	nsnapshots;

static const int32_t sim_nodes[R] = {7, 1000, 2147483647};

static void
simulate(int steps)
{
	OrSet	   *s[R];
	static Naive nv[R];
	int64_t		counter[R] = {0};

	for (int r = 0; r < R; r++)
	{
		s[r] = orset_empty(prop_alloc);
		memset(&nv[r], 0, sizeof(Naive));
	}
	for (int step = 0; step < steps; step++)
	{
		int			r = (int) prop_below(R);
		int			op = (int) prop_below(100);
		int			x = (int) prop_below(8);	/* few elements: collisions */
		OrSet	   *old = s[r];

		if (op < 40)
		{
			OrSetStr	e = {pool[x], (uint32_t) strlen(pool[x])};
			OrSetDot	d = {sim_nodes[r], 0, ++counter[r]};
			const OrSetElem *el;
			int64_t		idx = -1;

			s[r] = must_add(old, sim_nodes[r], pool[x]);
			/* The new dot is exactly (node, own add count). */
			for (uint32_t i = 0; i < s[r]->nelems; i++)
			{
				OrSetStr	got = orset_element(s[r], i);

				if (str_cmp(got, e) == 0)
					idx = i;
			}
			CHECK(idx >= 0);
			el = &orset_elems(s[r])[idx];
			PCHECK(P_ORACLE, el->ndots == 1 &&
				   orset_dots(s[r])[el->dot_off].node == d.node &&
				   orset_dots(s[r])[el->dot_off].counter == d.counter);
			if (nv[r].nadds < SIM_MAX)
			{
				nv[r].add_elem[nv[r].nadds] = x;
				nv[r].add_dot[nv[r].nadds++] = d;
			}
			PCHECK(P_INFLATION, orset_leq(old, s[r]));
		}
		else if (op < 65)
		{
			s[r] = must_remove(old, pool[x]);
			for (int i = 0; i < nv[r].nadds; i++)
				if (nv[r].add_elem[i] == x &&
					!naive_tombstoned(&nv[r], nv[r].add_dot[i]) &&
					nv[r].ntomb < SIM_MAX)
					nv[r].tomb[nv[r].ntomb++] = nv[r].add_dot[i];
			PCHECK(P_INFLATION, orset_leq(old, s[r]));
			PCHECK(P_INFLATION, orset_equal(must_merge(old, s[r]), s[r]));
		}
		else
		{
			int			q = (int) prop_below(R);

			s[r] = must_merge(old, s[q]);
			naive_merge(&nv[r], &nv[q]);
			PCHECK(P_INFLATION, orset_leq(old, s[r]));
			PCHECK(P_INFLATION, orset_leq(s[q], s[r]));
		}
		for (int e = 0; e < 8; e++)
			PCHECK(P_ORACLE, has(s[r], pool[e]) == naive_present(&nv[r], e));
		check_roundtrips(s[r]);
		if (nsnapshots < 64 && prop_below(4) == 0)
			snapshots[nsnapshots++] = s[r];
	}

	/* Full exchange: every replica converges to the same bytes. */
	{
		OrSet	   *all = s[0];
		Naive		nall = nv[0];

		for (int r = 1; r < R; r++)
		{
			all = must_merge(all, s[r]);
			naive_merge(&nall, &nv[r]);
		}
		for (int r = 0; r < R; r++)
			PCHECK(P_ORACLE, orset_equal(must_merge(s[r], all), all));
		for (int e = 0; e < 8; e++)
			PCHECK(P_ORACLE, has(all, pool[e]) == naive_present(&nall, e));
		if (nsnapshots < 64)
			snapshots[nsnapshots++] = all;
	}
}

static OrSet *
random_state(void)
{
	if (nsnapshots > 0 && prop_below(2) == 0)
		return snapshots[prop_below(nsnapshots)];
	return random_literal();
}

/* ----------------------------------------------------------------
 *		Properties over random states
 * ----------------------------------------------------------------
 */

static void
check_lattice(OrSet *a, OrSet *b, OrSet *c)
{
	OrSet	   *ab = must_merge(a, b);
	OrSet	   *ba = must_merge(b, a);
	OrSet	   *ab_c = must_merge(ab, c);
	OrSet	   *a_bc = must_merge(a, must_merge(b, c));
	bool		le;

	PCHECK(P_COMMUTATIVE, orset_equal(ab, ba));
	PCHECK(P_ASSOCIATIVE, orset_equal(ab_c, a_bc));
	PCHECK(P_IDEMPOTENT, orset_equal(must_merge(a, a), a));
	PCHECK(P_IDEMPOTENT, orset_equal(must_merge(ab, b), ab));
	PCHECK(P_UPPER_BOUND, orset_leq(a, ab) && orset_leq(b, ab));
	PCHECK(P_UPPER_BOUND, orset_leq(ab, ab_c) && orset_leq(c, ab_c));

	/* leq on unrelated pairs, on related pairs and both ways. */
	PCHECK(P_LEQ_AGREES, orset_leq(a, b) == orset_equal(ab, b));
	PCHECK(P_LEQ_AGREES, orset_leq(b, a) == orset_equal(ab, a));
	PCHECK(P_LEQ_AGREES, orset_leq(ab, c) == orset_equal(must_merge(ab, c), c));
	PCHECK(P_LEQ_AGREES, orset_leq(c, ab) == orset_equal(ab_c, ab));
	PCHECK(P_LEQ_ORDER, orset_leq(a, a));
	le = orset_leq(a, b) && orset_leq(b, a);
	PCHECK(P_LEQ_ORDER, le == orset_equal(a, b));
	/* transitivity on a chain that often holds */
	if (orset_leq(a, b) && orset_leq(b, c))
		PCHECK(P_LEQ_ORDER, orset_leq(a, c));

	check_roundtrips(ab_c);
}

static void
check_ops(OrSet *s)
{
	const char *x = pool[prop_below(NPOOL)];
	int32_t		na = 7,
				nb = 1000;
	OrSet	   *s1,
			   *a,
			   *b,
			   *m;
	CrdtError	err;

	/* Counters near INT64_MAX make adds fail; those are checked below. */
	for (uint32_t i = 0; i < s->nvv; i++)
		if (orset_vv(s)[i].counter > INT64_MAX - 16)
			return;

	/* Inflation of each local operation. */
	a = must_add(s, na, x);
	PCHECK(P_INFLATION, orset_leq(s, a));
	PCHECK(P_INFLATION, has(a, x));
	b = must_remove(s, x);
	PCHECK(P_INFLATION, orset_leq(s, b));
	PCHECK(P_INFLATION, !has(b, x));
	PCHECK(P_INFLATION, orset_equal(must_merge(s, a), a));

	/* Concurrent add and remove: the add wins, observed or not. */
	m = must_merge(a, b);
	PCHECK(P_ADD_WINS, has(m, x));
	PCHECK(P_ADD_WINS, orset_equal(m, must_merge(b, a)));
	s1 = must_add(s, nb, x);	/* now x is observed by both sides */
	a = must_add(s1, na, x);
	b = must_remove(s1, x);
	PCHECK(P_ADD_WINS, has(must_merge(a, b), x));
	PCHECK(P_ADD_WINS, has(must_merge(b, a), x));

	/* A remove merged with the state it came from stays removed. */
	PCHECK(P_NO_RESURRECT, !has(must_merge(b, s1), x));
	PCHECK(P_NO_RESURRECT, !has(must_merge(s1, b), x));
	PCHECK(P_NO_RESURRECT, orset_equal(must_merge(s1, b), b));
	/* ... and with a concurrent state that did not touch x. */
	{
		const char *y = pool[prop_below(NPOOL)];

		if (strcmp(x, y) != 0)
		{
			OrSet	   *c = must_add(s1, na, y);

			PCHECK(P_NO_RESURRECT, !has(must_merge(b, c), x));
			PCHECK(P_NO_RESURRECT, has(must_merge(b, c), y));
		}
	}

	/* Adding a batch in any order gives the same bytes. */
	{
		OrSetStr	batch[6];
		OrSet	   *r1,
				   *r2;
		int			n = 1 + (int) prop_below(6);

		for (int i = 0; i < n; i++)
			batch[i] = random_element();
		CHECK(orset_add(s, nb, batch, (uint32_t) n, &r1, prop_alloc, &err) == CRDT_OK);
		shuffle(batch, n, sizeof(OrSetStr));
		CHECK(orset_add(s, nb, batch, (uint32_t) n, &r2, prop_alloc, &err) == CRDT_OK);
		PCHECK(P_CANONICAL, orset_equal(r1, r2));
		PCHECK(P_INFLATION, orset_leq(s, r1));
		for (int i = 0; i < n; i++)
			PCHECK(P_INFLATION, orset_contains(r1, batch[i].data, batch[i].len));
		CHECK(orset_remove(r1, batch, (uint32_t) n, &r2, prop_alloc, &err) == CRDT_OK);
		PCHECK(P_INFLATION, orset_leq(r1, r2));
		for (int i = 0; i < n; i++)
			PCHECK(P_INFLATION, !orset_contains(r2, batch[i].data, batch[i].len));
		check_roundtrips(r2);
	}
}

/*
 * A state taken apart, so that the test can write encodings orset_encode
 * never would (unsorted, repeated, uncovered) and check they are refused.
 */
typedef struct RawElem
{
	OrSetStr	str;
	uint32_t	nd;
	OrSetDot   *d;
} RawElem;

typedef struct Raw
{
	uint32_t	nvv;
	OrSetDot   *vv;
	uint32_t	nel;
	RawElem    *el;
} Raw;

static Raw
raw_from(const OrSet *s)
{
	Raw			r;

	r.nvv = s->nvv;
	r.vv = prop_alloc((s->nvv + 1) * sizeof(OrSetDot));
	memcpy(r.vv, orset_vv(s), s->nvv * sizeof(OrSetDot));
	r.nel = s->nelems;
	r.el = prop_alloc((s->nelems + 1) * sizeof(RawElem));
	for (uint32_t i = 0; i < s->nelems; i++)
	{
		const OrSetElem *e = &orset_elems(s)[i];

		r.el[i].str = orset_element(s, i);
		r.el[i].nd = e->ndots;
		r.el[i].d = prop_alloc((e->ndots + 1) * sizeof(OrSetDot));
		memcpy(r.el[i].d, orset_dots(s) + e->dot_off, e->ndots * sizeof(OrSetDot));
	}
	return r;
}

/* Big-endian, written independently of the core's encoder. */
static void
raw_u32(CrdtBuf *b, uint32_t v)
{
	uint8_t		x[4] = {(uint8_t) (v >> 24), (uint8_t) (v >> 16),
	(uint8_t) (v >> 8), (uint8_t) v};

	crdt_buf_append(b, x, 4);
}

static void
raw_dot(CrdtBuf *b, OrSetDot d)
{
	raw_u32(b, (uint32_t) d.node);
	raw_u32(b, (uint32_t) ((uint64_t) d.counter >> 32));
	raw_u32(b, (uint32_t) (uint64_t) d.counter);
}

static CrdtBuf
raw_encode(const Raw *r)
{
	CrdtBuf		b;

	crdt_buf_init(&b, prop_alloc, 64);
	crdt_buf_putc(&b, 1);
	raw_u32(&b, r->nvv);
	for (uint32_t i = 0; i < r->nvv; i++)
		raw_dot(&b, r->vv[i]);
	raw_u32(&b, r->nel);
	for (uint32_t i = 0; i < r->nel; i++)
	{
		raw_u32(&b, r->el[i].str.len);
		crdt_buf_append(&b, r->el[i].str.data, r->el[i].str.len);
		raw_u32(&b, r->el[i].nd);
		for (uint32_t k = 0; k < r->el[i].nd; k++)
			raw_dot(&b, r->el[i].d[k]);
	}
	return b;
}

static void
expect_rejected(const Raw *r)
{
	CrdtBuf		b = raw_encode(r);
	OrSet	   *d;
	CrdtError	err;

	PCHECK(P_STRICT_DECODE, orset_decode(b.data, b.len, &d, prop_alloc, &err) != CRDT_OK);
}

/* Each semantic corruption of a valid encoding is refused. */
static void
check_hostile(const OrSet *s)
{
	Raw			r = raw_from(s);
	CrdtBuf		b = raw_encode(&r);
	CrdtBuf		ref = encode(s);
	OrSetDot	t;
	RawElem		te;

	PCHECK(P_STRICT_DECODE, b.len == ref.len && memcmp(b.data, ref.data, b.len) == 0);

	if (r.nvv >= 2)
	{
		uint32_t	i = (uint32_t) prop_below(r.nvv - 1);

		t = r.vv[i];
		r.vv[i] = r.vv[i + 1];
		r.vv[i + 1] = t;
		expect_rejected(&r);	/* unsorted vv */
		r.vv[i + 1] = r.vv[i];
		expect_rejected(&r);	/* repeated vv node */
		r = raw_from(s);
	}
	if (r.nvv >= 1)
	{
		uint32_t	i = (uint32_t) prop_below(r.nvv);

		t = r.vv[i];
		r.vv[i].counter = 0;
		expect_rejected(&r);	/* zero vv entry */
		r.vv[i].counter = -1;
		expect_rejected(&r);
		r.vv[i] = t;
		r.vv[i].node = 0;
		expect_rejected(&r);
		r.vv[i] = t;
	}
	if (r.nel >= 2)
	{
		uint32_t	i = (uint32_t) prop_below(r.nel - 1);

		te = r.el[i];
		r.el[i] = r.el[i + 1];
		r.el[i + 1] = te;
		expect_rejected(&r);	/* unsorted elements */
		r.el[i + 1] = r.el[i];
		expect_rejected(&r);	/* repeated element */
		r = raw_from(s);
	}
	if (r.nel >= 1)
	{
		uint32_t	i = (uint32_t) prop_below(r.nel);
		RawElem    *e = &r.el[i];
		uint32_t	k = (uint32_t) prop_below(e->nd);

		t = e->d[k];
		if (orset_vv_get_for_test(s, t.node) < INT64_MAX)
		{
			e->d[k].counter = orset_vv_get_for_test(s, t.node) + 1;
			expect_rejected(&r);	/* dot beyond the vv */
		}
		e->d[k] = t;
		e->d[k].counter = 0;
		expect_rejected(&r);
		e->d[k] = t;
		if (e->nd >= 2 && k + 1 < e->nd)
		{
			e->d[k] = e->d[k + 1];
			e->d[k + 1] = t;
			expect_rejected(&r);	/* unsorted dots */
			e->d[k] = t;
			e->d[k + 1] = t;
			expect_rejected(&r);	/* repeated dot */
			r = raw_from(s);
			e = &r.el[i];
		}
		e->nd = 0;
		expect_rejected(&r);	/* element with no dots */
		r = raw_from(s);
		e = &r.el[i];
		if (e->str.len > 0)
		{
			char	   *z = prop_alloc(e->str.len);

			memcpy(z, e->str.data, e->str.len);
			z[prop_below(e->str.len)] = '\0';
			e->str.data = z;
			expect_rejected(&r);	/* NUL byte in an element */
		}
	}
}

static void
check_decoding(OrSet *s)
{
	CrdtBuf		bin = encode(s);
	OrSet	   *d;
	CrdtError	err;
	char	   *text;

	check_hostile(s);
	if (bin.len <= 600)
	{
		for (size_t n = 0; n < bin.len; n++)
			PCHECK(P_TRUNCATION,
				   orset_decode(bin.data, n, &d, prop_alloc, &err) != CRDT_OK);
	}
	else
	{
		for (int i = 0; i < 100; i++)
			PCHECK(P_TRUNCATION,
				   orset_decode(bin.data, prop_below(bin.len), &d, prop_alloc,
								&err) != CRDT_OK);
	}
	/* Trailing garbage. */
	crdt_buf_putc(&bin, 0);
	PCHECK(P_TRUNCATION,
		   orset_decode(bin.data, bin.len, &d, prop_alloc, &err) == CRDT_ERR_CORRUPT);
	bin.len--;

	/* Mutations: whatever decodes must be exactly canonical. */
	for (int i = 0; i < 20; i++)
	{
		char	   *m = prop_alloc(bin.len);
		int			flips = 1 + (int) prop_below(3);

		memcpy(m, bin.data, bin.len);
		for (int f = 0; f < flips; f++)
		{
			size_t		at = prop_below(bin.len);

			if (prop_below(2))
				m[at] ^= (char) (1 << prop_below(8));
			else
				m[at] = (char) prop_below(256);
		}
		if (orset_decode(m, bin.len, &d, prop_alloc, &err) == CRDT_OK)
		{
			CrdtBuf		again = encode(d);

			PCHECK(P_STRICT_DECODE, again.len == bin.len &&
				   memcmp(again.data, m, bin.len) == 0);
			/* The text parser validates on its own: it must agree. */
			check_roundtrips(d);
		}
		else
			PCHECK(P_STRICT_DECODE, err.status != CRDT_OK);
	}

	/* Text mutations: what parses round-trips. */
	text = orset_print(s, prop_alloc);
	for (int i = 0; i < 10 && text[0]; i++)
	{
		size_t		len = strlen(text);
		char	   *m = prop_alloc(len + 1);
		static const char junk[] = "{}[]@:,.\"\\ 0123456789-+u";

		memcpy(m, text, len + 1);
		m[prop_below(len)] = junk[prop_below(sizeof(junk) - 1)];
		if (orset_parse(m, &d, prop_alloc, &err) == CRDT_OK)
			check_roundtrips(d);
	}
}

/* ----------------------------------------------------------------
 *		Size bounds and range checks
 * ----------------------------------------------------------------
 */

static void
check_bounds(void)
{
	OrSet	   *s,
			   *e = orset_empty(prop_alloc);
	CrdtError	err;
	char	   *big = prop_alloc(ORSET_MAX_ELEMENT_BYTES + 8300);
	char	   *text = prop_alloc(ORSET_MAX_ELEMENT_BYTES + 64);
	OrSetStr	str;
	OrSetStr   *many;
	uint8_t		hdr[16];

	for (int i = 0; i < ORSET_MAX_ELEMENT_BYTES + 8300; i++)
		big[i] = (char) ('a' + prop_below(26));

	/* Element length: the maximum is accepted, one more byte is not. */
	str.data = big;
	str.len = ORSET_MAX_ELEMENT_BYTES;
	PCHECK(P_BOUNDS, orset_add(e, 1000, &str, 1, &s, prop_alloc, &err) == CRDT_OK);
	check_roundtrips(s);
	str.len++;
	PCHECK(P_BOUNDS, orset_add(e, 1000, &str, 1, &s, prop_alloc, &err) == CRDT_ERR_TOO_LARGE);
	for (int extra = 0; extra <= 1; extra++)
	{
		int			n = ORSET_MAX_ELEMENT_BYTES + extra;

		text[0] = '{';
		text[1] = '"';
		memcpy(text + 2, big, n);
		strcpy(text + 2 + n, "\":[1.1]}@{1:1}");
		PCHECK(P_BOUNDS, orset_parse(text, &s, prop_alloc, &err) ==
			   (extra ? CRDT_ERR_TOO_LARGE : CRDT_OK));
	}

	/* Element count: adds and merges stop at the maximum. */
	many = prop_alloc((ORSET_MAX_ELEMENTS + 1) * sizeof(OrSetStr));
	for (int i = 0; i <= ORSET_MAX_ELEMENTS; i++)
	{
		char	   *b = prop_alloc(16);

		snprintf(b, 16, "e%d", i);
		many[i].data = b;
		many[i].len = (uint32_t) strlen(b);
	}
	PCHECK(P_BOUNDS, orset_add(e, 1, many, ORSET_MAX_ELEMENTS, &s, prop_alloc,
							   &err) == CRDT_OK);
	PCHECK(P_BOUNDS, s->nelems == ORSET_MAX_ELEMENTS);
	{
		CrdtBuf		bin = encode(s);
		OrSet	   *d;

		PCHECK(P_BOUNDS, orset_decode(bin.data, bin.len, &d, prop_alloc, &err) == CRDT_OK);
		PCHECK(P_BOUNDS, orset_equal(s, d));
		PCHECK(P_BOUNDS, orset_equal(must_parse(orset_print(s, prop_alloc)), s));
	}
	{
		OrSet	   *t,
				   *u;

		PCHECK(P_BOUNDS, orset_add(s, 1, &many[ORSET_MAX_ELEMENTS], 1, &t,
								   prop_alloc, &err) == CRDT_ERR_TOO_LARGE);
		PCHECK(P_BOUNDS, orset_add(e, 2, &many[ORSET_MAX_ELEMENTS], 1, &t,
								   prop_alloc, &err) == CRDT_OK);
		PCHECK(P_BOUNDS, orset_merge(s, t, &u, prop_alloc, &err) == CRDT_ERR_TOO_LARGE);
		PCHECK(P_BOUNDS, orset_merge(s, s, &u, prop_alloc, &err) == CRDT_OK);
	}
	prop_arena_reset();

	/* Total bytes: 8200 distinct elements of 8192 bytes exceed 64 MB. */
	big = prop_alloc(ORSET_MAX_ELEMENT_BYTES + 8300);
	for (int i = 0; i < ORSET_MAX_ELEMENT_BYTES + 8300; i++)
		big[i] = (char) ('a' + prop_below(26));
	many = prop_alloc(8200 * sizeof(OrSetStr));
	for (int i = 0; i < 8200; i++)
	{
		many[i].data = big + i;
		many[i].len = ORSET_MAX_ELEMENT_BYTES;
	}
	e = orset_empty(prop_alloc);
	PCHECK(P_BOUNDS, orset_add(e, 1, many, 8200, &s, prop_alloc, &err) == CRDT_ERR_TOO_LARGE);
	PCHECK(P_BOUNDS, orset_add(e, 1, many, 8000, &s, prop_alloc, &err) == CRDT_OK);
	prop_arena_reset();

	/* Counter overflow on add; other nodes are unaffected. */
	e = must_parse("{\"a\":[1000.9223372036854775807]}@{1000:9223372036854775807}");
	str.data = "b";
	str.len = 1;
	PCHECK(P_BOUNDS, orset_add(e, 1000, &str, 1, &s, prop_alloc, &err) == CRDT_ERR_OUT_OF_RANGE);
	PCHECK(P_BOUNDS, orset_add(e, 7, &str, 1, &s, prop_alloc, &err) == CRDT_OK);
	PCHECK(P_BOUNDS, orset_parse("{}@{1000:9223372036854775808}", &s, prop_alloc,
								 &err) == CRDT_ERR_OUT_OF_RANGE);

	/* Hostile counts fail before allocating. */
	hdr[0] = ORSET_BINARY_VERSION;
	memset(hdr + 1, 0xff, 4);
	PCHECK(P_BOUNDS, orset_decode(hdr, 5, &s, prop_alloc, &err) == CRDT_ERR_CORRUPT);
	memset(hdr + 1, 0, 4);
	memset(hdr + 5, 0xff, 4);
	PCHECK(P_BOUNDS, orset_decode(hdr, 9, &s, prop_alloc, &err) == CRDT_ERR_TOO_LARGE);
	hdr[0] = 2;
	PCHECK(P_BOUNDS, orset_decode(hdr, 9, &s, prop_alloc, &err) == CRDT_ERR_CORRUPT);
	PCHECK(P_BOUNDS, orset_decode(hdr, 0, &s, prop_alloc, &err) == CRDT_ERR_CORRUPT);

	/* Invalid states are rejected with the right status. */
	{
		static const struct
		{
			const char *text;
			CrdtStatus	status;
		}			bad[] = {
			{"{\"a\":[1.2]}@{1:1}", CRDT_ERR_INVALID},	/* not covered */
			{"{\"a\":[2.1]}@{1:1}", CRDT_ERR_INVALID},	/* node not in vv */
			{"{\"a\":[1.1],\"a\":[1.1]}@{1:1}", CRDT_ERR_INVALID},
			{"{\"a\":[1.1,1.1]}@{1:1}", CRDT_ERR_INVALID},
			{"{\"a\":[]}@{1:1}", CRDT_ERR_INVALID},
			{"{}@{1:1,1:2}", CRDT_ERR_INVALID},
			{"{}@{0:1}", CRDT_ERR_INVALID},
			{"{}@{1:-1}", CRDT_ERR_INVALID},
			{"{\"a\":[1.0]}@{1:1}", CRDT_ERR_INVALID},
			{"{\"a\":[-1.1]}@{1:1}", CRDT_ERR_INVALID},
			{"{\"a\":[2147483648.1]}@{1:1}", CRDT_ERR_INVALID},
			{"{}", CRDT_ERR_SYNTAX},
			{"{}@{}x", CRDT_ERR_SYNTAX},
			{"{\"a:[1.1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{\"\\x\":[1.1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{\"\\u0000\":[1.1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{\"\\u00e9\":[1.1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{\"\\u12\":[1.1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{\"a\":[1 .1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{a:[1.1]}@{1:1}", CRDT_ERR_SYNTAX},
			{"{\"a\":[1.1]}@{1:1", CRDT_ERR_SYNTAX},
			{"", CRDT_ERR_SYNTAX},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			CrdtStatus	st = orset_parse(bad[i].text, &s, prop_alloc, &err);

			snprintf(ctxbuf, sizeof(ctxbuf), "bad input %zu", i);
			prop_context = ctxbuf;
			PCHECK(P_BOUNDS, st == bad[i].status);
		}
	}
	prop_arena_reset();
}

int
main(void)
{
	static const uint64_t seeds[] = {1, 42, 0x5eed0f0123456789ULL,
	20240601, 0xdeadbeefcafeULL};

	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++)
	{
		prop_seed(seeds[si]);
		for (int iter = 0; iter < 400; iter++)
		{
			snprintf(ctxbuf, sizeof(ctxbuf), "seed %llu iteration %d",
					 (unsigned long long) seeds[si], iter);
			prop_context = ctxbuf;
			nsnapshots = 0;
			simulate(10 + (int) prop_below(50));
			for (int k = 0; k < 8; k++)
			{
				OrSet	   *a = random_state();
				OrSet	   *b = random_state();
				OrSet	   *c = random_state();

				check_lattice(a, b, c);
				/* Related triples, where leq often holds. */
				check_lattice(a, must_merge(a, b), must_merge(must_merge(a, b), c));
				check_ops(a);
				check_decoding(a);
			}
			prop_arena_reset();
		}
	}
	prop_context = "bounds";
	check_bounds();

	for (int p = 0; p < P_COUNT; p++)
		printf("ok prop orset %s (%d checks)\n", pnames[p], pcount[p]);
	return 0;
}
