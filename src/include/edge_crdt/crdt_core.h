/*-------------------------------------------------------------------------
 * crdt_core.h
 *	  Backend-independent building blocks shared by the CRDT type cores.
 *
 * The cores in src/types/ *_core.c are plain C: no fmgr, no ereport, no
 * palloc.  They report failures through a CrdtError and allocate through a
 * caller-supplied CrdtAllocFn, so the same code runs inside the server (with
 * palloc), in the property tests and under libFuzzer (with an arena).
 *
 * Binary encodings are big-endian, like the rest of the PostgreSQL wire
 * protocol, and every read is bounds-checked through CrdtReader.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/crdt_core.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_CRDT_CORE_H
#define EDGE_CRDT_CRDT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation never fails from the core's point of view (palloc semantics). */
typedef void *(*CrdtAllocFn) (size_t size);

/* Node ids are positive int4 values; 0 and negatives are never valid. */
static inline bool
crdt_node_id_valid(int64_t id)
{
	return id > 0 && id <= INT32_MAX;
}
#define CRDT_NODE_ID_VALID(id)	crdt_node_id_valid((int64_t) (id))

typedef enum CrdtStatus
{
	CRDT_OK = 0,
	CRDT_ERR_SYNTAX,			/* malformed text input */
	CRDT_ERR_OUT_OF_RANGE,		/* arithmetic overflow, value outside domain */
	CRDT_ERR_TOO_LARGE,			/* state exceeds a documented size bound */
	CRDT_ERR_CORRUPT,			/* malformed or truncated binary input */
	CRDT_ERR_INVALID			/* well-formed but semantically invalid */
} CrdtStatus;

/*
 * A failure: the status picks the SQLSTATE in the fmgr layer, the message is
 * the user-facing detail (lower case, no trailing period).
 */
typedef struct CrdtError
{
	CrdtStatus	status;
	char		message[256];
} CrdtError;

extern CrdtStatus crdt_fail(CrdtError *err, CrdtStatus status,
							const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Growable output buffer (text output and binary encodings). */
typedef struct CrdtBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	CrdtAllocFn alloc;
} CrdtBuf;

extern void crdt_buf_init(CrdtBuf *buf, CrdtAllocFn alloc, size_t initial);
extern void crdt_buf_reserve(CrdtBuf *buf, size_t more);
extern void crdt_buf_append(CrdtBuf *buf, const void *data, size_t len);
extern void crdt_buf_putc(CrdtBuf *buf, char c);
extern void crdt_buf_puts(CrdtBuf *buf, const char *s);
extern void crdt_buf_printf(CrdtBuf *buf, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
extern void crdt_buf_put_u8(CrdtBuf *buf, uint8_t v);
extern void crdt_buf_put_u32(CrdtBuf *buf, uint32_t v);
extern void crdt_buf_put_i32(CrdtBuf *buf, int32_t v);
extern void crdt_buf_put_i64(CrdtBuf *buf, int64_t v);
/* NUL-terminates without counting the terminator in len. */
extern char *crdt_buf_cstring(CrdtBuf *buf);

/* Bounds-checked reader over untrusted bytes: every getter fails cleanly. */
typedef struct CrdtReader
{
	const uint8_t *data;
	size_t		len;
	size_t		off;
} CrdtReader;

static inline void
crdt_reader_init(CrdtReader *r, const void *data, size_t len)
{
	r->data = (const uint8_t *) data;
	r->len = len;
	r->off = 0;
}

static inline size_t
crdt_reader_remaining(const CrdtReader *r)
{
	return r->len - r->off;
}

extern bool crdt_read_u8(CrdtReader *r, uint8_t *v);
extern bool crdt_read_u32(CrdtReader *r, uint32_t *v);
extern bool crdt_read_i32(CrdtReader *r, int32_t *v);
extern bool crdt_read_i64(CrdtReader *r, int64_t *v);
extern bool crdt_read_bytes(CrdtReader *r, size_t n, const uint8_t **p);

/*
 * Text scanning over a NUL-terminated string.  On success the cursor is
 * advanced past what was consumed; on failure err is filled in.
 */
extern void crdt_skip_space(const char **p);
extern bool crdt_expect_char(const char **p, char c, CrdtError *err);
extern bool crdt_parse_int64(const char **p, int64_t *out, CrdtError *err);
extern bool crdt_parse_node_id(const char **p, int32_t *out, CrdtError *err);

/* Overflow-checked arithmetic. */
static inline bool
crdt_add_i64(int64_t a, int64_t b, int64_t *result)
{
	return !__builtin_add_overflow(a, b, result);
}

/* Versions order by hlc first and node id second: never by value. */
typedef struct CrdtVersion
{
	int64_t		hlc;
	int32_t		node;
} CrdtVersion;

static inline int
crdt_version_cmp(CrdtVersion a, CrdtVersion b)
{
	if (a.hlc != b.hlc)
		return a.hlc < b.hlc ? -1 : 1;
	if (a.node != b.node)
		return a.node < b.node ? -1 : 1;
	return 0;
}

#endif							/* EDGE_CRDT_CRDT_CORE_H */
