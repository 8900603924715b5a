/*-------------------------------------------------------------------------
 * gcounter_recv_fuzz.c
 *	  libFuzzer target: gcounter binary receive, and the harness shared by
 *	  the pncounter receive target.
 *
 * Hostile bytes must be rejected without over-reading or allocating more
 * than the announced entries can fill.  The encoding is canonical, so any
 * accepted input must encode back to exactly the same bytes; an accepted
 * state must also survive a text round trip and merge with itself.
 *
 * IDENTIFICATION
 *	  test/fuzz/gcounter_recv_fuzz.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "../prop/prop.h"

#ifndef FUZZ_TYPE
#include "edge_crdt/gcounter.h"
#define FUZZ_TYPE	GCounter
#define FUZZ_FN(f)	gcounter_##f
#endif

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_binary(const uint8_t *data, size_t size)
{
	FUZZ_TYPE  *a,
			   *b,
			   *m;
	CrdtError	err;
	CrdtBuf		buf;
	int64_t		value;

	if (FUZZ_FN(decode) (data, size, prop_alloc, &a, &err) != CRDT_OK)
	{
		if (err.status != CRDT_ERR_CORRUPT && err.status != CRDT_ERR_TOO_LARGE)
			abort();
		return;
	}
	crdt_buf_init(&buf, prop_alloc, 64);
	FUZZ_FN(encode) (a, &buf);
	if (buf.len != size || memcmp(buf.data, data, size) != 0)
		abort();

	if (FUZZ_FN(parse) (FUZZ_FN(print) (a, prop_alloc), prop_alloc, &b,
						&err) != CRDT_OK ||
		!FUZZ_FN(equal) (a, b))
		abort();

	if (FUZZ_FN(merge) (a, a, prop_alloc, &m, &err) != CRDT_OK ||
		!FUZZ_FN(equal) (m, a) || !FUZZ_FN(leq) (a, a))
		abort();

	/* Any state has a value or a clean out-of-range failure. */
	if (FUZZ_FN(value) (a, &value, &err) != CRDT_OK &&
		err.status != CRDT_ERR_OUT_OF_RANGE)
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
