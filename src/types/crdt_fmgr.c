/*-------------------------------------------------------------------------
 * crdt_fmgr.c
 *	  Maps CRDT core failures onto ereport: one place decides the SQLSTATE
 *	  and wording for every type.
 *
 * IDENTIFICATION
 *	  src/types/crdt_fmgr.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"

#include "edge_crdt/crdt_fmgr.h"

void *
crdt_palloc(size_t size)
{
	return palloc(size);
}

void
crdt_report_error(const CrdtError *err, const char *typname,
				  CrdtErrorSource source)
{
	int			code;

	switch (err->status)
	{
		case CRDT_ERR_OUT_OF_RANGE:
			code = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			break;
		case CRDT_ERR_TOO_LARGE:
			code = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
			break;
		case CRDT_ERR_CORRUPT:
			code = ERRCODE_INVALID_BINARY_REPRESENTATION;
			break;
		case CRDT_ERR_SYNTAX:
			code = ERRCODE_INVALID_TEXT_REPRESENTATION;
			break;
		case CRDT_ERR_INVALID:
		default:
			code = (source == CRDT_SOURCE_BINARY) ?
				ERRCODE_INVALID_BINARY_REPRESENTATION :
				(source == CRDT_SOURCE_TEXT) ?
				ERRCODE_INVALID_TEXT_REPRESENTATION :
				ERRCODE_INVALID_PARAMETER_VALUE;
			break;
	}

	switch (source)
	{
		case CRDT_SOURCE_TEXT:
			ereport(ERROR,
					(errcode(code),
					 errmsg("invalid input syntax for type %s", typname),
					 errdetail("%s.", err->message)));
			break;
		case CRDT_SOURCE_BINARY:
			ereport(ERROR,
					(errcode(code),
					 errmsg("invalid external binary data for type %s", typname),
					 errdetail("%s.", err->message)));
			break;
		case CRDT_SOURCE_OPERATION:
			ereport(ERROR,
					(errcode(code),
					 errmsg("%s", err->message)));
			break;
	}
	pg_unreachable();
}

/*
 * Equality and hashing shared by every CRDT type: their datums are
 * canonical (equal states have equal bytes, padding included), so the
 * payload bytes decide, and the packed form can be used as it is.
 */
static bool
crdt_bytes_equal(FunctionCallInfo fcinfo)
{
	struct varlena *a = PG_GETARG_VARLENA_PP(0);
	struct varlena *b = PG_GETARG_VARLENA_PP(1);
	bool		eq;

	eq = VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
	PG_FREE_IF_COPY(a, 0);
	PG_FREE_IF_COPY(b, 1);
	return eq;
}

PG_FUNCTION_INFO_V1(crdt_bytes_eq);
Datum
crdt_bytes_eq(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(crdt_bytes_equal(fcinfo));
}

PG_FUNCTION_INFO_V1(crdt_bytes_ne);
Datum
crdt_bytes_ne(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(!crdt_bytes_equal(fcinfo));
}

PG_FUNCTION_INFO_V1(crdt_bytes_hash);
Datum
crdt_bytes_hash(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	Datum		h;

	h = hash_any((const unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_DATUM(h);
}

PG_FUNCTION_INFO_V1(crdt_bytes_hash_extended);
Datum
crdt_bytes_hash_extended(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	Datum		h;

	h = hash_any_extended((const unsigned char *) VARDATA_ANY(v),
						  VARSIZE_ANY_EXHDR(v), PG_GETARG_INT64(1));
	PG_FREE_IF_COPY(v, 0);
	PG_RETURN_DATUM(h);
}
