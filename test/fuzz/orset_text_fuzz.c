/*-------------------------------------------------------------------------
 * orset_text_fuzz.c
 *	  libFuzzer target: edge_crdt.orset text input.
 *
 * Any input must be rejected cleanly (with a status and a message) or parse
 * to a state whose canonical text parses back to the same bytes and prints
 * identically, whose binary encoding decodes back to it, and which obeys
 * the lattice laws against itself and a fixed reference state.  Local
 * operations on it must be inflations.
 *
 * IDENTIFICATION
 *	  test/fuzz/orset_text_fuzz.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "../prop/prop.h"

#include "edge_crdt/orset.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char reference[] =
"{\"a\":[7.1],\"b\":[1000.2,7.2],\"c\\\"\":[1000.3]}@{7:2,1000:3,42:9}";

static void
fuzz_check_state(const OrSet *a)
{
	OrSet	   *b,
			   *ref,
			   *m1,
			   *m2;
	CrdtError	err;
	char	   *printed;
	CrdtBuf		buf;

	printed = orset_print(a, prop_alloc);
	if (orset_parse(printed, &b, prop_alloc, &err) != CRDT_OK ||
		!orset_equal(a, b) ||
		strcmp(orset_print(b, prop_alloc), printed) != 0)
		abort();

	crdt_buf_init(&buf, prop_alloc, 64);
	orset_encode(a, &buf);
	if (orset_decode(buf.data, buf.len, &b, prop_alloc, &err) != CRDT_OK ||
		!orset_equal(a, b))
		abort();

	if (orset_merge(a, a, &m1, prop_alloc, &err) != CRDT_OK ||
		!orset_equal(m1, a) || !orset_leq(a, a))
		abort();

	if (orset_parse(reference, &ref, prop_alloc, &err) != CRDT_OK)
		abort();
	if (orset_merge(a, ref, &m1, prop_alloc, &err) != CRDT_OK ||
		orset_merge(ref, a, &m2, prop_alloc, &err) != CRDT_OK ||
		!orset_equal(m1, m2) ||
		!orset_leq(a, m1) || !orset_leq(ref, m1) ||
		orset_leq(a, ref) != orset_equal(m1, ref) ||
		orset_leq(ref, a) != orset_equal(m1, a))
		abort();

	/* Re-add and remove the first element: both are inflations. */
	if (a->nelems > 0)
	{
		OrSetStr	x = orset_element(a, 0);
		int64_t		top = 0;

		for (uint32_t i = 0; i < a->nvv; i++)
			if (orset_vv(a)[i].node == 1000)
				top = orset_vv(a)[i].counter;
		if (top < INT64_MAX)
		{
			if (orset_add(a, 1000, &x, 1, &b, prop_alloc, &err) != CRDT_OK ||
				!orset_leq(a, b) || !orset_contains(b, x.data, x.len))
				abort();
		}
		if (orset_remove(a, &x, 1, &b, prop_alloc, &err) != CRDT_OK ||
			!orset_leq(a, b) || orset_contains(b, x.data, x.len) ||
			b->nelems != a->nelems - 1)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = prop_alloc(size + 1);
	OrSet	   *a;
	CrdtError	err;

	memcpy(text, data, size);
	text[size] = '\0';
	if (orset_parse(text, &a, prop_alloc, &err) != CRDT_OK)
	{
		if (err.status == CRDT_OK || err.message[0] == '\0')
			abort();			/* a failure must say why */
	}
	else
		fuzz_check_state(a);
	prop_arena_reset();
	return 0;
}
