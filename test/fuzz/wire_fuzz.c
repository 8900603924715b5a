/*-------------------------------------------------------------------------
 * wire_fuzz.c
 *	  libFuzzer target: the change-set wire decoder.
 *
 * Hostile bytes must be rejected cleanly, without over-reading (the input
 * is decoded from an exact-size copy so ASan sees any read past the end) or
 * allocating more than the input could fill.  Decoding is the exact inverse
 * of encoding, so an accepted input must encode back to the same bytes.
 *
 * IDENTIFICATION
 *	  test/fuzz/wire_fuzz.c
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "../prop/prop.h"

#include "edge_crdt/wire.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_alloc_bytes;

static void *
fuzz_alloc(size_t size)
{
	fuzz_alloc_bytes += size;
	return prop_alloc(size);
}

static void
fuzz_check_wire(const uint8_t *data, size_t size)
{
	WireMessage msg;
	CrdtError	err;
	CrdtBuf		buf;

	fuzz_alloc_bytes = 0;
	if (wire_decode(data, size, &msg, fuzz_alloc, &err) != CRDT_OK)
	{
		if (err.status != CRDT_ERR_CORRUPT && err.status != CRDT_ERR_INVALID &&
			err.status != CRDT_ERR_TOO_LARGE)
			abort();
		if (fuzz_alloc_bytes > 0 &&
			fuzz_alloc_bytes > (size / 17 + 1) * sizeof(WireColumn))
			abort();
		return;
	}
	/* One column is at least 17 bytes; nothing else is allocated. */
	if (fuzz_alloc_bytes > (size / 17 + 1) * sizeof(WireColumn) ||
		wire_msg_type_name(msg.type) == NULL)
		abort();
	crdt_buf_init(&buf, prop_alloc, 64);
	wire_encode(&buf, &msg);
	if (buf.len != size || memcmp(buf.data, data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t    *copy = prop_alloc(size);

	memcpy(copy, data, size);
	fuzz_check_wire(copy, size);
	prop_arena_reset();
	return 0;
}
