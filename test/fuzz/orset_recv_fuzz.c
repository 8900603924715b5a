/*-------------------------------------------------------------------------
 * orset_recv_fuzz.c
 *	  libFuzzer target: edge_crdt.orset binary receive.
 *
 * Hostile bytes must be rejected without over-reading or allocating more
 * than the announced entries can fill.  The encoding is canonical, so any
 * accepted input must encode back to exactly the same bytes, and the text
 * parser (which validates on its own) must accept its printed form and
 * give the same state.  Accepted states must merge with themselves and a
 * reference state according to the lattice laws.
 *
 * IDENTIFICATION
 *	  test/fuzz/orset_recv_fuzz.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "../prop/prop.h"

#include "edge_crdt/orset.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char reference[] =
"{\"a\":[7.1],\"b\":[1000.2,7.2],\"\\n\":[1000.3]}@{7:2,1000:3,42:9}";

static void
fuzz_check_binary(const uint8_t *data, size_t size)
{
	OrSet	   *a,
			   *b,
			   *ref,
			   *m1,
			   *m2;
	CrdtError	err;
	CrdtBuf		buf;

	if (orset_decode(data, size, &a, prop_alloc, &err) != CRDT_OK)
	{
		if ((err.status != CRDT_ERR_CORRUPT &&
			 err.status != CRDT_ERR_TOO_LARGE &&
			 err.status != CRDT_ERR_INVALID) || err.message[0] == '\0')
			abort();
		return;
	}
	crdt_buf_init(&buf, prop_alloc, 64);
	orset_encode(a, &buf);
	if (buf.len != size || memcmp(buf.data, data, size) != 0)
		abort();

	if (orset_parse(orset_print(a, prop_alloc), &b, prop_alloc,
					&err) != CRDT_OK ||
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
		orset_leq(a, ref) != orset_equal(m1, ref))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy lets ASan catch any read past the end. */
	uint8_t    *copy = prop_alloc(size);

	memcpy(copy, data, size);
	fuzz_check_binary(copy, size);
	prop_arena_reset();
	return 0;
}
