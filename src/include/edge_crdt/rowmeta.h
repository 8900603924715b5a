/*-------------------------------------------------------------------------
 * rowmeta.h
 *	  The replication metadata stored in every row of a replicated table
 *	  (column "_edge_crdt", type edge_crdt.rowmeta).
 *
 * A row's replicated state (DESIGN.md section 2) is its causal length "cl"
 * (odd = alive) and one version (hlc, node) per column.  Most rows carry
 * only a handful of distinct versions (an INSERT stamps every column with
 * one), so the datum stores the distinct versions once and a small index
 * per column:
 *
 *	  int32   varlena header
 *	  int64   cl
 *	  uint16  nversions
 *	  uint16  nattrs          (columns covered: attnums 1..nattrs)
 *	  nversions x { int64 hlc, int32 node }   (12 bytes each, packed)
 *	  nattrs    x uint16 index into the versions (ROWMETA_NO_VERSION: none)
 *
 * Columns are keyed by attnum: stable for the life of a table on one node
 * (dropped columns keep their number).  The wire format matches columns by
 * name, so attnums never leave the node.  A column with no version (added
 * after the row was written, or never written) compares below every real
 * version.  Fields are read with memcpy, so the datum needs no alignment.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/rowmeta.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_ROWMETA_H
#define EDGE_CRDT_ROWMETA_H

#include "edge_crdt/crdt_core.h"

#define ROWMETA_NAME		"_edge_crdt"
#define ROWMETA_NO_VERSION	((uint16) 0xFFFF)
#define ROWMETA_HEADER_SIZE (VARHDRSZ + 8 + 2 + 2)
#define ROWMETA_VERSION_SIZE 12

typedef struct varlena RowMeta;

/* Build from one version per attnum 1..nattrs (hlc 0 = no version). */
extern RowMeta *rowmeta_build(int64 cl, int nattrs, const CrdtVersion *versions);

extern int64 rowmeta_cl(const RowMeta *meta);
extern int	rowmeta_nattrs(const RowMeta *meta);

/* Version of one column; (0, 0) when the row has none for it. */
extern CrdtVersion rowmeta_version(const RowMeta *meta, int attnum);

/* Fill versions[0..nattrs-1] for attnums 1..nattrs. */
extern void rowmeta_expand(const RowMeta *meta, int nattrs, CrdtVersion *versions);

#define DatumGetRowMeta(d)	((RowMeta *) PG_DETOAST_DATUM(d))

#endif							/* EDGE_CRDT_ROWMETA_H */
