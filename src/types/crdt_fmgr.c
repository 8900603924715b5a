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
