/*-------------------------------------------------------------------------
 * relinfo.h
 *	  Per-backend cache of what edge_crdt needs to know about a replicated
 *	  table: where its metadata column is, its primary key, and which
 *	  columns are CRDTs with which merge and partial-order functions.
 *
 * Shared by the capture trigger and the apply, so both see a table the same
 * way.  Entries are rebuilt after any relcache invalidation of the table.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/relinfo.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_RELINFO_H
#define EDGE_CRDT_RELINFO_H

#include "fmgr.h"
#include "utils/relcache.h"

typedef struct ReplColumn
{
	bool		live;			/* not dropped and not the metadata column */
	bool		is_crdt;
	FmgrInfo	merge_finfo;	/* CRDT columns only */
	FmgrInfo	leq_finfo;
	char	   *inflation_hint; /* registry hint, "{column}" unexpanded */
} ReplColumn;

typedef struct ReplRelInfo
{
	Oid			relid;
	bool		valid;
	bool		replicated;		/* has the metadata column */
	AttrNumber	meta_attnum;
	int			natts;			/* tuple descriptor length */
	int			npk;
	AttrNumber *pk_attnums;
	FmgrInfo   *pk_out_finfo;	/* send function, or output if pk_binary false */
	bool	   *pk_binary;
	ReplColumn *columns;		/* indexed by attnum - 1 */
} ReplRelInfo;

/* The cached description of rel; info->replicated says if it is one. */
extern ReplRelInfo *ReplRelInfoGet(Relation rel);

/* Name of the trigger replicate_table installs; it marks a replicated table. */
#define CAPTURE_TRIGGER_NAME	"zz_edge_crdt_capture"

/*
 * Attnum of the metadata column of a replicated table, or InvalidAttrNumber
 * when rel is not replicated.  Needs only the relcache, so the output plugin
 * can use it under the historic snapshot.
 */
extern AttrNumber ReplicatedMetaAttnum(Relation rel);

/*
 * How values of a type travel: its send function when it has one (returns
 * true), else its output function.  finfo is set up in cxt.
 */
extern bool ReplValueOutput(Oid typid, FmgrInfo *finfo, MemoryContext cxt);

/* Oid of the edge_crdt.rowmeta type, or InvalidOid outside the extension. */
extern Oid	RowMetaTypeOid(void);

#endif							/* EDGE_CRDT_RELINFO_H */
