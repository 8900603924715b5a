/*-------------------------------------------------------------------------
 * stream_apply.c
 *	  The wire body of a global stream message (stream.h): encoding it into
 *	  the publishing transaction, and storing a body a peer sent.
 *
 * The receiving side treats the body as hostile: every length is checked
 * against the bytes left and against the size bounds before anything is
 * copied, text must be valid in the database encoding, JSON must parse,
 * and nothing may follow the payload.  Failures are class-22 errors
 * (ERRCODE_INVALID_BINARY_REPRESENTATION; invalid JSON is 22P02), which the
 * replicator quarantines rather than retrying forever.
 *
 * IDENTIFICATION
 *	  src/stream/stream_apply.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/timestamp.h"

#include "edge_crdt/hlc.h"
#include "edge_crdt/message.h"
#include "edge_crdt/stream.h"

typedef struct BodyReader
{
	const char *p;
	uint32		left;
} BodyReader;

static void
send_string(StringInfo buf, const char *s, uint32 len)
{
	pq_sendint32(buf, len);
	appendBinaryStringInfo(buf, s, len);
}

void
StreamBodyEncode(StringInfo buf, const StreamBody *body)
{
	pq_sendint8(buf, STREAM_BODY_VERSION);
	pq_sendint8(buf, body->flags);
	pq_sendint32(buf, body->origin);
	pq_sendint64(buf, body->hlc);
	pq_sendint32(buf, body->seq);
	pq_sendint64(buf, body->published_at);
	send_string(buf, body->name, body->name_len);
	if (body->flags & STREAM_HAS_KEY)
		send_string(buf, body->key, body->key_len);
	if (body->flags & STREAM_HAS_HEADERS)
		send_string(buf, body->headers, body->headers_len);
	if (body->flags & STREAM_HAS_DEDUP)
		send_string(buf, body->dedup, body->dedup_len);
	send_string(buf, body->payload, body->payload_len);
}

static bool
read_raw(BodyReader *r, void *dst, uint32 n)
{
	if (r->left < n)
		return false;
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
	return true;
}

static bool
read_u8(BodyReader *r, uint8 *v)
{
	return read_raw(r, v, 1);
}

static bool
read_i32(BodyReader *r, int32 *v)
{
	uint32		n;

	if (!read_raw(r, &n, 4))
		return false;
	*v = (int32) pg_ntoh32(n);
	return true;
}

static bool
read_i64(BodyReader *r, int64 *v)
{
	uint64		n;

	if (!read_raw(r, &n, 8))
		return false;
	*v = (int64) pg_ntoh64(n);
	return true;
}

/*
 * A length-prefixed string of at most max bytes, valid text in the
 * database encoding.  *why says what is wrong on failure.
 */
static bool
read_string(BodyReader *r, uint32 max, const char **s, uint32 *len,
			const char *what, char **why)
{
	int32		n;

	if (!read_i32(r, &n))
	{
		*why = psprintf("The body ends inside the length of the %s.", what);
		return false;
	}
	if (n < 0 || (uint32) n > max)
	{
		*why = psprintf("The %s claims %u bytes; at most %u are allowed.",
						what, (uint32) n, max);
		return false;
	}
	if ((uint32) n > r->left)
	{
		*why = psprintf("The %s claims %d bytes but only %u are left.", what, n, r->left);
		return false;
	}
	if (memchr(r->p, '\0', n) != NULL ||
		!pg_verify_mbstr(GetDatabaseEncoding(), r->p, n, true))
	{
		*why = psprintf("The %s is not valid text in the database encoding.", what);
		return false;
	}
	*s = r->p;
	*len = (uint32) n;
	r->p += n;
	r->left -= n;
	return true;
}

static bool
stream_name_valid(const char *s, uint32 len)
{
	uint32		i;

	if (len < 1 || len > STREAM_MAX_NAME ||
		!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z')))
		return false;
	for (i = 1; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
	}
	return true;
}

/*
 * Nesting depth of JSON text stays within max (strings skipped).  The JSON
 * parser would stop a deeper document with "stack depth limit exceeded",
 * which is not a data error: the replicator would retry it forever instead
 * of quarantining it.
 */
static bool
json_depth_ok(const char *s, uint32 len, int max)
{
	int			depth = 0;
	bool		in_string = false;
	uint32		i;

	for (i = 0; i < len; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		}
		else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{')
		{
			if (++depth > max)
				return false;
		}
		else if (c == ']' || c == '}')
			depth--;
	}
	return true;
}

/* Decode and check a body; false with *why set when it is malformed. */
static bool
stream_body_decode(const char *data, uint32 len, int32 origin_node,
				   StreamBody *body, char **why)
{
	BodyReader	r = {data, len};
	uint8		version;

	memset(body, 0, sizeof(*body));
	if (!read_u8(&r, &version))
	{
		*why = pstrdup("The body is empty.");
		return false;
	}
	if (version != STREAM_BODY_VERSION)
	{
		*why = psprintf("Body format version %u is unknown (this node reads version %d).",
						version, STREAM_BODY_VERSION);
		return false;
	}
	if (!read_u8(&r, &body->flags) || !read_i32(&r, &body->origin) ||
		!read_i64(&r, &body->hlc) || !read_i32(&r, &body->seq) ||
		!read_i64(&r, &body->published_at))
	{
		*why = pstrdup("The body ends inside its fixed header.");
		return false;
	}
	if (body->flags & ~(STREAM_HAS_KEY | STREAM_HAS_HEADERS | STREAM_HAS_DEDUP))
	{
		*why = psprintf("Unknown flags 0x%02x.", body->flags);
		return false;
	}
	if (body->origin <= 0)
	{
		*why = psprintf("Invalid origin node id %d.", body->origin);
		return false;
	}
	/* 0: re-applied from quarantine (apply_change), where no peer is known */
	if (origin_node != 0 && body->origin != origin_node)
	{
		*why = psprintf("The message claims origin node %d but came in a transaction of node %d.",
						body->origin, origin_node);
		return false;
	}
	if (body->hlc <= 0 || body->seq < 0)
	{
		*why = psprintf("Invalid message id " INT64_FORMAT "-%d-%d.",
						body->hlc, body->origin, body->seq);
		return false;
	}
	if (!IS_VALID_TIMESTAMP(body->published_at))
	{
		*why = pstrdup("The publication time is out of range.");
		return false;
	}
	if (!read_string(&r, STREAM_MAX_NAME, &body->name, &body->name_len, "stream name", why))
		return false;
	if (!stream_name_valid(body->name, body->name_len))
	{
		*why = pstrdup("The stream name is not a valid stream name.");
		return false;
	}
	if ((body->flags & STREAM_HAS_KEY) &&
		!read_string(&r, STREAM_MAX_KEY, &body->key, &body->key_len, "key", why))
		return false;
	if ((body->flags & STREAM_HAS_HEADERS) &&
		!read_string(&r, STREAM_MAX_HEADERS, &body->headers, &body->headers_len, "headers", why))
		return false;
	if ((body->flags & STREAM_HAS_DEDUP) &&
		!read_string(&r, STREAM_MAX_DEDUP, &body->dedup, &body->dedup_len, "dedup_id", why))
		return false;
	if (!read_string(&r, STREAM_MAX_PAYLOAD, &body->payload, &body->payload_len, "payload", why))
		return false;
	if (r.left != 0)
	{
		*why = psprintf("%u bytes follow the payload.", r.left);
		return false;
	}
	if (!json_depth_ok(body->payload, body->payload_len, STREAM_MAX_JSON_DEPTH) ||
		((body->flags & STREAM_HAS_HEADERS) &&
		 !json_depth_ok(body->headers, body->headers_len, STREAM_MAX_JSON_DEPTH)))
	{
		*why = psprintf("The JSON is nested more than %d levels deep.", STREAM_MAX_JSON_DEPTH);
		return false;
	}
	return true;
}

/* Fill a body from SQL arguments (stream, origin, hlc, seq, key, headers, payload, dedup_id, published_at). */
static void
stream_body_from_args(FunctionCallInfo fcinfo, StreamBody *body)
{
	char	   *s;
	int			i;

	for (i = 0; i < 9; i++)
		if (PG_ARGISNULL(i) && i != 4 && i != 5 && i != 7)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("stream message field %d must not be null", i + 1)));
	memset(body, 0, sizeof(*body));
	s = text_to_cstring(PG_GETARG_TEXT_PP(0));
	body->name = s;
	body->name_len = strlen(s);
	body->origin = PG_GETARG_INT32(1);
	body->hlc = PG_GETARG_INT64(2);
	body->seq = PG_GETARG_INT32(3);
	if (!PG_ARGISNULL(4))
	{
		s = text_to_cstring(PG_GETARG_TEXT_PP(4));
		body->flags |= STREAM_HAS_KEY;
		body->key = s;
		body->key_len = strlen(s);
	}
	if (!PG_ARGISNULL(5))
	{
		s = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(5)));
		body->flags |= STREAM_HAS_HEADERS;
		body->headers = s;
		body->headers_len = strlen(s);
	}
	s = DatumGetCString(DirectFunctionCall1(jsonb_out, PG_GETARG_DATUM(6)));
	body->payload = s;
	body->payload_len = strlen(s);
	if (!PG_ARGISNULL(7))
	{
		s = text_to_cstring(PG_GETARG_TEXT_PP(7));
		body->flags |= STREAM_HAS_DEDUP;
		body->dedup = s;
		body->dedup_len = strlen(s);
	}
	body->published_at = PG_GETARG_TIMESTAMPTZ(8);
}

/* _stream_emit(...): put the message into this transaction's change stream. */
PG_FUNCTION_INFO_V1(stream_emit_sql);
Datum
stream_emit_sql(PG_FUNCTION_ARGS)
{
	StreamBody	body;
	StringInfoData buf;

	stream_body_from_args(fcinfo, &body);
	initStringInfo(&buf);
	StreamBodyEncode(&buf, &body);
	EdgeCrdtEmitMessage(EDGE_CRDT_MSG_STREAM, buf.data, buf.len);
	pfree(buf.data);
	PG_RETURN_VOID();
}

/* _stream_encode(...): the same body as bytea (tests). */
PG_FUNCTION_INFO_V1(stream_encode_sql);
Datum
stream_encode_sql(PG_FUNCTION_ARGS)
{
	StreamBody	body;
	StringInfoData buf;
	bytea	   *result;

	stream_body_from_args(fcinfo, &body);
	initStringInfo(&buf);
	StreamBodyEncode(&buf, &body);
	result = (bytea *) palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	PG_RETURN_BYTEA_P(result);
}

static Datum
text_datum(const char *s, uint32 len)
{
	return PointerGetDatum(cstring_to_text_with_len(s, len));
}

void
StreamApplyRemote(const char *body, uint32 len, int32 origin_node)
{
	static SPIPlanPtr plan = NULL;
	StreamBody	b;
	char	   *why = NULL;
	Datum		values[9];
	char		nulls[9];
	char	   *peer;
	int			rc;

	if (!stream_body_decode(body, len, origin_node, &b, &why))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("malformed stream message from node %d", origin_node),
				 errdetail_internal("%s", why)));

	/* our next ids must sort after every id we have seen */
	peer = psprintf("node %d", origin_node);
	(void) HlcObserve(b.hlc, peer);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = text_datum(b.name, b.name_len);
	values[1] = Int32GetDatum(b.origin);
	values[2] = Int64GetDatum(b.hlc);
	values[3] = Int32GetDatum(b.seq);
	if (b.flags & STREAM_HAS_KEY)
		values[4] = text_datum(b.key, b.key_len);
	else
	{
		values[4] = (Datum) 0;
		nulls[4] = 'n';
	}
	if (b.flags & STREAM_HAS_HEADERS)
		values[5] = text_datum(b.headers, b.headers_len);
	else
	{
		values[5] = (Datum) 0;
		nulls[5] = 'n';
	}
	values[6] = text_datum(b.payload, b.payload_len);
	if (b.flags & STREAM_HAS_DEDUP)
		values[7] = text_datum(b.dedup, b.dedup_len);
	else
	{
		values[7] = (Datum) 0;
		nulls[7] = 'n';
	}
	values[8] = TimestampTzGetDatum(b.published_at);

	SPI_connect();
	if (plan == NULL)
	{
		Oid			argtypes[9] = {TEXTOID, INT4OID, INT8OID, INT4OID, TEXTOID,
		TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID};
		SPIPlanPtr	p;

		p = SPI_prepare("SELECT edge_crdt._stream_store_remote($1, $2, $3, $4, $5, "
						"$6::pg_catalog.jsonb, $7::pg_catalog.jsonb, $8, $9)",
						9, argtypes);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	rc = SPI_execute_plan(plan, values, nulls, false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "storing a stream message failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/* _stream_apply_remote(body, origin_node): what the replicator does (tests). */
PG_FUNCTION_INFO_V1(stream_apply_remote_sql);
Datum
stream_apply_remote_sql(PG_FUNCTION_ARGS)
{
	bytea	   *body = PG_GETARG_BYTEA_PP(0);

	StreamApplyRemote(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), PG_GETARG_INT32(1));
	PG_RETURN_VOID();
}
