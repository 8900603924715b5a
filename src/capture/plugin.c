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
 *		key alone).  Not sent: tombstone collection stamping our own
 *		tombstones with a commit position (lsn set on a tombstone of this
 *		node), its deletes, and table floors (sql/install/88_gc.sql).
 *	  - transactional logical messages with prefix "edge_crdt" (DDL, stream
 *		wake-ups).
 *	  BEGIN is sent lazily, before the first of these, so transactions that
 *	  touch nothing replicated cost the subscriber nothing.
 *
 * Options (START_REPLICATION ... (name 'value', ...)):
 *	  proto_version		 wire protocol version; only 1 exists (default 1)
 *	  batch				 "off" (default): one wire message per write;
 *						 "on": frames, a transaction's messages batched
 *						 into few writes (wire.h, WIRE_BATCH_BYTES)
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
#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "port/pg_bswap.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/encode.h"
#include "edge_crdt/message.h"
#include "edge_crdt/wire.h"

typedef struct PluginData
{
	MemoryContext context;		/* reset after every callback */
	int			proto_version;
	int32		subscriber_node;
	bool		any_origin;
	bool		batch;
	StringInfoData pending;		/* batch: frames not written yet */
	int32		local_node;		/* read lazily from edge_crdt.node */
} PluginData;

typedef struct PluginTxn
{
	bool		sent_begin;
} PluginTxn;

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
	{
		MemoryContext old = MemoryContextSwitchTo(ctx->context);

		initStringInfo(&data->pending);
		MemoryContextSwitchTo(old);
	}
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
		else if (strcmp(elem->defname, "batch") == 0)
		{
			if (!parse_bool(value, &data->batch))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid value \"%s\" for option \"batch\"", value),
						 errhint("Valid values are \"on\" and \"off\".")));
		}
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
					 errhint("Known options are proto_version, subscriber_node_id, origins and batch.")));
	}
}

static void
plugin_shutdown(LogicalDecodingContext *ctx)
{
	PluginData *data = ctx->output_plugin_private;

	MemoryContextDelete(data->context);
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
plugin_flush(LogicalDecodingContext *ctx)
{
	PluginData *data = ctx->output_plugin_private;

	if (data->pending.len == 0)
		return;
	OutputPluginPrepareWrite(ctx, true);
	appendBinaryStringInfo(ctx->out, data->pending.data, data->pending.len);
	OutputPluginWrite(ctx, true);
	resetStringInfo(&data->pending);
}

/* Send a message, or with batch add it to the pending frames. */
static void
plugin_write(LogicalDecodingContext *ctx, const WireMessage *msg)
{
	PluginData *data = ctx->output_plugin_private;
	CrdtBuf		buf;

	crdt_buf_init(&buf, crdt_palloc, 256);
	wire_encode(&buf, msg);
	if (!data->batch)
	{
		OutputPluginPrepareWrite(ctx, true);
		appendBinaryStringInfo(ctx->out, buf.data, buf.len);
		OutputPluginWrite(ctx, true);
		return;
	}
	{
		uint32		netlen = pg_hton32((uint32) buf.len);

		appendBinaryStringInfo(&data->pending, (char *) &netlen, 4);
		appendBinaryStringInfo(&data->pending, buf.data, buf.len);
	}
	if (data->pending.len >= WIRE_BATCH_BYTES)
		plugin_flush(ctx);
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
	plugin_flush(ctx);
}

static bool
plugin_filter_origin(LogicalDecodingContext *ctx, RepOriginId origin_id)
{
	PluginData *data = ctx->output_plugin_private;

	return !data->any_origin && origin_id != InvalidRepOriginId;
}

/*
 * A tombstone of this node with a commit position is tombstone collection
 * stamping it: the deletion itself was sent when the capture trigger wrote
 * the tombstone (always without a position).
 */
static bool
plugin_tombstone_stamped(PluginData *data, Relation rel, HeapTuple tuple)
{
	bool		node_null;
	bool		lsn_null;
	Datum		node = heap_getattr(tuple, 5, RelationGetDescr(rel), &node_null);

	(void) heap_getattr(tuple, 6, RelationGetDescr(rel), &lsn_null);
	return !lsn_null && !node_null &&
		DatumGetInt32(node) == plugin_local_node(data);
}

static void
plugin_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			  Relation rel, ReorderBufferChange *change)
{
	PluginData *data = ctx->output_plugin_private;
	EncodeRelKind kind = EncodeKindOf(rel);
	MemoryContext old;
	HeapTuple	tuple;
	WireMessage msg;

	if (kind == ENCODE_NOTHING)
		return;
	if (change->action != REORDER_BUFFER_CHANGE_INSERT &&
		change->action != REORDER_BUFFER_CHANGE_UPDATE)
		return;					/* deletes travel as tombstones */
	if (change->data.tp.newtuple == NULL)
		return;
	tuple = &change->data.tp.newtuple->tuple;

	if (kind == ENCODE_TOMBSTONES && plugin_tombstone_stamped(data, rel, tuple))
		return;

	old = MemoryContextSwitchTo(data->context);
	if (kind == ENCODE_ROWS)
		EncodeRow(rel, tuple, true, &msg);
	if (kind == ENCODE_ROWS || EncodeTombstone(RelationGetDescr(rel), tuple, &msg))
	{
		plugin_send_begin(ctx, txn);
		plugin_write(ctx, &msg);
	}
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
	msg.prefix.data = prefix;
	msg.prefix.len = strlen(prefix);
	msg.content.data = message;
	msg.content.len = sz;
	plugin_write(ctx, &msg);
	MemoryContextSwitchTo(old);
	MemoryContextReset(data->context);
}
