/*-------------------------------------------------------------------------
 * rowmeta.c
 *	  The edge_crdt.rowmeta type: causal length and per-column versions of
 *	  a replicated row.  Layout in rowmeta.h.
 *
 * Text form, canonical (the versions in attnum order):
 *
 *	  cl;attnum=hlc@node,attnum=hlc@node,...
 *
 * e.g. "1;1=111562359190339584@1000,2=111562359190339584@1000".  Columns
 * without a version are omitted.  Input accepts any attnum order and builds
 * the same bytes as the capture trigger would.
 *
 * Binary form (binary COPY: the bulk initial copy moves every row's
 * metadata this way, so it must be cheap to read), big-endian:
 *
 *	  uint8   format version (1)
 *	  int64   cl
 *	  uint16  nattrs
 *	  nattrs x { int64 hlc, int32 node }   (hlc 0, node 0: no version)
 *
 * IDENTIFICATION
 *	  src/capture/rowmeta.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "edge_crdt/rowmeta.h"

#define ROWMETA_MAX_ATTRS	1600	/* MaxHeapAttributeNumber */
#define ROWMETA_BINARY_VERSION	1

static inline char *
rowmeta_versions_ptr(const RowMeta *meta)
{
	return (char *) meta + ROWMETA_HEADER_SIZE;
}

static inline uint16
rowmeta_nversions(const RowMeta *meta)
{
	uint16		n;

	memcpy(&n, (char *) meta + VARHDRSZ + 8, 2);
	return n;
}

int
rowmeta_nattrs(const RowMeta *meta)
{
	uint16		n;

	memcpy(&n, (char *) meta + VARHDRSZ + 10, 2);
	return n;
}

int64
rowmeta_cl(const RowMeta *meta)
{
	int64		cl;

	memcpy(&cl, (char *) meta + VARHDRSZ, 8);
	return cl;
}

RowMeta *
rowmeta_build(int64 cl, int nattrs, const CrdtVersion *versions)
{
	CrdtVersion distinct[ROWMETA_MAX_ATTRS];
	uint16		index[ROWMETA_MAX_ATTRS];
	uint16		ndistinct = 0;
	uint16		n16 = (uint16) nattrs;
	Size		size;
	RowMeta    *meta;
	char	   *p;
	int			i;

	if (nattrs < 0 || nattrs > ROWMETA_MAX_ATTRS)
		elog(ERROR, "rowmeta cannot cover %d columns", nattrs);

	/* Few distinct versions per row: a linear search beats hashing. */
	for (i = 0; i < nattrs; i++)
	{
		int			j;

		if (versions[i].hlc == 0)
		{
			index[i] = ROWMETA_NO_VERSION;
			continue;
		}
		for (j = 0; j < ndistinct; j++)
			if (crdt_version_cmp(distinct[j], versions[i]) == 0)
				break;
		if (j == ndistinct)
			distinct[ndistinct++] = versions[i];
		index[i] = (uint16) j;
	}

	size = ROWMETA_HEADER_SIZE + ndistinct * ROWMETA_VERSION_SIZE + nattrs * 2;
	meta = (RowMeta *) palloc0(size);
	SET_VARSIZE(meta, size);
	p = (char *) meta + VARHDRSZ;
	memcpy(p, &cl, 8);
	memcpy(p + 8, &ndistinct, 2);
	memcpy(p + 10, &n16, 2);
	p = rowmeta_versions_ptr(meta);
	for (i = 0; i < ndistinct; i++)
	{
		memcpy(p, &distinct[i].hlc, 8);
		memcpy(p + 8, &distinct[i].node, 4);
		p += ROWMETA_VERSION_SIZE;
	}
	memcpy(p, index, nattrs * 2);
	return meta;
}

CrdtVersion
rowmeta_version(const RowMeta *meta, int attnum)
{
	CrdtVersion v = {0, 0};
	uint16		nversions = rowmeta_nversions(meta);
	const char *p = rowmeta_versions_ptr(meta);
	uint16		idx;

	if (attnum < 1 || attnum > rowmeta_nattrs(meta))
		return v;
	memcpy(&idx, p + nversions * ROWMETA_VERSION_SIZE + (attnum - 1) * 2, 2);
	if (idx >= nversions)
		return v;
	memcpy(&v.hlc, p + idx * ROWMETA_VERSION_SIZE, 8);
	memcpy(&v.node, p + idx * ROWMETA_VERSION_SIZE + 8, 4);
	return v;
}

void
rowmeta_expand(const RowMeta *meta, int nattrs, CrdtVersion *versions)
{
	int			i;

	for (i = 0; i < nattrs; i++)
		versions[i] = rowmeta_version(meta, i + 1);
}

/*
 * The datum is built only by rowmeta_build; check that a stored or received
 * one is self-consistent before trusting its counts.
 */
static void
rowmeta_check(const RowMeta *meta)
{
	Size		size = VARSIZE_ANY(meta);

	if (size < ROWMETA_HEADER_SIZE ||
		size != ROWMETA_HEADER_SIZE +
		(Size) rowmeta_nversions(meta) * ROWMETA_VERSION_SIZE +
		(Size) rowmeta_nattrs(meta) * 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupt edge_crdt.rowmeta value")));
}

static void
rowmeta_syntax_error(const char *input, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type rowmeta: \"%s\"", input),
			 errdetail("%s", what)));
}

PG_FUNCTION_INFO_V1(rowmeta_in);
Datum
rowmeta_in(PG_FUNCTION_ARGS)
{
	const char *input = PG_GETARG_CSTRING(0);
	const char *p = input;
	CrdtError	err;
	int64		cl;
	CrdtVersion *versions = palloc0(sizeof(CrdtVersion) * ROWMETA_MAX_ATTRS);
	int			nattrs = 0;

	if (!crdt_parse_int64(&p, &cl, &err))
		rowmeta_syntax_error(input, err.message);
	if (cl < 1)
		rowmeta_syntax_error(input, "The causal length must be positive.");
	if (!crdt_expect_char(&p, ';', &err))
		rowmeta_syntax_error(input, err.message);
	crdt_skip_space(&p);
	while (*p != '\0')
	{
		int64		attnum;
		CrdtVersion v;
		int64		hlc;

		if (!crdt_parse_int64(&p, &attnum, &err) ||
			!crdt_expect_char(&p, '=', &err) ||
			!crdt_parse_int64(&p, &hlc, &err) ||
			!crdt_expect_char(&p, '@', &err) ||
			!crdt_parse_node_id(&p, &v.node, &err))
			rowmeta_syntax_error(input, err.message);
		if (attnum < 1 || attnum > ROWMETA_MAX_ATTRS)
			rowmeta_syntax_error(input, "Column numbers must be between 1 and 1600.");
		if (hlc <= 0)
			rowmeta_syntax_error(input, "Clock values must be positive.");
		if (versions[attnum - 1].hlc != 0)
			rowmeta_syntax_error(input, "A column appears twice.");
		v.hlc = hlc;
		versions[attnum - 1] = v;
		nattrs = Max(nattrs, (int) attnum);
		crdt_skip_space(&p);
		if (*p == ',')
			p++;
		else if (*p != '\0')
			rowmeta_syntax_error(input, "Expected \",\" between columns.");
	}
	PG_RETURN_POINTER(rowmeta_build(cl, nattrs, versions));
}

PG_FUNCTION_INFO_V1(rowmeta_out);
Datum
rowmeta_out(PG_FUNCTION_ARGS)
{
	RowMeta    *meta = DatumGetRowMeta(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int			nattrs;
	int			i;
	bool		first = true;

	rowmeta_check(meta);
	nattrs = rowmeta_nattrs(meta);
	initStringInfo(&buf);
	appendStringInfo(&buf, INT64_FORMAT ";", rowmeta_cl(meta));
	for (i = 1; i <= nattrs; i++)
	{
		CrdtVersion v = rowmeta_version(meta, i);

		if (v.hlc == 0)
			continue;
		appendStringInfo(&buf, "%s%d=" INT64_FORMAT "@%d",
						 first ? "" : ",", i, (int64) v.hlc, v.node);
		first = false;
	}
	PG_RETURN_CSTRING(buf.data);
}

static void
rowmeta_binary_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid binary edge_crdt.rowmeta value"),
			 errdetail("%s", what)));
}

/*
 * Every count is checked against the bytes left before anything is
 * allocated, and the value is rebuilt by rowmeta_build, so equal states
 * get equal bytes whatever the sender did.
 */
PG_FUNCTION_INFO_V1(rowmeta_recv);
Datum
rowmeta_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int64		cl;
	int			nattrs;
	CrdtVersion *versions;
	int			i;

	if (buf->len - buf->cursor < 1 + 8 + 2)
		rowmeta_binary_error("The value is truncated.");
	if (pq_getmsgbyte(buf) != ROWMETA_BINARY_VERSION)
		rowmeta_binary_error("Unknown format version.");
	cl = pq_getmsgint64(buf);
	if (cl < 1)
		rowmeta_binary_error("The causal length must be positive.");
	nattrs = pq_getmsgint(buf, 2);
	if (nattrs > ROWMETA_MAX_ATTRS)
		rowmeta_binary_error("A row has at most 1600 columns.");
	if (buf->len - buf->cursor != nattrs * ROWMETA_VERSION_SIZE)
		rowmeta_binary_error("The column count does not match the length.");
	versions = palloc(sizeof(CrdtVersion) * Max(nattrs, 1));
	for (i = 0; i < nattrs; i++)
	{
		versions[i].hlc = pq_getmsgint64(buf);
		versions[i].node = (int32) pq_getmsgint(buf, 4);
		if (versions[i].hlc < 0 || (versions[i].hlc == 0) != (versions[i].node == 0) ||
			versions[i].node < 0)
			rowmeta_binary_error("A version must be a positive clock value and node id, or none.");
	}
	PG_RETURN_POINTER(rowmeta_build(cl, nattrs, versions));
}

PG_FUNCTION_INFO_V1(rowmeta_send);
Datum
rowmeta_send(PG_FUNCTION_ARGS)
{
	RowMeta    *meta = DatumGetRowMeta(PG_GETARG_DATUM(0));
	StringInfoData buf;
	int			nattrs;
	int			i;

	rowmeta_check(meta);
	nattrs = rowmeta_nattrs(meta);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, ROWMETA_BINARY_VERSION);
	pq_sendint64(&buf, rowmeta_cl(meta));
	pq_sendint16(&buf, (uint16) nattrs);
	for (i = 1; i <= nattrs; i++)
	{
		CrdtVersion v = rowmeta_version(meta, i);

		pq_sendint64(&buf, v.hlc);
		pq_sendint32(&buf, v.node);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(rowmeta_cl_sql);
Datum
rowmeta_cl_sql(PG_FUNCTION_ARGS)
{
	RowMeta    *meta = DatumGetRowMeta(PG_GETARG_DATUM(0));

	rowmeta_check(meta);
	PG_RETURN_INT64(rowmeta_cl(meta));
}

/*
 * row_versions(rel regclass, meta rowmeta)
 *	  RETURNS TABLE (column_name name, hlc int8, node int4)
 * One row per live column of rel, in attnum order; NULLs where the column
 * has no version.
 */
PG_FUNCTION_INFO_V1(row_versions_sql);
Datum
row_versions_sql(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	RowMeta    *meta = DatumGetRowMeta(PG_GETARG_DATUM(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Relation	rel;
	TupleDesc	tupdesc;
	int			i;

	rowmeta_check(meta);
	InitMaterializedSRF(fcinfo, 0);
	rel = relation_open(relid, AccessShareLock);
	tupdesc = RelationGetDescr(rel);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};
		CrdtVersion v;

		if (att->attisdropped || strcmp(NameStr(att->attname), ROWMETA_NAME) == 0)
			continue;
		v = rowmeta_version(meta, att->attnum);
		values[0] = NameGetDatum(&att->attname);
		if (v.hlc == 0)
			nulls[1] = nulls[2] = true;
		else
		{
			values[1] = Int64GetDatum(v.hlc);
			values[2] = Int32GetDatum(v.node);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}
