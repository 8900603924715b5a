/*-------------------------------------------------------------------------
 * gcounter_text_fuzz.c
 *	  libFuzzer target: gcounter text input, and the harness shared by the
 *	  pncounter text target.
 *
 * Any input must be rejected cleanly or parse to a state whose canonical
 * text parses back to the same state and prints identically, and whose
 * binary encoding decodes back to it.  pncounter_text_fuzz.c includes this
 * file with FUZZ_TYPE/FUZZ_FN pointing at the pncounter core, so both types
 * share one harness.
 *
 * IDENTIFICATION
 *	  test/fuzz/gcounter_text_fuzz.c
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
fuzz_check_text(const char *text)
{
	FUZZ_TYPE  *a,
			   *b,
			   *m;
	char	   *printed;
	CrdtError	err;
	CrdtBuf		buf;
	int64_t		value;

	if (FUZZ_FN(parse) (text, prop_alloc, &a, &err) != CRDT_OK)
	{
		if (err.status == CRDT_OK || err.message[0] == '\0')
			abort();			/* a failure must say why */
		return;
	}
	printed = FUZZ_FN(print) (a, prop_alloc);
	if (FUZZ_FN(parse) (printed, prop_alloc, &b, &err) != CRDT_OK ||
		!FUZZ_FN(equal) (a, b) ||
		strcmp(FUZZ_FN(print) (b, prop_alloc), printed) != 0)
		abort();

	crdt_buf_init(&buf, prop_alloc, 64);
	FUZZ_FN(encode) (a, &buf);
	if (FUZZ_FN(decode) (buf.data, buf.len, prop_alloc, &b, &err) != CRDT_OK ||
		!FUZZ_FN(equal) (a, b))
		abort();

	if (FUZZ_FN(merge) (a, a, prop_alloc, &m, &err) != CRDT_OK ||
		!FUZZ_FN(equal) (m, a) || !FUZZ_FN(leq) (a, a))
		abort();

	if (FUZZ_FN(value) (a, &value, &err) != CRDT_OK &&
		err.status != CRDT_ERR_OUT_OF_RANGE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = prop_alloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	fuzz_check_text(text);
	prop_arena_reset();
	return 0;
}
