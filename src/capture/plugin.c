/*-------------------------------------------------------------------------
 * plugin.c
 *	  The "edge_crdt" logical decoding output plugin: turns committed
 *	  transactions into wire messages (src/wire) for the replicator.
 *
 * What it sends:
 *	  - INSERT/UPDATE of a replicated table (one with the metadata column):
 *		a ROW message with the complete row state.
 *	  - INSERT/UPDATE of edge_crdt.tombstone: a DELETE message.  Deletes of
 *		the replicated table itself are skipped: the capture trigger wrote
 *		the tombstone just before, and only the tombstone knows the causal
 *		length and version of the deletion (the WAL of a DELETE holds the
 *		key alone).
 *	  - transactional logical messages with prefix "edge_crdt" (DDL, stream
 *		wake-ups).
 *	  BEGIN is sent lazily, before the first of these, so transactions that
 *	  touch nothing replicated cost the subscriber nothing.
 *
 * Options (START_REPLICATION ... (name 'value', ...)):
 *	  proto_version		 wire protocol version; only 1 exists (default 1)
 *	  subscriber_node_id the node id of the receiving node (informational)
 *	  origins			 "local" (default): only changes made on this node,
 *						 "any": also changes that were applied from peers
 *
 * The plugin runs under the historic snapshot of logical decoding: it reads
 * only catalogs and edge_crdt.node (a user catalog table), never SPI.
 *
 * IDENTIFICATION
 *	  src/capture/plugin.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/relinfo.h"
#include "edge_crdt/rowmeta.h"
#include "edge_crdt/wire.h"

#define EDGE_CRDT_MESSAGE_PREFIX	"edge_crdt"

typedef struct PluginData
{
	MemoryContext context;		/* reset after every callback */
	int			proto_version;
	int32		subscriber_node;
	bool		any_origin;
	int32		local_node;		/* read lazily from edge_crdt.node */
} PluginData;

typedef struct PluginTxn
{
	bool		sent_begin;
} PluginTxn;

/*
 * How to send one relation, cached across transactions and rebuilt after a
 * relcache invalidation.
 */
typedef struct PluginRel
{
	Oid			relid;
	bool		valid;
	bool		is_tombstone;	/* edge_crdt.tombstone itself */
	AttrNumber	meta_attnum;	/* 0: not replicated */
	int			natts;
	char	  **typnames;		/* per attnum - 1 */
	FmgrInfo   *out_finfo;
	bool	   *binary;
	int			npk;
	AttrNumber *pk_attnums;
} PluginRel;

static HTAB *plugin_rels = NULL;
static MemoryContext plugin_rels_cxt = NULL;

extern void _PG_output_plugin_init(OutputPluginCallbacks *cb);

static void plugin_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
						   bool is_init);
static void plugin_shutdown(LogicalDecodingContext *ctx);
static void plugin_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void plugin_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						  Relation rel, ReorderBufferChange *change);
static void plugin_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						   XLogRecPtr lsn, bool transactional,
						   const char *prefix, Size sz, const char *message);
static void plugin_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
						  XLogRecPtr commit_lsn);
static bool plugin_filter_origin(LogicalDecodingContext *ctx, RepOriginId origin_id);

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = plugin_startup;
	cb->begin_cb = plugin_begin;
	cb->change_cb = plugin_change;
	cb->truncate_cb = NULL;		/* refused on replicated tables */
	cb->message_cb = plugin_message;
	cb->commit_cb = plugin_commit;
	cb->filter_by_origin_cb = plugin_filter_origin;
	cb->shutdown_cb = plugin_shutdown;
}

static void
plugin_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
			   bool is_init)
{
	PluginData *data = palloc0(sizeof(PluginData));
	ListCell   *lc;

	data->context = AllocSetContextCreate(ctx->context, "edge_crdt output",
										  ALLOCSET_DEFAULT_SIZES);
	data->proto_version = WIRE_PROTO_VERSION;
	ctx->output_plugin_private = data;
	opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;

	foreach(lc, ctx->output_plugin_options)
	{
		DefElem    *elem = lfirst(lc);
		char	   *value = elem->arg ? strVal(elem->arg) : NULL;

		if (value == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of output plugin edge_crdt needs a value",
							elem->defname)));
		if (strcmp(elem->defname, "proto_version") == 0)
		{
			data->proto_version = pg_strtoint32(value);
			if (data->proto_version != WIRE_PROTO_VERSION)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("edge_crdt protocol version %d is not supported",
								data->proto_version),
						 errdetail("This node speaks protocol version %d.",
								   WIRE_PROTO_VERSION),
						 errhint("Upgrade edge_crdt on the older node.")));
		}
		else if (strcmp(elem->defname, "subscriber_node_id") == 0)
			data->subscriber_node = pg_strtoint32(value);
		else if (strcmp(elem->defname, "origins") == 0)
		{
			if (strcmp(value, "local") == 0)
				data->any_origin = false;
			else if (strcmp(value, "any") == 0)
				data->any_origin = true;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value \"%s\" for option \"origins\"", value),
						 errhint("Valid values are \"local\" and \"any\".")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" of output plugin edge_crdt is unknown",
							elem->defname),
					 errhint("Known options are proto_version, subscriber_node_id and origins.")));
	}
}

static void
plugin_shutdown(LogicalDecodingContext *ctx)
{
	PluginData *data = ctx->output_plugin_private;

	MemoryContextDelete(data->context);
}

static void
plugin_rel_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	PluginRel  *entry;

	if (plugin_rels == NULL)
		return;
	hash_seq_init(&status, plugin_rels);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
}

static void
plugin_rel_build(PluginRel *entry, Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			pkoid;
	int			i;

	entry->natts = desc->natts;
	entry->is_tombstone =
		rel->rd_rel->relnamespace == get_namespace_oid("edge_crdt", true) &&
		strcmp(RelationGetRelationName(rel), "tombstone") == 0;
	entry->meta_attnum = ReplicatedMetaAttnum(rel);
	if (entry->meta_attnum == InvalidAttrNumber)
		return;

	entry->typnames = MemoryContextAllocZero(plugin_rels_cxt, sizeof(char *) * desc->natts);
	entry->out_finfo = MemoryContextAllocZero(plugin_rels_cxt, sizeof(FmgrInfo) * desc->natts);
	entry->binary = MemoryContextAllocZero(plugin_rels_cxt, sizeof(bool) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || att->attnum == entry->meta_attnum)
			continue;
		entry->typnames[i] = MemoryContextStrdup(plugin_rels_cxt,
												 format_type_be_qualified(att->atttypid));
		entry->binary[i] = ReplValueOutput(att->atttypid, &entry->out_finfo[i],
										   plugin_rels_cxt);
	}

	pkoid = RelationGetPrimaryKeyIndex(rel);
	if (OidIsValid(pkoid))
	{
		HeapTuple	indtup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkoid));
		Form_pg_index ind;

		if (!HeapTupleIsValid(indtup))
			elog(ERROR, "cache lookup failed for index %u", pkoid);
		ind = (Form_pg_index) GETSTRUCT(indtup);
		entry->npk = ind->indnkeyatts;
		entry->pk_attnums = MemoryContextAlloc(plugin_rels_cxt,
											   sizeof(AttrNumber) * entry->npk);
		for (i = 0; i < entry->npk; i++)
			entry->pk_attnums[i] = ind->indkey.values[i];
		ReleaseSysCache(indtup);
	}
}

static PluginRel *
plugin_rel_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	PluginRel  *entry;
	bool		found;

	if (plugin_rels == NULL)
	{
		HASHCTL		ctl;

		plugin_rels_cxt = AllocSetContextCreate(CacheMemoryContext,
												"edge_crdt output relations",
												ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(PluginRel);
		ctl.hcxt = plugin_rels_cxt;
		plugin_rels = hash_create("edge_crdt output relations", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(plugin_rel_invalidate, (Datum) 0);
	}
	entry = hash_search(plugin_rels, &relid, HASH_ENTER, &found);
	if (!found || !entry->valid)
	{
		memset(entry, 0, sizeof(PluginRel));
		entry->relid = relid;
		plugin_rel_build(entry, rel);
		entry->valid = true;
	}
	return entry;
}

/* edge_crdt.node is a user catalog table: readable under the historic snapshot. */
static int32
plugin_local_node(PluginData *data)
{
	Oid			nspid;
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	if (data->local_node != 0)
		return data->local_node;
	nspid = get_namespace_oid("edge_crdt", true);
	relid = OidIsValid(nspid) ? get_relname_relid("node", nspid) : InvalidOid;
	if (!OidIsValid(relid))
		return 0;
	rel = table_open(relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		if (!isnull)
			data->local_node = DatumGetInt32(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return data->local_node;
}

/*
 * Node id of a transaction's origin: ours for local transactions; for
 * forwarded ones, the id in the replication origin's name (the replicator
 * names them edge_crdt_<peer node id>), 0 if it cannot be told.
 */
static int32
plugin_origin_node(PluginData *data, RepOriginId origin_id)
{
	char	   *name;

	if (origin_id == InvalidRepOriginId)
		return plugin_local_node(data);
	if (replorigin_by_oid(origin_id, true, &name) &&
		strncmp(name, "edge_crdt_", 10) == 0)
		return (int32) strtol(name + 10, NULL, 10);
	return 0;
}

static void
plugin_write(LogicalDecodingContext *ctx, const WireMessage *msg)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, crdt_palloc, 256);
	wire_encode(&buf, msg);
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, buf.data, buf.len);
	OutputPluginWrite(ctx, true);
}

static void
plugin_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	txn->output_plugin_private =
		MemoryContextAllocZero(ctx->context, sizeof(PluginTxn));
}

static void
plugin_send_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	PluginData *data = ctx->output_plugin_private;
	PluginTxn  *ptxn = txn->output_plugin_private;
	WireMessage msg;

	if (ptxn->sent_begin)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.type = WIRE_BEGIN;
	msg.lsn = txn->final_lsn;
	msg.commit_time = txn->xact_time.commit_time;
	msg.xid = txn->xid;
	msg.origin_node = plugin_origin_node(data, txn->origin_id);
	plugin_write(ctx, &msg);
	ptxn->sent_begin = true;
}

static void
plugin_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			  XLogRecPtr commit_lsn)
{
	PluginTxn  *ptxn = txn->output_plugin_private;
	WireMessage msg;

	if (ptxn == NULL || !ptxn->sent_begin)
		return;
	memset(&msg, 0, sizeof(msg));
	msg.type = WIRE_COMMIT;
	msg.lsn = commit_lsn;
	msg.end_lsn = txn->end_lsn;
	msg.commit_time = txn->xact_time.commit_time;
	plugin_write(ctx, &msg);
}

static bool
plugin_filter_origin(LogicalDecodingContext *ctx, RepOriginId origin_id)
{
	PluginData *data = ctx->output_plugin_private;

	return !data->any_origin && origin_id != InvalidRepOriginId;
}

static inline WireSlice
slice_cstring(const char *s)
{
	WireSlice	sl;

	sl.data = s;
	sl.len = strlen(s);
	return sl;
}

/* One column of a row (or key) image. */
static void
plugin_fill_column(PluginRel *entry, Form_pg_attribute att, Datum value,
				   bool isnull, WireColumn *col)
{
	int			i = att->attnum - 1;

	col->name = slice_cstring(NameStr(att->attname));
	col->type_name = slice_cstring(entry->typnames[i]);
	if (isnull)
		col->kind = WIRE_NULL;
	else if (att->attlen == -1 &&
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

static void
plugin_send_row(LogicalDecodingContext *ctx, Relation rel, PluginRel *entry,
				HeapTuple tuple)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc(sizeof(bool) * desc->natts);
	RowMeta    *meta;
	WireMessage msg;
	int			i;

	heap_deform_tuple(tuple, desc, values, nulls);
	if (nulls[entry->meta_attnum - 1])
		elog(ERROR, "row of replicated table \"%s\" has no metadata",
			 RelationGetRelationName(rel));
	meta = DatumGetRowMeta(values[entry->meta_attnum - 1]);

	memset(&msg, 0, sizeof(msg));
	msg.type = WIRE_ROW;
	msg.nspname = slice_cstring(get_namespace_name(RelationGetNamespace(rel)));
	msg.relname = slice_cstring(RelationGetRelationName(rel));
	msg.cl = rowmeta_cl(meta);
	msg.columns = palloc0(sizeof(WireColumn) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		WireColumn *col;

		if (att->attisdropped || att->attnum == entry->meta_attnum)
			continue;
		col = &msg.columns[msg.ncolumns++];
		plugin_fill_column(entry, att, values[i], nulls[i], col);
		col->version = rowmeta_version(meta, att->attnum);
	}
	plugin_write(ctx, &msg);
}

/*
 * A tombstone row becomes a DELETE of the key it encodes (tombstone.h):
 * the key columns are re-labelled with the target table's names and types.
 */
static void
plugin_send_tombstone(LogicalDecodingContext *ctx, Relation tombrel,
					  HeapTuple tuple)
{
	TupleDesc	tdesc = RelationGetDescr(tombrel);
	Datum		values[5];
	bool		nulls[5];
	Relation	target;
	PluginRel  *entry;
	bytea	   *key;
	const char *p;
	const char *end;
	WireMessage msg;
	int			i;

	heap_deform_tuple(tuple, tdesc, values, nulls);
	target = RelationIdGetRelation(DatumGetObjectId(values[0]));
	if (!RelationIsValid(target))
		return;					/* table dropped in the same transaction */
	entry = plugin_rel_get(target);
	if (entry->meta_attnum == InvalidAttrNumber || entry->npk == 0)
	{
		RelationClose(target);
		return;
	}

	key = DatumGetByteaPP(values[1]);
	p = VARDATA_ANY(key);
	end = p + VARSIZE_ANY_EXHDR(key);

	memset(&msg, 0, sizeof(msg));
	msg.type = WIRE_DELETE;
	msg.nspname = slice_cstring(get_namespace_name(RelationGetNamespace(target)));
	msg.relname = slice_cstring(pstrdup(RelationGetRelationName(target)));
	msg.cl = DatumGetInt64(values[2]);
	msg.version.hlc = DatumGetInt64(values[3]);
	msg.version.node = DatumGetInt32(values[4]);
	msg.ncolumns = entry->npk;
	msg.columns = palloc0(sizeof(WireColumn) * entry->npk);
	for (i = 0; i < entry->npk; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(target),
											  entry->pk_attnums[i] - 1);
		WireColumn *col = &msg.columns[i];
		uint32		len;

		if (end - p < 5)
			elog(ERROR, "corrupt tombstone key for table \"%s\"", msg.relname.data);
		col->kind = (p[0] == 'b') ? WIRE_BINARY : WIRE_TEXT;
		memcpy(&len, p + 1, 4);
		len = pg_ntoh32(len);
		p += 5;
		if ((uint32) (end - p) < len)
			elog(ERROR, "corrupt tombstone key for table \"%s\"", msg.relname.data);
		col->name = slice_cstring(pstrdup(NameStr(att->attname)));
		col->type_name = slice_cstring(entry->typnames[att->attnum - 1]);
		col->value.data = p;
		col->value.len = len;
		p += len;
	}
	RelationClose(target);
	plugin_write(ctx, &msg);
}

static void
plugin_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			  Relation rel, ReorderBufferChange *change)
{
	PluginData *data = ctx->output_plugin_private;
	PluginRel  *entry = plugin_rel_get(rel);
	MemoryContext old;
	HeapTuple	tuple;

	if (!entry->is_tombstone && entry->meta_attnum == InvalidAttrNumber)
		return;
	if (change->action != REORDER_BUFFER_CHANGE_INSERT &&
		change->action != REORDER_BUFFER_CHANGE_UPDATE)
		return;					/* deletes travel as tombstones */
	if (change->data.tp.newtuple == NULL)
		return;
	tuple = &change->data.tp.newtuple->tuple;

	old = MemoryContextSwitchTo(data->context);
	plugin_send_begin(ctx, txn);
	if (entry->is_tombstone)
		plugin_send_tombstone(ctx, rel, tuple);
	else
		plugin_send_row(ctx, rel, entry, tuple);
	MemoryContextSwitchTo(old);
	MemoryContextReset(data->context);
}

static void
plugin_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			   XLogRecPtr lsn, bool transactional,
			   const char *prefix, Size sz, const char *message)
{
	PluginData *data = ctx->output_plugin_private;
	MemoryContext old;
	WireMessage msg;

	if (!transactional || strcmp(prefix, EDGE_CRDT_MESSAGE_PREFIX) != 0)
		return;

	old = MemoryContextSwitchTo(data->context);
	plugin_send_begin(ctx, txn);
	memset(&msg, 0, sizeof(msg));
	msg.type = WIRE_MESSAGE;
	msg.transactional = true;
	msg.prefix = slice_cstring(prefix);
	msg.content.data = message;
	msg.content.len = sz;
	plugin_write(ctx, &msg);
	MemoryContextSwitchTo(old);
	MemoryContextReset(data->context);
}
