/*-------------------------------------------------------------------------
 * doc_prop.c
 *	  Property tests for the JSON document CRDT core (src/types/doc_core.c).
 *
 * States are drawn from a small alphabet of keys (depth <= 3), hlc values
 * and node ids, so equal paths, equal versions, hidden descendants and even
 * the hostile case of one version with two contents happen often.  Besides
 * the lattice laws, the core is compared with naive reference models
 * written straight from the definitions in doc.h: merge against "per-path
 * max of the union, then drop hidden entries" (so pruning commutes with
 * merge), leq against its direct characterization, and materialization
 * against the recursive definition.
 *
 * IDENTIFICATION
 *	  test/prop/doc_prop.c
 *-------------------------------------------------------------------------
 */
#include "prop.h"

#include "edge_crdt/doc.h"

#define MAX_RAW 14

static const char *const key_alphabet[] = {
	"a", "a", "a", "a", "b", "b", "b", "c", "", "x\"y", "\x7f\t\\"
};
#define NKEYS (sizeof(key_alphabet) / sizeof(key_alphabet[0]))

static const char *const value_alphabet[] = {
	"1", "2", "\"s\"", "[1, 2]", "null", "true", "[]", "[{\"a\": 1}]",
	"\"\\u00e9\"", "-0.5e3"
};
#define NVALUES (sizeof(value_alphabet) / sizeof(value_alphabet[0]))

static CrdtError err;

/* ---------------------------------------------------------------------
 * Generators
 * ---------------------------------------------------------------------
 */

static void
rand_path(DocEntry *e, uint32_t maxdepth)
{
	CrdtBuf		path;
	uint32_t	depth = (uint32_t) prop_below(maxdepth + 1);

	crdt_buf_init(&path, prop_alloc, 16);
	for (uint32_t i = 0; i < depth; i++)
	{
		const char *k = key_alphabet[prop_below(NKEYS)];

		doc_path_append(&path, k, (uint32_t) strlen(k));
	}
	e->path = (const uint8_t *) path.data;
	e->path_len = (uint32_t) path.len;
	e->depth = depth;
}

static void
rand_content(DocEntry *e)
{
	e->kind = (DocKind) (1 + prop_below(3));
	e->value = NULL;
	e->value_len = 0;
	if (e->kind == DOC_VALUE)
	{
		e->value = value_alphabet[prop_below(NVALUES)];
		e->value_len = (uint32_t) strlen(e->value);
	}
}

static DocEntry
rand_entry(void)
{
	DocEntry	e;

	rand_path(&e, 3);
	e.version.hlc = 1 + (int64_t) prop_below(8);
	e.version.node = 1 + (int32_t) prop_below(3);
	rand_content(&e);
	return e;
}

static bool
same_path(const DocEntry *a, const DocEntry *b)
{
	return doc_path_cmp(a->path, a->path_len, b->path, b->path_len) == 0;
}

/* n raw entries with distinct paths (not canonical, may hide each other). */
static uint32_t
rand_raw(DocEntry *out, uint32_t max)
{
	uint32_t	n = (uint32_t) prop_below(max + 1);
	uint32_t	got = 0;

	for (uint32_t i = 0; i < n; i++)
	{
		DocEntry	e = rand_entry();
		bool		dup = false;

		for (uint32_t j = 0; j < got && !dup; j++)
			dup = same_path(&out[j], &e);
		if (!dup)
			out[got++] = e;
	}
	return got;
}

static DocState
canon_copy(const DocEntry *raw, uint32_t n)
{
	DocEntry   *e = prop_alloc((n + 1) * sizeof(DocEntry));
	DocState	s;

	memcpy(e, raw, n * sizeof(DocEntry));
	CHECK(doc_canonicalize(e, n, &s, &err) == CRDT_OK);
	return s;
}

static DocState
rand_state(void)
{
	DocEntry	raw[MAX_RAW];
	uint32_t	n = rand_raw(raw, MAX_RAW);

	return canon_copy(raw, n);
}

static CrdtBuf
encode(const DocState *s)
{
	CrdtBuf		b;

	crdt_buf_init(&b, prop_alloc, 64);
	doc_encode(s, &b);
	return b;
}

static bool
same_bytes(const DocState *a, const DocState *b)
{
	CrdtBuf		x = encode(a);
	CrdtBuf		y = encode(b);

	return x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
}

static DocState
merge(const DocState *a, const DocState *b)
{
	DocState	m;

	CHECK(doc_merge(a, b, prop_alloc, &m, &err) == CRDT_OK);
	return m;
}

static const char *
materialize(const DocState *s, const DocEntry *at, bool *found)
{
	CrdtBuf		b;
	bool		f;

	crdt_buf_init(&b, prop_alloc, 64);
	CHECK(doc_materialize(s, at ? at->path : NULL, at ? at->path_len : 0,
						  at ? at->depth : 0, prop_alloc, &b, &f,
						  &err) == CRDT_OK);
	if (found)
		*found = f;
	return f ? crdt_buf_cstring(&b) : NULL;
}

/* ---------------------------------------------------------------------
 * Reference models, written from the definitions only
 * ---------------------------------------------------------------------
 */

static int
ref_rank_cmp(const DocEntry *a, const DocEntry *b)
{
	int			c = crdt_version_cmp(a->version, b->version);
	uint32_t	m;

	if (c != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	m = a->value_len < b->value_len ? a->value_len : b->value_len;
	c = m ? memcmp(a->value, b->value, m) : 0;
	if (c != 0)
		return c;
	return (int) a->value_len - (int) b->value_len;
}

/* a is a strict ancestor of b: b's keys start with all of a's keys. */
static bool
ref_is_ancestor(const DocEntry *a, const DocEntry *b)
{
	return a->path_len < b->path_len &&
		(a->path_len == 0 || memcmp(a->path, b->path, a->path_len) == 0);
}

/* prune(per-path max(raw)), sorted: the un-optimized definition. */
static uint32_t
ref_union(const DocEntry *raw, uint32_t n, DocEntry *out)
{
	DocEntry	best[4 * MAX_RAW];
	uint32_t	nb = 0,
				nout = 0;

	for (uint32_t i = 0; i < n; i++)
	{
		uint32_t	j;

		for (j = 0; j < nb; j++)
			if (same_path(&best[j], &raw[i]))
				break;
		if (j == nb)
			best[nb++] = raw[i];
		else if (ref_rank_cmp(&raw[i], &best[j]) > 0)
			best[j] = raw[i];
	}
	for (uint32_t i = 0; i < nb; i++)
	{
		bool		hidden = false;

		for (uint32_t j = 0; j < nb && !hidden; j++)
			hidden = ref_is_ancestor(&best[j], &best[i]) &&
				crdt_version_cmp(best[j].version, best[i].version) > 0;
		if (!hidden)
			out[nout++] = best[i];
	}
	/* insertion sort by path */
	for (uint32_t i = 1; i < nout; i++)
		for (uint32_t j = i; j > 0 &&
			 doc_path_cmp(out[j - 1].path, out[j - 1].path_len,
						  out[j].path, out[j].path_len) > 0; j--)
		{
			DocEntry	t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return nout;
}

/*
 * leq(a, b) holds exactly when every entry x of a is matched or beaten by
 * b's entry at the same path, or is hidden by an ancestor entry of b.
 */
static bool
ref_leq(const DocState *a, const DocState *b)
{
	for (uint32_t i = 0; i < a->nentries; i++)
	{
		const DocEntry *x = &a->entries[i];
		bool		ok = false;

		for (uint32_t j = 0; j < b->nentries && !ok; j++)
		{
			const DocEntry *y = &b->entries[j];

			if (same_path(x, y))
				ok = ref_rank_cmp(y, x) >= 0;
			else if (ref_is_ancestor(y, x))
				ok = crdt_version_cmp(y->version, x->version) > 0;
		}
		if (!ok)
			return false;
	}
	return true;
}

static void
ref_put_key(CrdtBuf *b, const uint8_t *k, uint32_t len)
{
	crdt_buf_putc(b, '"');
	for (uint32_t i = 0; i < len; i++)
	{
		if (k[i] == '"' || k[i] == '\\')
		{
			crdt_buf_putc(b, '\\');
			crdt_buf_putc(b, (char) k[i]);
		}
		else if (k[i] == '\t')
			crdt_buf_puts(b, "\\t");
		else if (k[i] < 0x20)
			crdt_buf_printf(b, "\\u%04x", k[i]);
		else
			crdt_buf_putc(b, (char) k[i]);
	}
	crdt_buf_putc(b, '"');
}

/*
 * The recursive definition of doc.h, by brute force: the path is given as
 * an encoded prefix; returns false when the path is absent.
 */
static bool
ref_mat(const DocState *s, const uint8_t *path, uint32_t path_len,
		CrdtBuf *out)
{
	const DocEntry *self = NULL;
	bool		live_below = false,
				newer_below = false;
	DocEntry	probe;
	size_t		start = out->len;
	int			nmembers = 0;

	probe.path = path;
	probe.path_len = path_len;
	for (uint32_t i = 0; i < s->nentries; i++)
	{
		const DocEntry *e = &s->entries[i];

		if (same_path(e, &probe))
			self = e;
	}
	for (uint32_t i = 0; i < s->nentries; i++)
	{
		const DocEntry *e = &s->entries[i];

		if (ref_is_ancestor(&probe, e) && DOC_KIND_LIVE(e->kind))
		{
			live_below = true;
			if (self && crdt_version_cmp(e->version, self->version) > 0)
				newer_below = true;
		}
	}
	if (self && self->kind == DOC_VALUE && !newer_below)
	{
		crdt_buf_append(out, self->value, self->value_len);
		return true;
	}
	if (!(self && self->kind == DOC_OBJECT) && !live_below)
		return false;

	/*
	 * Children: distinct next keys of descendants, in jsonb order, which is
	 * the order of their encoded paths.  Collect them by scanning for the
	 * smallest unvisited child each time.
	 */
	crdt_buf_putc(out, '{');
	{
		uint8_t    *last = NULL;
		uint32_t	last_len = 0;

		for (;;)
		{
			const uint8_t *best = NULL;
			uint32_t	best_len = 0;

			for (uint32_t i = 0; i < s->nentries; i++)
			{
				const DocEntry *e = &s->entries[i];
				uint32_t	clen;

				if (!ref_is_ancestor(&probe, e))
					continue;
				clen = path_len + 4 +
					(((uint32_t) e->path[path_len] << 24) |
					 ((uint32_t) e->path[path_len + 1] << 16) |
					 ((uint32_t) e->path[path_len + 2] << 8) |
					 e->path[path_len + 3]);
				if (last && doc_path_cmp(e->path, clen, last, last_len) <= 0)
					continue;
				if (!best || doc_path_cmp(e->path, clen, best, best_len) < 0)
				{
					best = e->path;
					best_len = clen;
				}
			}
			if (!best)
				break;
			{
				size_t		mark = out->len;

				if (nmembers)
					crdt_buf_puts(out, ", ");
				ref_put_key(out, best + path_len + 4, best_len - path_len - 4);
				crdt_buf_puts(out, ": ");
				if (ref_mat(s, best, best_len, out))
					nmembers++;
				else
					out->len = mark;
			}
			last = (uint8_t *) best;
			last_len = best_len;
		}
	}
	crdt_buf_putc(out, '}');
	/* the definition promises a present child whenever live_below */
	CHECK(!live_below || nmembers > 0);
	(void) start;
	return true;
}

/* doc_get by the definition: every proper ancestor must be an object. */
static const char *
ref_get(const DocState *s, const DocEntry *at)
{
	CrdtBuf		b;
	uint32_t	off = 0;

	for (uint32_t k = 0; k < at->depth; k++)
	{
		crdt_buf_init(&b, prop_alloc, 64);
		if (!ref_mat(s, at->path, off, &b))
			return NULL;
		if (crdt_buf_cstring(&b)[0] != '{')
			return NULL;
		off += 4 + (((uint32_t) at->path[off] << 24) |
					((uint32_t) at->path[off + 1] << 16) |
					((uint32_t) at->path[off + 2] << 8) | at->path[off + 3]);
	}
	crdt_buf_init(&b, prop_alloc, 64);
	if (!ref_mat(s, at->path, at->path_len, &b))
		return at->depth == 0 ? "{}" : NULL;
	return crdt_buf_cstring(&b);
}

/* ---------------------------------------------------------------------
 * Properties
 * ---------------------------------------------------------------------
 */

static const uint64_t seeds[] = {1, 2, 3, 42, 20240611, 0xdeadbeef};
#define NSEEDS (sizeof(seeds) / sizeof(seeds[0]))
#define ITERS 1500

typedef void (*PropFn) (void);

static void
run(const char *name, PropFn fn)
{
	char		ctx[128];

	prop_checks = 0;
	for (size_t s = 0; s < NSEEDS; s++)
	{
		prop_seed(seeds[s]);
		for (int i = 0; i < ITERS; i++)
		{
			snprintf(ctx, sizeof(ctx), "%s seed %llu iteration %d", name,
					 (unsigned long long) seeds[s], i);
			prop_context = ctx;
			fn();
			prop_arena_reset();
		}
	}
	printf("ok prop doc %s (%d checks)\n", name, prop_checks);
	fflush(stdout);
}

static void
p_commutative(void)
{
	DocState	a = rand_state(),
				b = rand_state();
	DocState	ab = merge(&a, &b),
				ba = merge(&b, &a);

	CHECK(doc_equal(&ab, &ba));
	CHECK(same_bytes(&ab, &ba));
}

static void
p_associative(void)
{
	DocState	a = rand_state(),
				b = rand_state(),
				c = rand_state();
	DocState	ab = merge(&a, &b),
				bc = merge(&b, &c);
	DocState	l = merge(&ab, &c),
				r = merge(&a, &bc);

	CHECK(same_bytes(&l, &r));
}

static void
p_idempotent(void)
{
	DocState	a = rand_state();
	DocState	aa = merge(&a, &a);

	CHECK(same_bytes(&a, &aa));
}

static void
p_leq_upper_bound(void)
{
	DocState	a = rand_state(),
				b = rand_state();
	DocState	m = merge(&a, &b);

	CHECK(doc_leq(&a, &m, prop_alloc));
	CHECK(doc_leq(&b, &m, prop_alloc));
	CHECK(doc_leq(&a, &a, prop_alloc));
}

/* leq is "merge(a, b) = b" and agrees with its direct characterization. */
static void
p_leq_agrees(void)
{
	DocState	a = rand_state(),
				c = rand_state();
	DocState	b = prop_below(2) ? merge(&a, &c) : c;
	DocState	m = merge(&a, &b);
	bool		leq = doc_leq(&a, &b, prop_alloc);

	CHECK(leq == doc_equal(&m, &b));
	CHECK(leq == ref_leq(&a, &b));
	/* antisymmetry: a partial order */
	if (leq && doc_leq(&b, &a, prop_alloc))
		CHECK(doc_equal(&a, &b));
}

/* merge(prune(A), prune(B)) = prune(per-path max(A + B)). */
static void
p_merge_model(void)
{
	DocEntry	raw[2 * MAX_RAW];
	DocEntry	model[2 * MAX_RAW];
	uint32_t	na = rand_raw(raw, MAX_RAW);
	uint32_t	nb = rand_raw(raw + na, MAX_RAW);
	DocState	a = canon_copy(raw, na),
				b = canon_copy(raw + na, nb);
	DocState	m = merge(&a, &b);
	DocState	r;

	r.entries = model;
	r.nentries = ref_union(raw, na + nb, model);
	CHECK(doc_equal(&m, &r));

	/* and a single state is the model of its own raw entries */
	r.nentries = ref_union(raw, na, model);
	CHECK(doc_equal(&a, &r));
}

/* Local writes: inflations; fresh writes are what a read then sees. */
static void
p_local_ops(void)
{
	DocState	s = rand_state();
	DocEntry	w[6];
	uint32_t	n = 0,
				want = 1 + (uint32_t) prop_below(5);
	bool		fresh = prop_below(4) != 0;
	CrdtVersion v;
	DocState	out;

	for (uint32_t i = 0; i < want; i++)
	{
		DocEntry	e;
		bool		dup = false;

		rand_path(&e, 3);
		rand_content(&e);
		for (uint32_t j = 0; j < n && !dup; j++)
			dup = same_path(&w[j], &e);
		if (!dup)
			w[n++] = e;
	}
	v.hlc = fresh ? doc_max_hlc(&s) + 1 : 1 + (int64_t) prop_below(8);
	v.node = 1 + (int32_t) prop_below(3);
	CHECK(doc_apply(&s, w, n, v, prop_alloc, &out, &err) == CRDT_OK);
	CHECK(doc_leq(&s, &out, prop_alloc));

	if (fresh)
	{
		/* every write survives with v */
		for (uint32_t i = 0; i < n; i++)
		{
			bool		seen = false;

			for (uint32_t j = 0; j < out.nentries && !seen; j++)
				seen = same_path(&out.entries[j], &w[i]) &&
					crdt_version_cmp(out.entries[j].version, v) == 0 &&
					out.entries[j].kind == w[i].kind;
			CHECK(seen);
		}
		/* a single fresh write is read back */
		if (n == 1)
		{
			bool		found;
			const char *got = materialize(&out, &w[0], &found);

			if (w[0].kind == DOC_VALUE)
				CHECK(found && strlen(got) == w[0].value_len &&
					  memcmp(got, w[0].value, w[0].value_len) == 0);
			else if (w[0].kind == DOC_OBJECT)
				CHECK(found && strcmp(got, "{}") == 0);
			else
				CHECK(w[0].depth == 0 ? (found && strcmp(got, "{}") == 0) : !found);
		}
	}
}

static void
p_text_roundtrip(void)
{
	DocState	a = rand_state();
	char	   *t = doc_print(&a, prop_alloc);
	DocState	b;

	CHECK(doc_parse(t, prop_alloc, &b, &err) == CRDT_OK);
	CHECK(same_bytes(&a, &b));
	CHECK(strcmp(doc_print(&b, prop_alloc), t) == 0);
}

static void
p_binary_roundtrip(void)
{
	DocState	a = rand_state();
	CrdtBuf		x = encode(&a);
	DocState	b;

	CHECK(doc_encoded_size(&a) == x.len);
	CHECK(doc_decode(x.data, x.len, prop_alloc, &b, &err) == CRDT_OK);
	CHECK(doc_equal(&a, &b));
	CHECK(same_bytes(&a, &b));
}

/* Same state from a shuffled entry list or shuffled text: same bytes. */
static void
p_canonical(void)
{
	DocEntry	raw[MAX_RAW];
	uint32_t	n = rand_raw(raw, MAX_RAW);
	DocState	a = canon_copy(raw, n);
	DocState	b,
				c;
	CrdtBuf		t;

	for (uint32_t i = n; i > 1; i--)
	{
		uint32_t	j = (uint32_t) prop_below(i);
		DocEntry	tmp = raw[i - 1];

		raw[i - 1] = raw[j];
		raw[j] = tmp;
	}
	b = canon_copy(raw, n);
	CHECK(same_bytes(&a, &b));

	/* the raw (unpruned) entries as messy text: fields reordered, spaces */
	crdt_buf_init(&t, prop_alloc, 256);
	crdt_buf_puts(&t, " [ ");
	for (uint32_t i = 0; i < n; i++)
	{
		DocEntry   *e = &raw[i];
		DocState	one;
		char	   *single;
		char	   *p;

		one.entries = e;
		one.nentries = 1;
		single = doc_print(&one, prop_alloc);	/* [{"p": ..., "v": ...}] */
		if (i > 0)
			crdt_buf_puts(&t, " ,\n");
		crdt_buf_printf(&t, "{ \"k\" :\"%s\" ,\t\"v\":\"%lld.%d\",",
						e->kind == DOC_OBJECT ? "obj" :
						e->kind == DOC_VALUE ? "val" : "del",
						(long long) e->version.hlc, e->version.node);
		if (e->kind == DOC_VALUE)
			crdt_buf_printf(&t, " \"j\" : %.*s ,", (int) e->value_len, e->value);
		/* copy the path array out of the single-entry rendering */
		p = strstr(single, "\"p\": ") + 5;
		crdt_buf_puts(&t, "\"p\":");
		crdt_buf_append(&t, p, (size_t) (strstr(p, "], \"v\"") + 1 - p));
		crdt_buf_puts(&t, " }");
	}
	crdt_buf_puts(&t, "]\n");
	CHECK(doc_parse(crdt_buf_cstring(&t), prop_alloc, &c, &err) == CRDT_OK);
	CHECK(same_bytes(&a, &c));
}

static void
p_truncation(void)
{
	DocState	a = rand_state();
	CrdtBuf		x = encode(&a);
	DocState	b;

	for (size_t len = 0; len < x.len; len++)
		CHECK(doc_decode(x.data, len, prop_alloc, &b, &err) != CRDT_OK);
}

/* Decode accepts only canonical encodings: flip bytes, re-encode. */
static void
p_decode_strict(void)
{
	DocState	a = rand_state();
	CrdtBuf		x = encode(&a);
	DocState	b;
	int			flips = 1 + (int) prop_below(3);

	for (int i = 0; i < flips && x.len > 0; i++)
	{
		size_t		at = prop_below(x.len);

		x.data[at] = prop_below(2) ? (char) prop_below(256) : (char) (x.data[at] ^ 1);
	}
	if (doc_decode(x.data, x.len, prop_alloc, &b, &err) == CRDT_OK)
	{
		CrdtBuf		y = encode(&b);

		CHECK(y.len == x.len && memcmp(x.data, y.data, x.len) == 0);
	}
	else
		CHECK(err.status != CRDT_OK);
}

static void
p_materialize(void)
{
	DocState	a = rand_state(),
				b = rand_state(),
				c = rand_state();
	DocState	ab = merge(&a, &b),
				ba = merge(&b, &a);
	DocState	l = merge(&ab, &c),
				bc = merge(&b, &c);
	DocState	r = merge(&a, &bc);
	const char *mab = materialize(&ab, NULL, NULL);

	CHECK(strcmp(mab, materialize(&ba, NULL, NULL)) == 0);
	CHECK(strcmp(materialize(&l, NULL, NULL), materialize(&r, NULL, NULL)) == 0);

	/* the whole document and random paths against the definition */
	for (int i = 0; i < 4; i++)
	{
		DocEntry	at;
		bool		found;
		const char *got;
		const char *want;
		DocShape	shape;

		if (i == 0)
		{
			at.path = NULL;
			at.path_len = 0;
			at.depth = 0;
		}
		else
			rand_path(&at, 3);
		got = materialize(&l, &at, &found);
		want = ref_get(&l, &at);
		CHECK(found == (want != NULL));
		if (found)
			CHECK(strcmp(got, want) == 0);
		/* the document itself is valid JSON */
		if (found && got[0] != '{')
			CHECK(doc_check_value(got, strlen(got), &err) == CRDT_OK);
		else if (found)
		{
			CrdtBuf		wrapped;

			crdt_buf_init(&wrapped, prop_alloc, 64);
			crdt_buf_putc(&wrapped, '[');
			crdt_buf_puts(&wrapped, got);
			crdt_buf_putc(&wrapped, ']');
			CHECK(doc_check_value(wrapped.data, wrapped.len, &err) == CRDT_OK);
		}
		shape = doc_shape_at(&l, at.path, at.path_len, at.depth);
		if (at.depth > 0)
			CHECK((shape == DOC_SHAPE_ABSENT) == !found);
		if (found && at.depth > 0)
			CHECK((shape == DOC_SHAPE_OBJECT) == (got[0] == '{'));
	}
}

/* Hand-written cases for the semantics that matter most to users. */
static CrdtBuf
path_of(const char *k1, const char *k2)
{
	CrdtBuf		p;

	crdt_buf_init(&p, prop_alloc, 16);
	if (k1)
		doc_path_append(&p, k1, (uint32_t) strlen(k1));
	if (k2)
		doc_path_append(&p, k2, (uint32_t) strlen(k2));
	return p;
}

static const char *
mat_text(const char *state_text)
{
	DocState	s;

	CHECK(doc_parse(state_text, prop_alloc, &s, &err) == CRDT_OK);
	return materialize(&s, NULL, NULL);
}

static void
p_examples(void)
{
	/* a delete of a parent hides older children and keeps newer ones */
	CHECK(strcmp(mat_text("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"del\"},"
						  "{\"p\":[\"a\",\"x\"],\"v\":\"3.1\",\"k\":\"val\",\"j\":1},"
						  "{\"p\":[\"a\",\"y\"],\"v\":\"7.1\",\"k\":\"val\",\"j\":2}]"),
				  "{\"a\": {\"y\": 2}}") == 0);
	/* a newer write below a value turns it into an object */
	CHECK(strcmp(mat_text("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"val\",\"j\":1},"
						  "{\"p\":[\"a\",\"b\"],\"v\":\"6.2\",\"k\":\"val\",\"j\":2}]"),
				  "{\"a\": {\"b\": 2}}") == 0);
	/* a newer delete below a value does not */
	CHECK(strcmp(mat_text("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"val\",\"j\":1},"
						  "{\"p\":[\"a\",\"b\"],\"v\":\"6.2\",\"k\":\"del\"}]"),
				  "{\"a\": 1}") == 0);
	/* an empty object stays, a bare delete is absent, root value */
	CHECK(strcmp(mat_text("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"obj\"},"
						  "{\"p\":[\"b\"],\"v\":\"5.1\",\"k\":\"del\"}]"),
				  "{\"a\": {}}") == 0);
	CHECK(strcmp(mat_text("[]"), "{}") == 0);
	CHECK(strcmp(mat_text("[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":[1, 2]}]"),
				  "[1, 2]") == 0);
	/* jsonb key order: shorter keys first */
	CHECK(strcmp(mat_text("[{\"p\":[\"bb\"],\"v\":\"1.1\",\"k\":\"val\",\"j\":1},"
						  "{\"p\":[\"c\"],\"v\":\"1.1\",\"k\":\"val\",\"j\":2}]"),
				  "{\"c\": 2, \"bb\": 1}") == 0);
	/* hostile tie: same version, different content, both merge orders */
	{
		DocState	x,
					y;

		CHECK(doc_parse("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"val\",\"j\":1}]",
						prop_alloc, &x, &err) == CRDT_OK);
		CHECK(doc_parse("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"val\",\"j\":2}]",
						prop_alloc, &y, &err) == CRDT_OK);
		{
			DocState	xy = merge(&x, &y),
						yx = merge(&y, &x);

			CHECK(same_bytes(&xy, &yx));
			CHECK(strcmp(materialize(&xy, NULL, NULL), "{\"a\": 2}") == 0);
		}
	}
	/* lookups */
	{
		DocState	s;
		CrdtBuf		p = path_of("a", "b");
		bool		found;
		DocEntry	at;

		CHECK(doc_parse("[{\"p\":[\"a\"],\"v\":\"5.1\",\"k\":\"val\",\"j\":[1]}]",
						prop_alloc, &s, &err) == CRDT_OK);
		memset(&at, 0, sizeof(at));
		at.path = (const uint8_t *) p.data;
		at.path_len = (uint32_t) p.len;
		at.depth = 2;
		materialize(&s, &at, &found);
		CHECK(!found);
		CHECK(doc_shape_at(&s, (const uint8_t *) p.data, (uint32_t) p.len, 2) == DOC_SHAPE_ABSENT);
	}
}

/* Error paths of the text form. */
static void
p_text_errors(void)
{
	static const struct
	{
		const char *text;
		CrdtStatus	status;
	}			cases[] = {
		{"", CRDT_ERR_SYNTAX},
		{"{}", CRDT_ERR_SYNTAX},
		{"[", CRDT_ERR_SYNTAX},
		{"[] x", CRDT_ERR_SYNTAX},
		{"[{}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"obj\",\"j\":1}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"xxx\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"p\":[],\"v\":\"1.1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"q\":[],\"v\":\"1.1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.0\",\"k\":\"obj\"}]", CRDT_ERR_INVALID},
		{"[{\"p\":[],\"v\":\"1.-4\",\"k\":\"obj\"}]", CRDT_ERR_INVALID},
		{"[{\"p\":[],\"v\":\"1.2147483648\",\"k\":\"obj\"}]", CRDT_ERR_INVALID},
		{"[{\"p\":[],\"v\":\"-1.1\",\"k\":\"obj\"}]", CRDT_ERR_INVALID},
		{"[{\"p\":[],\"v\":\"99999999999999999999.1\",\"k\":\"obj\"}]", CRDT_ERR_OUT_OF_RANGE},
		{"[{\"p\":[],\"v\":\"1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[1],\"v\":\"1.1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[\"\\u0000\"],\"v\":\"1.1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[\"\\u00e9\"],\"v\":\"1.1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[\"\\q\"],\"v\":\"1.1\",\"k\":\"obj\"}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":{\"a\":1}}]", CRDT_ERR_INVALID},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":[1,]}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":01}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":\"a}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":tru}]", CRDT_ERR_SYNTAX},
		{"[{\"p\":[\"a\"],\"v\":\"1.1\",\"k\":\"obj\"},{\"p\":[\"a\"],\"v\":\"2.1\",\"k\":\"del\"}]", CRDT_ERR_INVALID},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		DocState	s;

		prop_context = cases[i].text;
		CHECK(doc_parse(cases[i].text, prop_alloc, &s, &err) == cases[i].status);
		CHECK(err.message[0] != '\0');
	}

	/* bounds: depth, key length, value nesting */
	{
		CrdtBuf		t;
		DocState	s;

		crdt_buf_init(&t, prop_alloc, 1024);
		crdt_buf_puts(&t, "[{\"p\":[");
		for (int i = 0; i <= DOC_MAX_DEPTH; i++)
			crdt_buf_puts(&t, i ? ",\"k\"" : "\"k\"");
		crdt_buf_puts(&t, "],\"v\":\"1.1\",\"k\":\"obj\"}]");
		CHECK(doc_parse(crdt_buf_cstring(&t), prop_alloc, &s, &err) == CRDT_ERR_TOO_LARGE);

		t.len = 0;
		crdt_buf_puts(&t, "[{\"p\":[\"");
		for (int i = 0; i <= DOC_MAX_KEY_BYTES; i++)
			crdt_buf_putc(&t, 'x');
		crdt_buf_puts(&t, "\"],\"v\":\"1.1\",\"k\":\"obj\"}]");
		CHECK(doc_parse(crdt_buf_cstring(&t), prop_alloc, &s, &err) == CRDT_ERR_TOO_LARGE);

		t.len = 0;
		crdt_buf_puts(&t, "[{\"p\":[],\"v\":\"1.1\",\"k\":\"val\",\"j\":");
		for (int i = 0; i <= DOC_MAX_VALUE_NESTING; i++)
			crdt_buf_putc(&t, '[');
		for (int i = 0; i <= DOC_MAX_VALUE_NESTING; i++)
			crdt_buf_putc(&t, ']');
		crdt_buf_puts(&t, "}]");
		CHECK(doc_parse(crdt_buf_cstring(&t), prop_alloc, &s, &err) == CRDT_ERR_TOO_LARGE);

		/* exactly at the bounds is fine */
		t.len = 0;
		crdt_buf_puts(&t, "[{\"p\":[");
		for (int i = 0; i < DOC_MAX_DEPTH; i++)
			crdt_buf_puts(&t, i ? ",\"k\"" : "\"k\"");
		crdt_buf_puts(&t, "],\"v\":\"1.1\",\"k\":\"val\",\"j\":");
		for (int i = 0; i < DOC_MAX_VALUE_NESTING; i++)
			crdt_buf_putc(&t, '[');
		for (int i = 0; i < DOC_MAX_VALUE_NESTING; i++)
			crdt_buf_putc(&t, ']');
		crdt_buf_puts(&t, "}]");
		CHECK(doc_parse(crdt_buf_cstring(&t), prop_alloc, &s, &err) == CRDT_OK);
	}
}

int
main(void)
{
	run("merge_commutative", p_commutative);
	run("merge_associative", p_associative);
	run("merge_idempotent", p_idempotent);
	run("leq_upper_bound", p_leq_upper_bound);
	run("leq_agrees_with_merge", p_leq_agrees);
	run("merge_matches_model", p_merge_model);
	run("local_ops_inflate", p_local_ops);
	run("text_roundtrip", p_text_roundtrip);
	run("binary_roundtrip", p_binary_roundtrip);
	run("canonical_bytes", p_canonical);
	run("decode_rejects_truncation", p_truncation);
	run("decode_accepts_only_canonical", p_decode_strict);
	run("materialize_function_of_state", p_materialize);
	prop_seed(1);
	prop_checks = 0;
	p_examples();
	p_text_errors();
	prop_arena_reset();
	printf("ok prop doc examples_and_errors (%d checks)\n", prop_checks);
	return 0;
}
