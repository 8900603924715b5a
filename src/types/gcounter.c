/*-------------------------------------------------------------------------
 * gcounter.c
 *	  Grow-only counter: fmgr wrappers around gcounter_core.c.
 *
 * Everything that knows the lattice lives in the core; this file unpacks
 * arguments, supplies the local node id and palloc, stamps the varlena
 * size and maps core failures onto ereport.  It also holds the byte-wise
 * equality and hash functions that both counter types bind to.
 *
 * IDENTIFICATION
 *	  src/types/gcounter.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/gcounter.h"
#include "edge_crdt/node.h"

#define DatumGetGCounterP(d)	((GCounter *) PG_DETOAST_DATUM(d))
#define PG_GETARG_GCOUNTER_P(n) DatumGetGCounterP(PG_GETARG_DATUM(n))

static const char *const gcounter_typname = "gcounter";

/* Core results come without a varlena header: stamp it. */
static Datum
gcounter_datum(GCounter *c)
{
	SET_VARSIZE(c, GCOUNTER_SIZE(c->nentries));
	return PointerGetDatum(c);
}

static void
gcounter_reject_negative(int64 amount)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("negative amount " INT64_FORMAT " for a gcounter", amount),
			 errdetail("A grow-only counter can only be incremented."),
			 errhint("Use edge_crdt.pncounter for a counter that can also be decremented.")));
}

/* c + amount on the local node's entry; amount >= 0. */
static GCounter *
gcounter_add_local(const GCounter *c, int64 amount)
{
	GCounter   *result;
	CrdtError	err;

	if (amount < 0)
		gcounter_reject_negative(amount);
	/* Adding 0 changes nothing, so it needs no node (e.g. DEFAULT 0). */
	if (amount == 0)
	{
		result = palloc(GCOUNTER_SIZE(c->nentries));
		memcpy(result, c, GCOUNTER_SIZE(c->nentries));
		return result;
	}
	if (gcounter_add(c, EdgeCrdtLocalNodeId(false), amount, crdt_palloc,
					 &result, &err) != CRDT_OK)
		crdt_report_error(&err, gcounter_typname, CRDT_SOURCE_OPERATION);
	return result;
}

PG_FUNCTION_INFO_V1(gcounter_in);
Datum
gcounter_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	GCounter   *c;
	CrdtError	err;

	if (gcounter_parse(text, crdt_palloc, &c, &err) != CRDT_OK)
		crdt_report_error(&err, gcounter_typname, CRDT_SOURCE_TEXT);
	return gcounter_datum(c);
}

PG_FUNCTION_INFO_V1(gcounter_recv);
Datum
gcounter_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	GCounter   *c;
	CrdtError	err;

	if (gcounter_decode(buf->data + buf->cursor, buf->len - buf->cursor,
						crdt_palloc, &c, &err) != CRDT_OK)
		crdt_report_error(&err, gcounter_typname, CRDT_SOURCE_BINARY);
	buf->cursor = buf->len;
	return gcounter_datum(c);
}

PG_FUNCTION_INFO_V1(gcounter_add_sql);
Datum
gcounter_add_sql(PG_FUNCTION_ARGS)
{
	return gcounter_datum(gcounter_add_local(PG_GETARG_GCOUNTER_P(0),
											 PG_GETARG_INT64(1)));
}

/*
 * Assignment casts from integers: "INSERT ... VALUES (0)" must work before
 * create_node(), so a zero is the empty counter and needs no node id.
 */
PG_FUNCTION_INFO_V1(gcounter_from_int8);
Datum
gcounter_from_int8(PG_FUNCTION_ARGS)
{
	return gcounter_datum(gcounter_add_local(gcounter_empty(crdt_palloc),
											 PG_GETARG_INT64(0)));
}

PG_FUNCTION_INFO_V1(gcounter_from_int4);
Datum
gcounter_from_int4(PG_FUNCTION_ARGS)
{
	return gcounter_datum(gcounter_add_local(gcounter_empty(crdt_palloc),
											 (int64) PG_GETARG_INT32(0)));
}

PG_FUNCTION_INFO_V1(gcounter_merge_sql);
Datum
gcounter_merge_sql(PG_FUNCTION_ARGS)
{
	GCounter   *result;
	CrdtError	err;

	if (gcounter_merge(PG_GETARG_GCOUNTER_P(0), PG_GETARG_GCOUNTER_P(1),
					   crdt_palloc, &result, &err) != CRDT_OK)
		crdt_report_error(&err, gcounter_typname, CRDT_SOURCE_OPERATION);
	return gcounter_datum(result);
}

PG_FUNCTION_INFO_V1(gcounter_leq_sql);
Datum
gcounter_leq_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(gcounter_leq(PG_GETARG_GCOUNTER_P(0),
								PG_GETARG_GCOUNTER_P(1)));
}

PG_FUNCTION_INFO_V1(gcounter_out);
Datum
gcounter_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(gcounter_print(PG_GETARG_GCOUNTER_P(0), crdt_palloc));
}

PG_FUNCTION_INFO_V1(gcounter_send);
Datum
gcounter_send(PG_FUNCTION_ARGS)
{
	GCounter   *c = PG_GETARG_GCOUNTER_P(0);
	CrdtBuf		buf;

	/* Encode straight after a reserved varlena header: no extra copy. */
	crdt_buf_init(&buf, crdt_palloc, VARHDRSZ + 5 + c->nentries * 12);
	buf.len = VARHDRSZ;
	gcounter_encode(c, &buf);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

PG_FUNCTION_INFO_V1(gcounter_value_sql);
Datum
gcounter_value_sql(PG_FUNCTION_ARGS)
{
	int64_t		value;
	CrdtError	err;

	if (gcounter_value(PG_GETARG_GCOUNTER_P(0), &value, &err) != CRDT_OK)
		crdt_report_error(&err, gcounter_typname, CRDT_SOURCE_OPERATION);
	PG_RETURN_INT64(value);
}

