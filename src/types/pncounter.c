/*-------------------------------------------------------------------------
 * pncounter.c
 *	  Increment/decrement counter: fmgr wrappers around pncounter_core.c.
 *
 * Equality and hashing are the byte-wise functions of gcounter.c (bound in
 * the install script), since both datums are canonical.
 *
 * IDENTIFICATION
 *	  src/types/pncounter.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "libpq/pqformat.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/node.h"
#include "edge_crdt/pncounter.h"

#define DatumGetPNCounterP(d)	((PNCounter *) PG_DETOAST_DATUM(d))
#define PG_GETARG_PNCOUNTER_P(n) DatumGetPNCounterP(PG_GETARG_DATUM(n))

static const char *const pncounter_typname = "pncounter";

/* Core results come without a varlena header: stamp it. */
static Datum
pncounter_datum(PNCounter *c)
{
	SET_VARSIZE(c, PNCOUNTER_SIZE(c->npos, c->nneg));
	return PointerGetDatum(c);
}

/* c + amount (or c - amount) on the local node's entries. */
static PNCounter *
pncounter_update_local(const PNCounter *c, int64 amount, bool subtract)
{
	PNCounter  *result;
	CrdtError	err;
	CrdtStatus	status;

	/* Adding 0 changes nothing, so it needs no node (e.g. DEFAULT 0). */
	if (amount == 0)
	{
		result = palloc(PNCOUNTER_SIZE(c->npos, c->nneg));
		memcpy(result, c, PNCOUNTER_SIZE(c->npos, c->nneg));
		return result;
	}
	if (subtract)
		status = pncounter_sub(c, EdgeCrdtLocalNodeId(false), amount,
							   crdt_palloc, &result, &err);
	else
		status = pncounter_add(c, EdgeCrdtLocalNodeId(false), amount,
							   crdt_palloc, &result, &err);
	if (status != CRDT_OK)
		crdt_report_error(&err, pncounter_typname, CRDT_SOURCE_OPERATION);
	return result;
}

PG_FUNCTION_INFO_V1(pncounter_in);
Datum
pncounter_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	PNCounter  *c;
	CrdtError	err;

	if (pncounter_parse(text, crdt_palloc, &c, &err) != CRDT_OK)
		crdt_report_error(&err, pncounter_typname, CRDT_SOURCE_TEXT);
	return pncounter_datum(c);
}

PG_FUNCTION_INFO_V1(pncounter_recv);
Datum
pncounter_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	PNCounter  *c;
	CrdtError	err;

	if (pncounter_decode(buf->data + buf->cursor, buf->len - buf->cursor,
						 crdt_palloc, &c, &err) != CRDT_OK)
		crdt_report_error(&err, pncounter_typname, CRDT_SOURCE_BINARY);
	buf->cursor = buf->len;
	return pncounter_datum(c);
}

PG_FUNCTION_INFO_V1(pncounter_add_sql);
Datum
pncounter_add_sql(PG_FUNCTION_ARGS)
{
	return pncounter_datum(pncounter_update_local(PG_GETARG_PNCOUNTER_P(0),
												  PG_GETARG_INT64(1), false));
}

PG_FUNCTION_INFO_V1(pncounter_sub_sql);
Datum
pncounter_sub_sql(PG_FUNCTION_ARGS)
{
	return pncounter_datum(pncounter_update_local(PG_GETARG_PNCOUNTER_P(0),
												  PG_GETARG_INT64(1), true));
}

/*
 * Assignment casts from integers.  A negative start value is a decrement of
 * the local node; zero is the empty counter and needs no node id.
 */
PG_FUNCTION_INFO_V1(pncounter_from_int8);
Datum
pncounter_from_int8(PG_FUNCTION_ARGS)
{
	return pncounter_datum(pncounter_update_local(pncounter_empty(crdt_palloc),
												  PG_GETARG_INT64(0), false));
}

PG_FUNCTION_INFO_V1(pncounter_from_int4);
Datum
pncounter_from_int4(PG_FUNCTION_ARGS)
{
	return pncounter_datum(pncounter_update_local(pncounter_empty(crdt_palloc),
												  (int64) PG_GETARG_INT32(0),
												  false));
}

PG_FUNCTION_INFO_V1(pncounter_merge_sql);
Datum
pncounter_merge_sql(PG_FUNCTION_ARGS)
{
	PNCounter  *result;
	CrdtError	err;

	if (pncounter_merge(PG_GETARG_PNCOUNTER_P(0), PG_GETARG_PNCOUNTER_P(1),
						crdt_palloc, &result, &err) != CRDT_OK)
		crdt_report_error(&err, pncounter_typname, CRDT_SOURCE_OPERATION);
	return pncounter_datum(result);
}

PG_FUNCTION_INFO_V1(pncounter_leq_sql);
Datum
pncounter_leq_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(pncounter_leq(PG_GETARG_PNCOUNTER_P(0),
								 PG_GETARG_PNCOUNTER_P(1)));
}

PG_FUNCTION_INFO_V1(pncounter_out);
Datum
pncounter_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(pncounter_print(PG_GETARG_PNCOUNTER_P(0), crdt_palloc));
}

PG_FUNCTION_INFO_V1(pncounter_send);
Datum
pncounter_send(PG_FUNCTION_ARGS)
{
	PNCounter  *c = PG_GETARG_PNCOUNTER_P(0);
	CrdtBuf		buf;

	/* Encode straight after a reserved varlena header: no extra copy. */
	crdt_buf_init(&buf, crdt_palloc,
				  VARHDRSZ + 9 + (c->npos + c->nneg) * 12);
	buf.len = VARHDRSZ;
	pncounter_encode(c, &buf);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

PG_FUNCTION_INFO_V1(pncounter_value_sql);
Datum
pncounter_value_sql(PG_FUNCTION_ARGS)
{
	int64_t		value;
	CrdtError	err;

	if (pncounter_value(PG_GETARG_PNCOUNTER_P(0), &value, &err) != CRDT_OK)
		crdt_report_error(&err, pncounter_typname, CRDT_SOURCE_OPERATION);
	PG_RETURN_INT64(value);
}
