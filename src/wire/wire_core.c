/*-------------------------------------------------------------------------
 * wire_core.c
 *	  Encoder and decoder of the edge_crdt change-set wire format.
 *
 * The format is documented in edge_crdt/wire.h.  Each message type has its
 * write and read side next to each other (pglogical's proto_native layout),
 * so a change to one is seen to need the other.
 *
 * The decoder treats its input as hostile: every length is checked against
 * the bytes remaining before it is used, the column count is checked against
 * both WIRE_MAX_COLUMNS and what the remaining bytes could possibly hold
 * before the column array is allocated, and anything the encoder would not
 * have produced (unknown version, type or kind, a transactional flag other
 * than 0 or 1, over-long or NUL-containing strings, trailing bytes) is
 * rejected.  So decode and encode are exact inverses: every accepted input
 * encodes back to the same bytes.  Errors name the field and its byte
 * offset.
 *
 * Pure C: no server headers, so that the property tests and the fuzz target
 * link it natively.
 *
 * IDENTIFICATION
 *	  src/wire/wire_core.c
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "edge_crdt/wire.h"

/*
 * A lower bound on the encoding of one column: the two string lengths, hlc,
 * node and kind (NULL and UNCHANGED carry no value).  Bounds how many
 * columns the remaining bytes could hold before anything is allocated.
 */
#define WIRE_MIN_COLUMN_SIZE	(2 + 2 + 8 + 4 + 1)

/* ----------------------------------------------------------------
 *		Primitives
 * ----------------------------------------------------------------
 */

static void
wire_put_u16(CrdtBuf *buf, uint16_t v)
{
	uint8_t		b[2];

	b[0] = (uint8_t) (v >> 8);
	b[1] = (uint8_t) v;
	crdt_buf_append(buf, b, 2);
}

static void
wire_put_u64(CrdtBuf *buf, uint64_t v)
{
	crdt_buf_put_i64(buf, (int64_t) v);
}

static void
wire_put_string(CrdtBuf *buf, WireSlice s)
{
	wire_put_u16(buf, (uint16_t) s.len);
	crdt_buf_append(buf, s.data, s.len);
}

static void
wire_put_bytes(CrdtBuf *buf, WireSlice s)
{
	crdt_buf_put_u32(buf, s.len);
	crdt_buf_append(buf, s.data, s.len);
}

static bool
wire_read_u16(CrdtReader *r, uint16_t *v)
{
	const uint8_t *p;

	if (!crdt_read_bytes(r, 2, &p))
		return false;
	*v = (uint16_t) (((uint16_t) p[0] << 8) | p[1]);
	return true;
}

static CrdtStatus
wire_truncated(CrdtReader *r, const char *what, size_t off, CrdtError *err)
{
	return crdt_fail(err, CRDT_ERR_CORRUPT,
					 "truncated message: %s at byte %zu needs more than the %zu bytes left",
					 what, off, r->len - off);
}

/* Fixed-size fields: fail with the field's name and offset. */
static CrdtStatus
wire_get_u8(CrdtReader *r, const char *what, uint8_t *v, CrdtError *err)
{
	size_t		off = r->off;

	if (!crdt_read_u8(r, v))
		return wire_truncated(r, what, off, err);
	return CRDT_OK;
}

static CrdtStatus
wire_get_u16(CrdtReader *r, const char *what, uint16_t *v, CrdtError *err)
{
	size_t		off = r->off;

	if (!wire_read_u16(r, v))
		return wire_truncated(r, what, off, err);
	return CRDT_OK;
}

static CrdtStatus
wire_get_u32(CrdtReader *r, const char *what, uint32_t *v, CrdtError *err)
{
	size_t		off = r->off;

	if (!crdt_read_u32(r, v))
		return wire_truncated(r, what, off, err);
	return CRDT_OK;
}

static CrdtStatus
wire_get_i32(CrdtReader *r, const char *what, int32_t *v, CrdtError *err)
{
	size_t		off = r->off;

	if (!crdt_read_i32(r, v))
		return wire_truncated(r, what, off, err);
	return CRDT_OK;
}

static CrdtStatus
wire_get_i64(CrdtReader *r, const char *what, int64_t *v, CrdtError *err)
{
	size_t		off = r->off;

	if (!crdt_read_i64(r, v))
		return wire_truncated(r, what, off, err);
	return CRDT_OK;
}

static CrdtStatus
wire_get_u64(CrdtReader *r, const char *what, uint64_t *v, CrdtError *err)
{
	int64_t		i = 0;
	CrdtStatus	st = wire_get_i64(r, what, &i, err);

	*v = (uint64_t) i;
	return st;
}

/*
 * string: uint16 length + bytes.  Names are identifiers, so an empty one is
 * as malformed as one with a NUL byte; maxlen is WIRE_MAX_NAME or
 * WIRE_MAX_TYPE_NAME.
 */
static CrdtStatus
wire_get_string(CrdtReader *r, const char *what, uint32_t maxlen,
				WireSlice *s, CrdtError *err)
{
	size_t		off = r->off;
	uint16_t	len = 0;
	const uint8_t *p;

	if (!wire_read_u16(r, &len))
		return wire_truncated(r, what, off, err);
	if (len == 0)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "empty %s at byte %zu", what, off);
	if (len > maxlen)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "%s at byte %zu is %u bytes long, more than the maximum of %u",
						 what, off, (unsigned) len, (unsigned) maxlen);
	if (!crdt_read_bytes(r, len, &p))
		return wire_truncated(r, what, off, err);
	if (memchr(p, '\0', len) != NULL)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "%s at byte %zu contains a NUL byte", what, off);
	s->data = (const char *) p;
	s->len = len;
	return CRDT_OK;
}

/* bytes: uint32 length + bytes, any content, possibly empty. */
static CrdtStatus
wire_get_bytes(CrdtReader *r, const char *what, WireSlice *s, CrdtError *err)
{
	size_t		off = r->off;
	uint32_t	len;
	const uint8_t *p;

	if (!crdt_read_u32(r, &len))
		return wire_truncated(r, what, off, err);
	if (len > WIRE_MAX_VALUE)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "%s at byte %zu is %u bytes long, more than the maximum of %u",
						 what, off, (unsigned) len, (unsigned) WIRE_MAX_VALUE);
	if (!crdt_read_bytes(r, len, &p))
		return wire_truncated(r, what, off, err);
	s->data = (const char *) p;
	s->len = len;
	return CRDT_OK;
}

/* ----------------------------------------------------------------
 *		Columns (ROW and DELETE)
 * ----------------------------------------------------------------
 */

static bool
wire_kind_has_value(WireValueKind kind)
{
	return kind == WIRE_BINARY || kind == WIRE_TEXT;
}

static void
wire_write_columns(CrdtBuf *buf, uint16_t ncolumns, const WireColumn *columns)
{
	wire_put_u16(buf, ncolumns);
	for (uint16_t i = 0; i < ncolumns; i++)
	{
		const WireColumn *c = &columns[i];

		wire_put_string(buf, c->name);
		wire_put_string(buf, c->type_name);
		crdt_buf_put_i64(buf, c->version.hlc);
		crdt_buf_put_i32(buf, c->version.node);
		crdt_buf_put_u8(buf, (uint8_t) c->kind);
		if (wire_kind_has_value(c->kind))
			wire_put_bytes(buf, c->value);
	}
}

static CrdtStatus
wire_read_columns(CrdtReader *r, WireMessage *msg, CrdtAllocFn alloc,
				  CrdtError *err)
{
	size_t		off = r->off;
	uint16_t	n = 0;
	CrdtStatus	st;

	if ((st = wire_get_u16(r, "column count", &n, err)) != CRDT_OK)
		return st;
	if (n > WIRE_MAX_COLUMNS)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "column count %u at byte %zu exceeds the maximum of %d",
						 (unsigned) n, off, WIRE_MAX_COLUMNS);
	if ((size_t) n * WIRE_MIN_COLUMN_SIZE > crdt_reader_remaining(r))
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "column count %u at byte %zu does not fit in the %zu bytes left",
						 (unsigned) n, off, crdt_reader_remaining(r));
	msg->ncolumns = n;
	msg->columns = NULL;
	if (n == 0)
		return CRDT_OK;
	msg->columns = alloc(sizeof(WireColumn) * n);
	memset(msg->columns, 0, sizeof(WireColumn) * n);

	for (uint16_t i = 0; i < n; i++)
	{
		WireColumn *c = &msg->columns[i];
		uint8_t		kind = 0;
		size_t		kind_off;

		if ((st = wire_get_string(r, "column name", WIRE_MAX_NAME,
								  &c->name, err)) != CRDT_OK ||
			(st = wire_get_string(r, "column type name", WIRE_MAX_TYPE_NAME,
								  &c->type_name, err)) != CRDT_OK ||
			(st = wire_get_i64(r, "column hlc", &c->version.hlc,
							   err)) != CRDT_OK ||
			(st = wire_get_i32(r, "column node", &c->version.node,
							   err)) != CRDT_OK)
			return st;
		kind_off = r->off;
		if ((st = wire_get_u8(r, "column value kind", &kind, err)) != CRDT_OK)
			return st;
		switch (kind)
		{
			case WIRE_NULL:
			case WIRE_UNCHANGED:
				c->kind = (WireValueKind) kind;
				break;
			case WIRE_BINARY:
			case WIRE_TEXT:
				c->kind = (WireValueKind) kind;
				if ((st = wire_get_bytes(r, "column value", &c->value,
										 err)) != CRDT_OK)
					return st;
				break;
			default:
				return crdt_fail(err, CRDT_ERR_INVALID,
								 "unknown column value kind 0x%02x at byte %zu",
								 (unsigned) kind, kind_off);
		}
	}
	return CRDT_OK;
}

/* ----------------------------------------------------------------
 *		Messages, write and read side by side
 * ----------------------------------------------------------------
 */

static void
wire_write_begin(CrdtBuf *buf, const WireMessage *msg)
{
	wire_put_u64(buf, msg->lsn);
	crdt_buf_put_i64(buf, msg->commit_time);
	crdt_buf_put_u32(buf, msg->xid);
	crdt_buf_put_i32(buf, msg->origin_node);
}

static CrdtStatus
wire_read_begin(CrdtReader *r, WireMessage *msg, CrdtError *err)
{
	CrdtStatus	st;

	if ((st = wire_get_u64(r, "final_lsn", &msg->lsn, err)) != CRDT_OK ||
		(st = wire_get_i64(r, "commit_time", &msg->commit_time,
						   err)) != CRDT_OK ||
		(st = wire_get_u32(r, "xid", &msg->xid, err)) != CRDT_OK ||
		(st = wire_get_i32(r, "origin_node", &msg->origin_node,
						   err)) != CRDT_OK)
		return st;
	return CRDT_OK;
}

static void
wire_write_commit(CrdtBuf *buf, const WireMessage *msg)
{
	wire_put_u64(buf, msg->lsn);
	wire_put_u64(buf, msg->end_lsn);
	crdt_buf_put_i64(buf, msg->commit_time);
}

static CrdtStatus
wire_read_commit(CrdtReader *r, WireMessage *msg, CrdtError *err)
{
	CrdtStatus	st;

	if ((st = wire_get_u64(r, "commit_lsn", &msg->lsn, err)) != CRDT_OK ||
		(st = wire_get_u64(r, "end_lsn", &msg->end_lsn, err)) != CRDT_OK ||
		(st = wire_get_i64(r, "commit_time", &msg->commit_time,
						   err)) != CRDT_OK)
		return st;
	return CRDT_OK;
}

static void
wire_write_row(CrdtBuf *buf, const WireMessage *msg)
{
	wire_put_string(buf, msg->nspname);
	wire_put_string(buf, msg->relname);
	crdt_buf_put_i64(buf, msg->cl);
	wire_write_columns(buf, msg->ncolumns, msg->columns);
}

static CrdtStatus
wire_read_row(CrdtReader *r, WireMessage *msg, CrdtAllocFn alloc,
			  CrdtError *err)
{
	CrdtStatus	st;

	if ((st = wire_get_string(r, "schema name", WIRE_MAX_NAME,
							  &msg->nspname, err)) != CRDT_OK ||
		(st = wire_get_string(r, "relation name", WIRE_MAX_NAME,
							  &msg->relname, err)) != CRDT_OK ||
		(st = wire_get_i64(r, "cl", &msg->cl, err)) != CRDT_OK)
		return st;
	return wire_read_columns(r, msg, alloc, err);
}

static void
wire_write_delete(CrdtBuf *buf, const WireMessage *msg)
{
	wire_put_string(buf, msg->nspname);
	wire_put_string(buf, msg->relname);
	crdt_buf_put_i64(buf, msg->cl);
	crdt_buf_put_i64(buf, msg->version.hlc);
	crdt_buf_put_i32(buf, msg->version.node);
	wire_write_columns(buf, msg->ncolumns, msg->columns);
}

static CrdtStatus
wire_read_delete(CrdtReader *r, WireMessage *msg, CrdtAllocFn alloc,
				 CrdtError *err)
{
	CrdtStatus	st;

	if ((st = wire_get_string(r, "schema name", WIRE_MAX_NAME,
							  &msg->nspname, err)) != CRDT_OK ||
		(st = wire_get_string(r, "relation name", WIRE_MAX_NAME,
							  &msg->relname, err)) != CRDT_OK ||
		(st = wire_get_i64(r, "cl", &msg->cl, err)) != CRDT_OK ||
		(st = wire_get_i64(r, "tombstone hlc", &msg->version.hlc,
						   err)) != CRDT_OK ||
		(st = wire_get_i32(r, "tombstone node", &msg->version.node,
						   err)) != CRDT_OK)
		return st;
	return wire_read_columns(r, msg, alloc, err);
}

static void
wire_write_message(CrdtBuf *buf, const WireMessage *msg)
{
	crdt_buf_put_u8(buf, msg->transactional ? 1 : 0);
	wire_put_string(buf, msg->prefix);
	wire_put_bytes(buf, msg->content);
}

static CrdtStatus
wire_read_message(CrdtReader *r, WireMessage *msg, CrdtError *err)
{
	size_t		off = r->off;
	uint8_t		transactional = 0;
	CrdtStatus	st;

	if ((st = wire_get_u8(r, "transactional flag", &transactional,
						  err)) != CRDT_OK)
		return st;
	/* Only 0 and 1, so that decoding stays the inverse of encoding. */
	if (transactional > 1)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "transactional flag at byte %zu is %u, not 0 or 1",
						 off, (unsigned) transactional);
	msg->transactional = (transactional == 1);
	if ((st = wire_get_string(r, "message prefix", WIRE_MAX_NAME,
							  &msg->prefix, err)) != CRDT_OK ||
		(st = wire_get_bytes(r, "message content", &msg->content,
							 err)) != CRDT_OK)
		return st;
	return CRDT_OK;
}

/* ----------------------------------------------------------------
 *		Entry points
 * ----------------------------------------------------------------
 */

void
wire_encode(CrdtBuf *buf, const WireMessage *msg)
{
	crdt_buf_put_u8(buf, WIRE_PROTO_VERSION);
	crdt_buf_put_u8(buf, (uint8_t) msg->type);
	switch (msg->type)
	{
		case WIRE_BEGIN:
			wire_write_begin(buf, msg);
			break;
		case WIRE_COMMIT:
			wire_write_commit(buf, msg);
			break;
		case WIRE_ROW:
			wire_write_row(buf, msg);
			break;
		case WIRE_DELETE:
			wire_write_delete(buf, msg);
			break;
		case WIRE_MESSAGE:
			wire_write_message(buf, msg);
			break;
	}
}

CrdtStatus
wire_decode(const void *data, size_t len, WireMessage *msg,
			CrdtAllocFn alloc, CrdtError *err)
{
	CrdtReader	r;
	uint8_t		version = 0;
	uint8_t		type = 0;
	CrdtStatus	st;

	/* Fields a type does not carry are zero, as a caller would build them. */
	memset(msg, 0, sizeof(*msg));
	crdt_reader_init(&r, data, len);

	if ((st = wire_get_u8(&r, "protocol version", &version, err)) != CRDT_OK)
		return st;
	if (version != WIRE_PROTO_VERSION)
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "unsupported protocol version %d (this build speaks %d)",
						 (int) version, WIRE_PROTO_VERSION);
	if ((st = wire_get_u8(&r, "message type", &type, err)) != CRDT_OK)
		return st;

	switch (type)
	{
		case WIRE_BEGIN:
			st = wire_read_begin(&r, msg, err);
			break;
		case WIRE_COMMIT:
			st = wire_read_commit(&r, msg, err);
			break;
		case WIRE_ROW:
			st = wire_read_row(&r, msg, alloc, err);
			break;
		case WIRE_DELETE:
			st = wire_read_delete(&r, msg, alloc, err);
			break;
		case WIRE_MESSAGE:
			st = wire_read_message(&r, msg, err);
			break;
		default:
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "unknown message type 0x%02x at byte 1",
							 (unsigned) type);
	}
	if (st != CRDT_OK)
		return st;
	msg->type = (WireMsgType) type;

	if (crdt_reader_remaining(&r) > 0)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "trailing data: a complete %s message ends at byte %zu of %zu",
						 wire_msg_type_name(msg->type), r.off, r.len);
	return CRDT_OK;
}

const char *
wire_msg_type_name(WireMsgType type)
{
	switch (type)
	{
		case WIRE_BEGIN:
			return "begin";
		case WIRE_COMMIT:
			return "commit";
		case WIRE_ROW:
			return "row";
		case WIRE_DELETE:
			return "delete";
		case WIRE_MESSAGE:
			return "message";
	}
	return NULL;
}
