/*-------------------------------------------------------------------------
 * encode.c
 *	  Rows and tombstones of replicated tables as wire messages (encode.h).
 *
 * How to send a relation (type names, send or output functions, primary
 * key) is cached per backend and rebuilt after a relcache invalidation.
 * Only the relcache and syscaches are read, never a user table, so the
 * output plugin can use this under the historic snapshot of decoding.
 *
 * IDENTIFICATION
 *	  src/capture/encode.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "edge_crdt/encode.h"
#include "edge_crdt/relinfo.h"
#include "edge_crdt/rowmeta.h"

typedef struct EncodeRel
{
	Oid			relid;
	bool		valid;
	EncodeRelKind kind;
	AttrNumber	meta_attnum;
	char	  **typnames;		/* per attnum - 1 */
	FmgrInfo   *out_finfo;
	bool	   *binary;
	int			npk;
	AttrNumber *pk_attnums;
} EncodeRel;

static HTAB *encode_rels = NULL;
static MemoryContext encode_rels_cxt = NULL;

static void
encode_rel_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	EncodeRel  *entry;

	hash_seq_init(&status, encode_rels);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
}

static void
encode_rel_build(EncodeRel *entry, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			pkoid;
	int			i;

	if (rel->rd_rel->relnamespace == get_namespace_oid("edge_crdt", true) &&
		strcmp(RelationGetRelationName(rel), "tombstone") == 0)
	{
		entry->kind = ENCODE_TOMBSTONES;
		return;
	}
	entry->meta_attnum = ReplicatedMetaAttnum(rel);
	pkoid = RelationGetPrimaryKeyIndex(rel);
	if (entry->meta_attnum == InvalidAttrNumber || !OidIsValid(pkoid))
	{
		entry->kind = ENCODE_NOTHING;
		return;
	}
	entry->kind = ENCODE_ROWS;

	/* Memory of an entry rebuilt after invalidation is not reclaimed: rare. */
	entry->typnames = MemoryContextAllocZero(encode_rels_cxt, sizeof(char *) * desc->natts);
	entry->out_finfo = MemoryContextAllocZero(encode_rels_cxt, sizeof(FmgrInfo) * desc->natts);
	entry->binary = MemoryContextAllocZero(encode_rels_cxt, sizeof(bool) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attnum == entry->meta_attnum)
			continue;
		entry->typnames[i] = MemoryContextStrdup(encode_rels_cxt,
												 format_type_be_qualified(att->atttypid));
		entry->binary[i] = ReplValueOutput(att->atttypid, &entry->out_finfo[i],
										   encode_rels_cxt);
	}

	{
		HeapTuple	indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkoid));
		Form_pg_index ind;

		if (!HeapTupleIsValid(indtup))
			elog(ERROR, "cache lookup failed for index %u", pkoid);
		ind = (Form_pg_index) GETSTRUCT(indtup);
		entry->npk = ind->indnkeyatts;
		entry->pk_attnums = MemoryContextAlloc(encode_rels_cxt,
											   sizeof(AttrNumber) * entry->npk);
		for (i = 0; i < entry->npk; i++)
			entry->pk_attnums[i] = ind->indkey.values[i];
		ReleaseSysCache(indtup);
	}
}

static EncodeRel *
encode_rel_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	EncodeRel  *entry;
	bool		found;

	if (encode_rels == NULL)
	{
		HASHCTL		ctl;

		encode_rels_cxt = AllocSetContextCreate(CacheMemoryContext,
												"edge_crdt encoded relations",
												ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(EncodeRel);
		ctl.hcxt = encode_rels_cxt;
		encode_rels = hash_create("edge_crdt encoded relations", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(encode_rel_invalidate, (Datum) 0);
	}
	entry = hash_search(encode_rels, &relid, HASH_ENTER, &found);
	if (!found || !entry->valid)
	{
		memset(entry, 0, sizeof(EncodeRel));
		entry->relid = relid;
		encode_rel_build(entry, rel);
		entry->valid = true;
	}
	return entry;
}

EncodeRelKind
EncodeKindOf(Relation rel)
{
	return encode_rel_get(rel)->kind;
}

static inline WireSlice
slice_cstring(const char *s)
{
	WireSlice	sl;

	sl.data = s;
	sl.len = strlen(s);
	return sl;
}

/* One column of a row image. */
static void
encode_column(EncodeRel *entry, Form_pg_attribute att, Datum value,
			  bool isnull, bool from_wal, WireColumn *col)
{
	int			i = att->attnum - 1;

	col->name = slice_cstring(NameStr(att->attname));
	col->type_name = slice_cstring(entry->typnames[i]);
	if (isnull)
		col->kind = WIRE_NULL;
	else if (from_wal && att->attlen == -1 &&
			 VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value)))
		col->kind = WIRE_UNCHANGED;
	else if (entry->binary[i])
	{
		bytea	   *b = SendFunctionCall(&entry->out_finfo[i], value);

		col->kind = WIRE_BINARY;
		col->value.data = VARDATA(b);
		col->value.len = VARSIZE(b) - VARHDRSZ;
	}
	else
	{
		char	   *s = OutputFunctionCall(&entry->out_finfo[i], value);

		col->kind = WIRE_TEXT;
		col->value = slice_cstring(s);
	}
}

void
EncodeRow(Relation rel, HeapTuple tuple, bool from_wal, WireMessage *msg)
{
	EncodeRel  *entry = encode_rel_get(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	RowMeta    *meta;
	int			i;

	Assert(entry->kind == ENCODE_ROWS);
	heap_deform_tuple(tuple, desc, values, nulls);
	if (nulls[entry->meta_attnum - 1])
		elog(ERROR, "row of replicated table \"%s\" has no metadata",
			 RelationGetRelationName(rel));
	meta = DatumGetRowMeta(values[entry->meta_attnum - 1]);

	memset(msg, 0, sizeof(WireMessage));
	msg->type = WIRE_ROW;
	msg->nspname = slice_cstring(get_namespace_name(RelationGetNamespace(rel)));
	msg->relname = slice_cstring(RelationGetRelationName(rel));
	msg->cl = rowmeta_cl(meta);
	msg->columns = palloc0(sizeof(WireColumn) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		WireColumn *col;

		if (att->attisdropped || att->attnum == entry->meta_attnum)
			continue;
		col = &msg->columns[msg->ncolumns++];
		encode_column(entry, att, values[i], nulls[i], from_wal, col);
		col->version = rowmeta_version(meta, att->attnum);
	}
}

/*
 * A tombstone row becomes a DELETE of the key it encodes (tombstone.h):
 * the key columns are re-labelled with the target table's names and types.
 */
bool
EncodeTombstone(TupleDesc tombdesc, HeapTuple tuple, WireMessage *msg)
{
	Datum		values[6];
	bool		nulls[6];
	Relation	target;
	EncodeRel  *entry;
	bytea	   *key;
	const char *p;
	const char *end;
	int			i;

	Assert(tombdesc->natts == 6);
	heap_deform_tuple(tuple, tombdesc, values, nulls);
	/* The empty key is the table's floor, which stays on its node. */
	if (VARSIZE_ANY_EXHDR(DatumGetPointer(values[1])) == 0)
		return false;
	target = RelationIdGetRelation(DatumGetObjectId(values[0]));
	if (!RelationIsValid(target))
		return false;			/* table dropped in the same transaction */
	entry = encode_rel_get(target);
	if (entry->kind != ENCODE_ROWS)
	{
		RelationClose(target);
		return false;
	}

	key = DatumGetByteaPP(values[1]);
	p = VARDATA_ANY(key);
	end = p + VARSIZE_ANY_EXHDR(key);

	memset(msg, 0, sizeof(WireMessage));
	msg->type = WIRE_DELETE;
	msg->nspname = slice_cstring(get_namespace_name(RelationGetNamespace(target)));
	msg->relname = slice_cstring(pstrdup(RelationGetRelationName(target)));
	msg->cl = DatumGetInt64(values[2]);
	msg->version.hlc = DatumGetInt64(values[3]);
	msg->version.node = DatumGetInt32(values[4]);
	msg->ncolumns = entry->npk;
	msg->columns = palloc0(sizeof(WireColumn) * entry->npk);
	for (i = 0; i < entry->npk; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(target),
											  entry->pk_attnums[i] - 1);
		WireColumn *col = &msg->columns[i];
		uint32		len;

		if (end - p < 5)
			elog(ERROR, "corrupt tombstone key for table \"%s\"", msg->relname.data);
		col->kind = (p[0] == 'b') ? WIRE_BINARY : WIRE_TEXT;
		memcpy(&len, p + 1, 4);
		len = pg_ntoh32(len);
		p += 5;
		if ((uint32) (end - p) < len)
			elog(ERROR, "corrupt tombstone key for table \"%s\"", msg->relname.data);
		col->name = slice_cstring(pstrdup(NameStr(att->attname)));
		col->type_name = slice_cstring(entry->typnames[att->attnum - 1]);
		col->value.data = p;
		col->value.len = len;
		p += len;
	}
	RelationClose(target);
	return true;
}
