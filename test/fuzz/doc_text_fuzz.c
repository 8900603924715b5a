/*-------------------------------------------------------------------------
 * doc_text_fuzz.c
 *	  libFuzzer target for the text input of edge_crdt.doc (doc_parse).
 *
 * Whatever parses must print canonically (print -> parse -> print is a
 * fixed point), survive a binary round trip, merge with itself to itself,
 * and materialize to well-formed JSON.  Any violation aborts.
 *
 * IDENTIFICATION
 *	  test/fuzz/doc_text_fuzz.c
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edge_crdt/doc.h"

/* Arena: everything allocated for one input is freed after it. */
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

static void
check_state(const DocState *s)
{
	CrdtError	err;
	char	   *t = doc_print(s, fuzz_alloc);
	DocState	again,
				m;
	CrdtBuf		bin,
				bin2,
				json;
	bool		found;

	if (doc_parse(t, fuzz_alloc, &again, &err) != CRDT_OK)
		abort();
	if (!doc_equal(s, &again) || strcmp(doc_print(&again, fuzz_alloc), t) != 0)
		abort();

	crdt_buf_init(&bin, fuzz_alloc, 64);
	doc_encode(s, &bin);
	if (bin.len != doc_encoded_size(s))
		abort();
	if (doc_decode(bin.data, bin.len, fuzz_alloc, &again, &err) != CRDT_OK ||
		!doc_equal(s, &again))
		abort();
	crdt_buf_init(&bin2, fuzz_alloc, 64);
	doc_encode(&again, &bin2);
	if (bin2.len != bin.len || memcmp(bin.data, bin2.data, bin.len) != 0)
		abort();

	if (doc_merge(s, s, fuzz_alloc, &m, &err) != CRDT_OK || !doc_equal(s, &m))
		abort();

	/* the document is JSON: wrap it so that objects pass the value check */
	crdt_buf_init(&json, fuzz_alloc, 64);
	crdt_buf_putc(&json, '[');
	if (doc_materialize(s, NULL, 0, 0, fuzz_alloc, &json, &found, &err) != CRDT_OK ||
		!found)
		abort();
	crdt_buf_putc(&json, ']');
	if (doc_check_value(json.data, json.len, &err) != CRDT_OK &&
		err.status != CRDT_ERR_TOO_LARGE)
		abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *text = fuzz_alloc(size + 1);
	DocState	s;
	CrdtError	err;

	memcpy(text, data, size);
	text[size] = '\0';
	err.message[0] = '\0';
	if (doc_parse(text, fuzz_alloc, &s, &err) == CRDT_OK)
		check_state(&s);
	else if (err.message[0] == '\0')
		abort();				/* every failure explains itself */
	arena_reset();
	return 0;
}
