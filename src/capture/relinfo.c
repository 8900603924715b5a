/*-------------------------------------------------------------------------
 * relinfo.c
 *	  Cache of replicated-table descriptions (see relinfo.h).
 *
 * Building an entry reads the CRDT type registry with SPI, once per table
 * per backend: the hot paths (trigger, apply) then run without catalog or
 * SPI lookups.
 *
 * IDENTIFICATION
 *	  src/capture/relinfo.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "edge_crdt/relinfo.h"
#include "edge_crdt/rowmeta.h"

static HTAB *relinfo_hash = NULL;
static MemoryContext relinfo_cxt = NULL;
static Oid	rowmeta_typoid = InvalidOid;

static void relinfo_invalidate(Datum arg, Oid relid);
static void relinfo_build(ReplRelInfo *info, Relation rel);
static void relinfo_load_crdt_columns(ReplRelInfo *info, TupleDesc desc);

static void
relinfo_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	ReplRelInfo *info;

	/* The extension may have been dropped and recreated: recheck the type. */
	rowmeta_typoid = InvalidOid;
	if (relinfo_hash == NULL)
		return;
	hash_seq_init(&status, relinfo_hash);
	while ((info = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || info->relid == relid)
			info->valid = false;
	}
}

bool
ReplValueOutput(Oid typid, FmgrInfo *finfo, MemoryContext cxt)
{
	HeapTuple	typtup;
	bool		binary;
	Oid			func;
	bool		isvarlena;

	typtup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(typtup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	binary = OidIsValid(((Form_pg_type) GETSTRUCT(typtup))->typsend);
	ReleaseSysCache(typtup);
	if (binary)
		getTypeBinaryOutputInfo(typid, &func, &isvarlena);
	else
		getTypeOutputInfo(typid, &func, &isvarlena);
	fmgr_info_cxt(func, finfo, cxt);
	return binary;
}

Oid
RowMetaTypeOid(void)
{
	if (!OidIsValid(rowmeta_typoid))
	{
		Oid			nspid = get_namespace_oid("edge_crdt", true);

		if (OidIsValid(nspid))
			rowmeta_typoid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
											 CStringGetDatum("rowmeta"),
											 ObjectIdGetDatum(nspid));
	}
	return rowmeta_typoid;
}

ReplRelInfo *
ReplRelInfoGet(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	ReplRelInfo *info;
	bool		found;

	if (relinfo_hash == NULL)
	{
		HASHCTL		ctl;

		relinfo_cxt = AllocSetContextCreate(CacheMemoryContext,
											"edge_crdt relinfo",
											ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ReplRelInfo);
		ctl.hcxt = relinfo_cxt;
		relinfo_hash = hash_create("edge_crdt relinfo", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(relinfo_invalidate, (Datum) 0);
	}

	info = hash_search(relinfo_hash, &relid, HASH_ENTER, &found);
	if (!found || !info->valid)
	{
		/* Members of a stale entry are simply leaked into relinfo_cxt. */
		memset(info, 0, sizeof(ReplRelInfo));
		info->relid = relid;
		PG_TRY();
		{
			relinfo_build(info, rel);
		}
		PG_CATCH();
		{
			hash_search(relinfo_hash, &relid, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
		info->valid = true;
	}
	return info;
}

AttrNumber
ReplicatedMetaAttnum(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			metatype = RowMetaTypeOid();
	AttrNumber	meta = InvalidAttrNumber;
	bool		has_trigger = false;
	int			i;

	if (!OidIsValid(metatype))
		return InvalidAttrNumber;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->atttypid == metatype &&
			strcmp(NameStr(att->attname), ROWMETA_NAME) == 0)
			meta = att->attnum;
	}
	/*
	 * The column alone is not enough: CREATE TABLE AS or LIKE copy it from a
	 * replicated table, but not the capture trigger that replicate_table
	 * installs.
	 */
	if (meta != InvalidAttrNumber && rel->trigdesc != NULL)
	{
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
			if (strcmp(rel->trigdesc->triggers[i].tgname, CAPTURE_TRIGGER_NAME) == 0)
				has_trigger = true;
	}
	return has_trigger ? meta : InvalidAttrNumber;
}

static void
relinfo_build(ReplRelInfo *info, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	MemoryContext oldcxt;
	int			i;

	info->natts = desc->natts;
	info->meta_attnum = ReplicatedMetaAttnum(rel);
	info->replicated = (info->meta_attnum != InvalidAttrNumber);
	if (!info->replicated)
		return;

	oldcxt = MemoryContextSwitchTo(relinfo_cxt);
	info->columns = palloc0(sizeof(ReplColumn) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		info->columns[i].live = !att->attisdropped &&
			att->attnum != info->meta_attnum;
	}

	/* Primary key, in index column order. */
	{
		Oid			pkoid = RelationGetPrimaryKeyIndex(rel);
		HeapTuple	indtup;
		Form_pg_index ind;

		if (!OidIsValid(pkoid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("replicated table \"%s\" has no primary key",
							RelationGetRelationName(rel)),
					 errhint("Restore the primary key; replicated rows are identified by it.")));
		indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkoid));
		if (!HeapTupleIsValid(indtup))
			elog(ERROR, "cache lookup failed for index %u", pkoid);
		ind = (Form_pg_index) GETSTRUCT(indtup);
		info->npk = ind->indnkeyatts;
		info->pk_attnums = palloc(sizeof(AttrNumber) * info->npk);
		info->pk_out_finfo = palloc0(sizeof(FmgrInfo) * info->npk);
		info->pk_binary = palloc(sizeof(bool) * info->npk);
		for (i = 0; i < info->npk; i++)
		{
			AttrNumber	attnum = ind->indkey.values[i];
			Oid			typid = TupleDescAttr(desc, attnum - 1)->atttypid;

			info->pk_attnums[i] = attnum;
			info->pk_binary[i] = ReplValueOutput(typid, &info->pk_out_finfo[i],
												 relinfo_cxt);
		}
		ReleaseSysCache(indtup);
	}
	MemoryContextSwitchTo(oldcxt);

	relinfo_load_crdt_columns(info, desc);
}

/* Mark CRDT columns and look up their functions in edge_crdt.crdt_type. */
static void
relinfo_load_crdt_columns(ReplRelInfo *info, TupleDesc desc)
{
	uint64		r;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT typ::oid, merge_fn::oid, leq_fn::oid, inflation_hint "
					"FROM edge_crdt.crdt_type", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.crdt_type");

	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			typ = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
		Oid			merge_fn = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
		Oid			leq_fn = DatumGetObjectId(SPI_getbinval(tup, td, 3, &isnull));
		char	   *hint = SPI_getvalue(tup, td, 4);
		int			i;

		for (i = 0; i < desc->natts; i++)
		{
			ReplColumn *col = &info->columns[i];

			if (!col->live || TupleDescAttr(desc, i)->atttypid != typ)
				continue;
			col->is_crdt = true;
			fmgr_info_cxt(merge_fn, &col->merge_finfo, relinfo_cxt);
			fmgr_info_cxt(leq_fn, &col->leq_finfo, relinfo_cxt);
			col->inflation_hint = MemoryContextStrdup(relinfo_cxt, hint);
		}
	}
	SPI_finish();
}
