/*-------------------------------------------------------------------------
 * orset.c
 *	  Add-wins observed-remove set of text: fmgr wrappers around
 *	  orset_core.c.
 *
 * Everything that knows the lattice lives in the core; this file unpacks
 * arguments, supplies the local node id and palloc, stamps the varlena
 * size, converts element bytes between client and server encoding in
 * send/recv, and maps core failures onto ereport.
 *
 * IDENTIFICATION
 *	  src/types/orset.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/node.h"
#include "edge_crdt/orset.h"

#define DatumGetOrSetP(d)		((OrSet *) PG_DETOAST_DATUM(d))
#define PG_GETARG_ORSET_P(n)	DatumGetOrSetP(PG_GETARG_DATUM(n))

static const char *const orset_typname = "orset";

/* Core results come without a varlena header: stamp it. */
static Datum
orset_datum(OrSet *s)
{
	SET_VARSIZE(s, orset_total_size(s));
	return PointerGetDatum(s);
}

static OrSetStr
orset_text_arg(text *t)
{
	OrSetStr	r;

	r.data = VARDATA_ANY(t);
	r.len = (uint32) VARSIZE_ANY_EXHDR(t);
	return r;
}

/* The elements of a text[] argument; a null element is an error. */
static OrSetStr *
orset_array_arg(ArrayType *arr, uint32 *n)
{
	Datum	   *datums;
	bool	   *nulls;
	int			count;
	OrSetStr   *elems;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &datums, &nulls, &count);
	elems = palloc(sizeof(OrSetStr) * Max(count, 1));
	for (int i = 0; i < count; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("orset elements cannot be null"),
					 errdetail("Array element %d is null.", i + 1)));
		elems[i] = orset_text_arg(DatumGetTextPP(datums[i]));
	}
	*n = (uint32) count;
	return elems;
}

/*
 * s plus the given elements, each with a fresh dot of the local node.
 * Adding nothing changes nothing, so it needs no node: an empty array
 * becomes the empty set even before create_node().
 */
static OrSet *
orset_add_local(const OrSet *s, const OrSetStr *elems, uint32 n)
{
	OrSet	   *result;
	CrdtError	err;

	if (n == 0)
	{
		result = palloc(orset_total_size(s));
		memcpy(result, s, orset_total_size(s));
		return result;
	}
	if (orset_add(s, EdgeCrdtLocalNodeId(false), elems, n, &result,
				  crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_OPERATION);
	return result;
}

static OrSet *
orset_remove_elements(const OrSet *s, const OrSetStr *elems, uint32 n)
{
	OrSet	   *result;
	CrdtError	err;

	if (orset_remove(s, elems, n, &result, crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_OPERATION);
	return result;
}

PG_FUNCTION_INFO_V1(orset_in);
Datum
orset_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	OrSet	   *s;
	CrdtError	err;

	if (orset_parse(str, &s, crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_TEXT);
	return orset_datum(s);
}

/*
 * Element bytes travel in the client encoding, as textrecv/textsend do.
 * Conversion can change the byte order of elements, so a converted state is
 * re-sorted into canonical order.
 */
PG_FUNCTION_INFO_V1(orset_recv);
Datum
orset_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	OrSet	   *s;
	OrSetStr   *conv = NULL;
	CrdtError	err;

	if (orset_decode(buf->data + buf->cursor, buf->len - buf->cursor, &s,
					 crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_BINARY);
	buf->cursor = buf->len;

	for (uint32 i = 0; i < s->nelems; i++)
	{
		OrSetStr	e = orset_element(s, i);
		char	   *p;

		/* Validates the bytes even when no conversion is needed. */
		p = pg_client_to_server(e.data, (int) e.len);
		if (p != e.data && conv == NULL)
		{
			conv = palloc(sizeof(OrSetStr) * s->nelems);
			for (uint32 k = 0; k < i; k++)
				conv[k] = orset_element(s, k);
		}
		if (conv != NULL)
		{
			conv[i].data = p;
			conv[i].len = (uint32) (p != e.data ? strlen(p) : e.len);
		}
	}
	if (conv != NULL &&
		orset_replace_elements(s, conv, &s, crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_BINARY);
	return orset_datum(s);
}

PG_FUNCTION_INFO_V1(orset_add_text);
Datum
orset_add_text(PG_FUNCTION_ARGS)
{
	OrSetStr	e = orset_text_arg(PG_GETARG_TEXT_PP(1));

	return orset_datum(orset_add_local(PG_GETARG_ORSET_P(0), &e, 1));
}

PG_FUNCTION_INFO_V1(orset_add_array);
Datum
orset_add_array(PG_FUNCTION_ARGS)
{
	uint32		n;
	OrSetStr   *elems = orset_array_arg(PG_GETARG_ARRAYTYPE_P(1), &n);

	return orset_datum(orset_add_local(PG_GETARG_ORSET_P(0), elems, n));
}

PG_FUNCTION_INFO_V1(orset_remove_text);
Datum
orset_remove_text(PG_FUNCTION_ARGS)
{
	OrSetStr	e = orset_text_arg(PG_GETARG_TEXT_PP(1));

	return orset_datum(orset_remove_elements(PG_GETARG_ORSET_P(0), &e, 1));
}

PG_FUNCTION_INFO_V1(orset_remove_array);
Datum
orset_remove_array(PG_FUNCTION_ARGS)
{
	uint32		n;
	OrSetStr   *elems = orset_array_arg(PG_GETARG_ARRAYTYPE_P(1), &n);

	return orset_datum(orset_remove_elements(PG_GETARG_ORSET_P(0), elems, n));
}

PG_FUNCTION_INFO_V1(orset_contains_sql);
Datum
orset_contains_sql(PG_FUNCTION_ARGS)
{
	OrSet	   *s = PG_GETARG_ORSET_P(0);
	OrSetStr	e = orset_text_arg(PG_GETARG_TEXT_PP(1));

	PG_RETURN_BOOL(orset_contains(s, e.data, e.len));
}

/* The count is in the header: fetch only that slice of a toasted value. */
PG_FUNCTION_INFO_V1(orset_cardinality);
Datum
orset_cardinality(PG_FUNCTION_ARGS)
{
	OrSet	   *head;

	head = (OrSet *) PG_DETOAST_DATUM_SLICE(PG_GETARG_DATUM(0), 0,
											sizeof(OrSet) - VARHDRSZ);
	PG_RETURN_INT32((int32) head->nelems);
}

PG_FUNCTION_INFO_V1(orset_merge_sql);
Datum
orset_merge_sql(PG_FUNCTION_ARGS)
{
	OrSet	   *result;
	CrdtError	err;

	if (orset_merge(PG_GETARG_ORSET_P(0), PG_GETARG_ORSET_P(1), &result,
					crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_OPERATION);
	return orset_datum(result);
}

PG_FUNCTION_INFO_V1(orset_leq_sql);
Datum
orset_leq_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(orset_leq(PG_GETARG_ORSET_P(0), PG_GETARG_ORSET_P(1)));
}

/* The elements in canonical (byte) order, one row each. */
PG_FUNCTION_INFO_V1(orset_elements);
Datum
orset_elements(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	OrSet	   *s;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext oldcontext;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcontext = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		/* Detoast once, into memory that lives across calls. */
		funcctx->user_fctx = PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0));
		MemoryContextSwitchTo(oldcontext);
	}
	funcctx = SRF_PERCALL_SETUP();
	s = (OrSet *) funcctx->user_fctx;
	if (funcctx->call_cntr < s->nelems)
	{
		OrSetStr	e = orset_element(s, (uint32) funcctx->call_cntr);

		SRF_RETURN_NEXT(funcctx,
						PointerGetDatum(cstring_to_text_with_len(e.data,
																 (int) e.len)));
	}
	SRF_RETURN_DONE(funcctx);
}

PG_FUNCTION_INFO_V1(orset_out);
Datum
orset_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(orset_print(PG_GETARG_ORSET_P(0), crdt_palloc));
}

PG_FUNCTION_INFO_V1(orset_send);
Datum
orset_send(PG_FUNCTION_ARGS)
{
	OrSet	   *s = PG_GETARG_ORSET_P(0);
	OrSetStr   *conv = NULL;
	CrdtBuf		buf;
	CrdtError	err;

	for (uint32 i = 0; i < s->nelems; i++)
	{
		OrSetStr	e = orset_element(s, i);
		char	   *p = pg_server_to_client(e.data, (int) e.len);

		if (p != e.data && conv == NULL)
		{
			conv = palloc(sizeof(OrSetStr) * s->nelems);
			for (uint32 k = 0; k < i; k++)
				conv[k] = orset_element(s, k);
		}
		if (conv != NULL)
		{
			conv[i].data = p;
			conv[i].len = (uint32) (p != e.data ? strlen(p) : e.len);
		}
	}
	if (conv != NULL &&
		orset_replace_elements(s, conv, &s, crdt_palloc, &err) != CRDT_OK)
		crdt_report_error(&err, orset_typname, CRDT_SOURCE_OPERATION);

	/* Encode straight after a reserved varlena header: no extra copy. */
	crdt_buf_init(&buf, crdt_palloc,
				  VARHDRSZ + 9 + (size_t) s->strbytes +
				  (size_t) s->nelems * 8 + (size_t) (s->ndots + s->nvv) * 12);
	buf.len = VARHDRSZ;
	orset_encode(s, &buf);
	SET_VARSIZE(buf.data, buf.len);
	PG_RETURN_BYTEA_P((bytea *) buf.data);
}

/*
 * Assignment cast from text[]: the elements, each added by the local node.
 * "INSERT ... VALUES ('{}')" must work before create_node(), so the empty
 * array needs no node id.
 */
PG_FUNCTION_INFO_V1(orset_from_array);
Datum
orset_from_array(PG_FUNCTION_ARGS)
{
	uint32		n;
	OrSetStr   *elems = orset_array_arg(PG_GETARG_ARRAYTYPE_P(0), &n);

	return orset_datum(orset_add_local(orset_empty(crdt_palloc), elems, n));
}

/* Explicit cast to text[]: the elements in canonical (byte) order. */
PG_FUNCTION_INFO_V1(orset_to_array);
Datum
orset_to_array(PG_FUNCTION_ARGS)
{
	OrSet	   *s = PG_GETARG_ORSET_P(0);
	Datum	   *datums = palloc(sizeof(Datum) * Max(s->nelems, 1));

	for (uint32 i = 0; i < s->nelems; i++)
	{
		OrSetStr	e = orset_element(s, i);

		datums[i] = PointerGetDatum(cstring_to_text_with_len(e.data,
															 (int) e.len));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(datums, (int) s->nelems, TEXTOID,
										  -1, false, TYPALIGN_INT));
}
