/*-------------------------------------------------------------------------
 * doc_recv_fuzz.c
 *	  libFuzzer target for the binary input of edge_crdt.doc: one format
 *	  version byte, then the body that doc_decode reads.
 *
 * Decode accepts canonical encodings only, so anything accepted must
 * re-encode to exactly the input bytes, print and parse back to itself,
 * and merge commutatively with a fixed state.  Any violation aborts.
 *
 * IDENTIFICATION
 *	  test/fuzz/doc_recv_fuzz.c
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge_crdt/doc.h"

static void **arena;
static size_t arena_len,
			arena_cap;

static void *
fuzz_alloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (p == NULL)
		abort();
	if (arena_len == arena_cap)
	{
		arena_cap = arena_cap ? arena_cap * 2 : 256;
		arena = realloc(arena, arena_cap * sizeof(void *));
		if (arena == NULL)
			abort();
	}
	arena[arena_len++] = p;
	return p;
}

static void
arena_reset(void)
{
	for (size_t i = 0; i < arena_len; i++)
		free(arena[i]);
	arena_len = 0;
}

static const char fixed_text[] =
"[{\"p\": [], \"v\": \"3.1\", \"k\": \"obj\"},"
" {\"p\": [\"a\"], \"v\": \"2.2\", \"k\": \"val\", \"j\": [1, 2]},"
" {\"p\": [\"b\", \"c\"], \"v\": \"9.1\", \"k\": \"del\"}]";

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	DocState	s,
				again,
				fixed,
				m1,
				m2;
	CrdtError	err;
	CrdtBuf		bin;
	char	   *t;
	bool		found;
	CrdtStatus	st1,
				st2;

	if (size < 1 || data[0] != DOC_BINARY_VERSION)
		return 0;
	err.message[0] = '\0';
	if (doc_decode(data + 1, size - 1, fuzz_alloc, &s, &err) != CRDT_OK)
	{
		if (err.message[0] == '\0')
			abort();
		arena_reset();
		return 0;
	}

	crdt_buf_init(&bin, fuzz_alloc, 64);
	doc_encode(&s, &bin);
	if (bin.len != size - 1 || memcmp(bin.data, data + 1, bin.len) != 0)
		abort();

	t = doc_print(&s, fuzz_alloc);
	if (doc_parse(t, fuzz_alloc, &again, &err) != CRDT_OK || !doc_equal(&s, &again))
		abort();

	if (doc_parse(fixed_text, fuzz_alloc, &fixed, &err) != CRDT_OK)
		abort();
	st1 = doc_merge(&s, &fixed, fuzz_alloc, &m1, &err);
	st2 = doc_merge(&fixed, &s, fuzz_alloc, &m2, &err);
	if (st1 != st2 || (st1 == CRDT_OK && !doc_equal(&m1, &m2)))
		abort();
	if (st1 == CRDT_OK && (!doc_leq(&s, &m1, fuzz_alloc) ||
						   !doc_leq(&fixed, &m1, fuzz_alloc)))
		abort();

	crdt_buf_init(&bin, fuzz_alloc, 64);
	if (doc_materialize(&s, NULL, 0, 0, fuzz_alloc, &bin, &found, &err) != CRDT_OK ||
		!found)
		abort();
	arena_reset();
	return 0;
}
