/*-------------------------------------------------------------------------
 * crdt_fmgr.h
 *	  Server-side glue shared by the CRDT types' fmgr wrappers.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/crdt_fmgr.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_CRDT_FMGR_H
#define EDGE_CRDT_CRDT_FMGR_H

#include "edge_crdt/crdt_core.h"

/* Where a core failure came from; picks the message and SQLSTATE. */
typedef enum CrdtErrorSource
{
	CRDT_SOURCE_TEXT,			/* type input function */
	CRDT_SOURCE_BINARY,			/* type receive function */
	CRDT_SOURCE_OPERATION		/* operator, merge or cast */
} CrdtErrorSource;

/* ereport(ERROR) for a failed core call; never returns. */
extern void crdt_report_error(const CrdtError *err, const char *typname,
							  CrdtErrorSource source) pg_attribute_noreturn();

/* palloc with the CrdtAllocFn signature (palloc takes Size, not size_t). */
extern void *crdt_palloc(size_t size);

#endif							/* EDGE_CRDT_CRDT_FMGR_H */
