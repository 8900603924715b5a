/*-------------------------------------------------------------------------
 * wire_json.c
 *	  edge_crdt.changeset_to_json: one wire message rendered as jsonb, for
 *	  DBAs inspecting what the output plugin sends and for the tests.
 *
 * The message is decoded by the same wire_core.c the replicator uses, so
 * what this shows is what a peer would see.  Shapes (keys of one object;
 * jsonb orders them by length, then bytes):
 *
 *	  begin    {"type", "final_lsn", "commit_time", "xid", "origin_node"}
 *	  commit   {"type", "commit_lsn", "end_lsn", "commit_time"}
 *	  row      {"type", "relation", "cl", "columns": [column, ...]}
 *	  delete   {"type", "relation", "cl", "hlc", "node", "key": [column, ...]}
 *	  message  {"type", "transactional", "prefix", "content"}
 *	  column   {"name", "type", "hlc", "node", "value"}
 *
 * Columns are an array in wire order rather than an object keyed by name:
 * it shows the message as it travels (order, and a duplicated name, which
 * an object would silently collapse), and jsonb would not keep the order
 * of an object's keys anyway.
 *
 * LSNs print like pg_lsn ("16/B374D848"); commit_time prints in ISO 8601 in
 * UTC whatever the session's DateStyle and TimeZone, as to_json would with
 * TimeZone = UTC, so the rendering is stable.  Relation names are quoted
 * like regclass output, fully qualified.
 *
 * A value of a type known here and sent in binary is decoded with the
 * type's receive function and shown as a JSON number (integers, numeric and
 * floats, when finite), boolean, the JSON itself (json, jsonb), or else the
 * output function's text.  Values sent as text are JSON strings; NULL is
 * null; an unchanged value is {"unchanged": true}; a binary value of a type
 * this database does not know is a "\x..." hex string.  Bytes that are not
 * valid in the database encoding (message content, text values) are shown
 * as hex too.
 *
 * IDENTIFICATION
 *	  src/wire/wire_json.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlogdefs.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/wire.h"

/* What the error context callback names while a value is rendered. */
typedef struct WireJsonContext
{
	const char *relation;
	const char *column;
	const char *type_name;
} WireJsonContext;

static void
wire_json_error_callback(void *arg)
{
	WireJsonContext *ctx = (WireJsonContext *) arg;

	errcontext("edge_crdt change set column \"%s\" of type %s of relation %s",
			   ctx->column, ctx->type_name, ctx->relation);

	/*
	 * A syntax error in the type name carries a position inside that name,
	 * which a client would show against its own query: drop it.
	 */
	errposition(0);
}

/*
 * A name from the message as a C string.  The decoder has excluded NUL
 * bytes; the encoding is checked here because JSON text must be valid in
 * the database encoding.
 */
static char *
wire_json_name(WireSlice s, const char *what)
{
	if (!pg_verify_mbstr(GetDatabaseEncoding(), s.data, (int) s.len, true))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid edge_crdt change set"),
				 errdetail("The %s is not valid in encoding \"%s\".",
						   what, GetDatabaseEncodingName())));
	return pnstrdup(s.data, s.len);
}

static void
wire_json_key(StringInfo out, const char *key)
{
	escape_json(out, key);
	appendStringInfoChar(out, ':');
}

static void
wire_json_lsn(StringInfo out, const char *key, uint64 lsn)
{
	wire_json_key(out, key);
	appendStringInfo(out, "\"%X/%X\"", LSN_FORMAT_ARGS((XLogRecPtr) lsn));
}

static void
wire_json_time(StringInfo out, const char *key, int64 t)
{
	char		buf[MAXDATELEN + 1];
	const int	utc = 0;

	wire_json_key(out, key);
	JsonEncodeDateTime(buf, TimestampTzGetDatum((TimestampTz) t),
					   TIMESTAMPTZOID, &utc);
	escape_json(out, buf);
}

static void
wire_json_hex(StringInfo out, const char *data, uint32 len)
{
	static const char hex[] = "0123456789abcdef";
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, "\\x");
	for (uint32 i = 0; i < len; i++)
	{
		appendStringInfoChar(&s, hex[((unsigned char) data[i]) >> 4]);
		appendStringInfoChar(&s, hex[((unsigned char) data[i]) & 0x0f]);
	}
	escape_json(out, s.data);
	pfree(s.data);
}

/* Text if it is valid in the database encoding (so has no NUL), else hex. */
static void
wire_json_text_or_hex(StringInfo out, WireSlice s)
{
	if (pg_verify_mbstr(GetDatabaseEncoding(), s.data, (int) s.len, true))
	{
		char	   *str = pnstrdup(s.data, s.len);

		escape_json(out, str);
		pfree(str);
	}
	else
		wire_json_hex(out, s.data, s.len);
}

/* A binary value of a known type: recv, then out, then pick a JSON form. */
static void
wire_json_binary_value(StringInfo out, Oid typid, int32 typmod, WireSlice s)
{
	Oid			typreceive;
	Oid			typioparam;
	Oid			typoutput;
	bool		typisvarlena;
	StringInfoData buf;
	Datum		value;
	char	   *text;

	getTypeBinaryInputInfo(typid, &typreceive, &typioparam);

	/* Receive functions expect a NUL after the data, as in record_recv. */
	buf.data = palloc(s.len + 1);
	memcpy(buf.data, s.data, s.len);
	buf.data[s.len] = '\0';
	buf.len = (int) s.len;
	buf.maxlen = (int) s.len + 1;
	buf.cursor = 0;
	value = OidReceiveFunctionCall(typreceive, &buf, typioparam, typmod);
	if (buf.cursor != buf.len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("incorrect binary data format in edge_crdt change set"),
				 errdetail("The receive function left %d of %d bytes unread.",
						   buf.len - buf.cursor, buf.len)));

	getTypeOutputInfo(typid, &typoutput, &typisvarlena);
	text = OidOutputFunctionCall(typoutput, value);

	switch (getBaseType(typid))
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
		case FLOAT4OID:
		case FLOAT8OID:
			/* NaN and the infinities have no JSON number. */
			if (strcmp(text, "NaN") == 0 || strcmp(text, "Infinity") == 0 ||
				strcmp(text, "-Infinity") == 0)
				escape_json(out, text);
			else
				appendStringInfoString(out, text);
			break;
		case BOOLOID:
			appendStringInfoString(out, strcmp(text, "t") == 0 ? "true" : "false");
			break;
		case JSONOID:
		case JSONBOID:
			appendStringInfoString(out, text);
			break;
		default:
			escape_json(out, text);
			break;
	}
	pfree(text);
	pfree(buf.data);
}

/* The receiving database's type for a wire type name, or InvalidOid. */
static Oid
wire_json_lookup_type(const char *type_name, int32 *typmod)
{
	Oid			typid;

#if PG_VERSION_NUM >= 160000
	ErrorSaveContext escontext = {T_ErrorSaveContext};

	if (!parseTypeString(type_name, &typid, typmod, (Node *) &escontext))
		return InvalidOid;
#else
	parseTypeString(type_name, &typid, typmod, true);
#endif
	return typid;
}

static void
wire_json_value(StringInfo out, const WireColumn *c, const char *type_name)
{
	Oid			typid;
	int32		typmod;

	switch (c->kind)
	{
		case WIRE_NULL:
			appendStringInfoString(out, "null");
			break;
		case WIRE_UNCHANGED:
			appendStringInfoString(out, "{\"unchanged\":true}");
			break;
		case WIRE_TEXT:
			wire_json_text_or_hex(out, c->value);
			break;
		case WIRE_BINARY:
			typid = wire_json_lookup_type(type_name, &typmod);
			if (OidIsValid(typid))
				wire_json_binary_value(out, typid, typmod, c->value);
			else
				wire_json_hex(out, c->value.data, c->value.len);
			break;
	}
}

static void
wire_json_columns(StringInfo out, const char *key, const char *relation,
				  const WireMessage *msg)
{
	WireJsonContext ctx;
	ErrorContextCallback errcallback;

	wire_json_key(out, key);
	appendStringInfoChar(out, '[');

	ctx.relation = relation;
	errcallback.callback = wire_json_error_callback;
	errcallback.arg = &ctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	for (uint16 i = 0; i < msg->ncolumns; i++)
	{
		const WireColumn *c = &msg->columns[i];

		ctx.column = wire_json_name(c->name, "column name");
		ctx.type_name = wire_json_name(c->type_name, "column type name");
		if (i > 0)
			appendStringInfoChar(out, ',');
		appendStringInfoChar(out, '{');
		wire_json_key(out, "name");
		escape_json(out, ctx.column);
		appendStringInfoChar(out, ',');
		wire_json_key(out, "type");
		escape_json(out, ctx.type_name);
		appendStringInfo(out, ",\"hlc\":" INT64_FORMAT ",\"node\":%d,",
						 (int64) c->version.hlc, (int) c->version.node);
		wire_json_key(out, "value");
		wire_json_value(out, c, ctx.type_name);
		appendStringInfoChar(out, '}');
	}

	error_context_stack = errcallback.previous;
	appendStringInfoChar(out, ']');
}

static char *
wire_json_relation(const WireMessage *msg)
{
	return quote_qualified_identifier(wire_json_name(msg->nspname,
													 "schema name"),
									  wire_json_name(msg->relname,
													 "relation name"));
}

static void
wire_json_message(StringInfo out, const WireMessage *msg)
{
	char	   *relation;

	appendStringInfoChar(out, '{');
	wire_json_key(out, "type");
	escape_json(out, wire_msg_type_name(msg->type));
	appendStringInfoChar(out, ',');

	switch (msg->type)
	{
		case WIRE_BEGIN:
			wire_json_lsn(out, "final_lsn", msg->lsn);
			appendStringInfoChar(out, ',');
			wire_json_time(out, "commit_time", msg->commit_time);
			appendStringInfo(out, ",\"xid\":%u,\"origin_node\":%d",
							 (unsigned) msg->xid, (int) msg->origin_node);
			break;
		case WIRE_COMMIT:
			wire_json_lsn(out, "commit_lsn", msg->lsn);
			appendStringInfoChar(out, ',');
			wire_json_lsn(out, "end_lsn", msg->end_lsn);
			appendStringInfoChar(out, ',');
			wire_json_time(out, "commit_time", msg->commit_time);
			break;
		case WIRE_ROW:
			relation = wire_json_relation(msg);
			wire_json_key(out, "relation");
			escape_json(out, relation);
			appendStringInfo(out, ",\"cl\":" INT64_FORMAT ",",
							 (int64) msg->cl);
			wire_json_columns(out, "columns", relation, msg);
			break;
		case WIRE_DELETE:
			relation = wire_json_relation(msg);
			wire_json_key(out, "relation");
			escape_json(out, relation);
			appendStringInfo(out,
							 ",\"cl\":" INT64_FORMAT ",\"hlc\":" INT64_FORMAT ",\"node\":%d,",
							 (int64) msg->cl, (int64) msg->version.hlc,
							 (int) msg->version.node);
			wire_json_columns(out, "key", relation, msg);
			break;
		case WIRE_MESSAGE:
			appendStringInfo(out, "\"transactional\":%s,",
							 msg->transactional ? "true" : "false");
			wire_json_key(out, "prefix");
			escape_json(out, wire_json_name(msg->prefix, "message prefix"));
			appendStringInfoChar(out, ',');
			wire_json_key(out, "content");
			wire_json_text_or_hex(out, msg->content);
			break;
	}
	appendStringInfoChar(out, '}');
}

PG_FUNCTION_INFO_V1(changeset_to_json);
Datum
changeset_to_json(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	WireMessage msg;
	CrdtError	err;
	StringInfoData out;

	if (wire_decode(VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data), &msg,
					crdt_palloc, &err) != CRDT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid edge_crdt change set"),
				 errdetail("%s.", err.message)));

	initStringInfo(&out);
	wire_json_message(&out, &msg);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
