/*-------------------------------------------------------------------------
 * snapshot.c
 *	  edge_crdt.table_snapshot(regclass): a whole replicated table as wire
 *	  messages, for the initial copy to a peer that lacks it.
 *
 * The copying node runs it inside a transaction whose snapshot is the one
 * its replication slot was created with (or a later one), so copy and
 * stream together cover every change: whatever the snapshot misses
 * committed after it and is decoded from the slot.  Overlap is harmless,
 * the merge is idempotent.
 *
 * Rows travel as ROW messages and tombstones as DELETE messages, built by
 * the same code as the output plugin's (encode.c): the copy keeps causal
 * lengths and column versions, so copied state merges like streamed state,
 * and a row deleted here cannot come back on the copying node from an old
 * change it receives from someone else.
 *
 * IDENTIFICATION
 *	  src/capture/snapshot.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/encode.h"

typedef struct SnapshotScan
{
	Relation	rel;
	Relation	tombrel;
	SysScanDesc tombscan;		/* first phase; NULL once done */
	TableScanDesc rowscan;		/* second phase */
	TupleTableSlot *slot;
	MemoryContext scratch;		/* reset for every message */
} SnapshotScan;

static SnapshotScan *
snapshot_begin(Oid relid)
{
	SnapshotScan *scan = palloc0(sizeof(SnapshotScan));
	Oid			nspid = get_namespace_oid("edge_crdt", false);
	Oid			tombid = get_relname_relid("tombstone", nspid);
	Oid			tombpk = get_relname_relid("tombstone_pkey", nspid);
	AclResult	aclresult;
	ScanKeyData key;

	aclresult = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));

	scan->rel = table_open(relid, AccessShareLock);
	if (EncodeKindOf(scan->rel) != ENCODE_ROWS)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not replicated on this node",
						RelationGetRelationName(scan->rel)),
				 errhint("Call edge_crdt.replicate_table('%s') here first.",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(scan->rel)),
													RelationGetRelationName(scan->rel)))));
	if (!OidIsValid(tombid) || !OidIsValid(tombpk))
		elog(ERROR, "edge_crdt.tombstone or its primary key is missing");

	scan->tombrel = table_open(tombid, AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan->tombscan = systable_beginscan(scan->tombrel, tombpk, true,
										GetActiveSnapshot(), 1, &key);
	scan->rowscan = table_beginscan(scan->rel, GetActiveSnapshot(), 0, NULL);
	scan->slot = table_slot_create(scan->rel, NULL);
	scan->scratch = AllocSetContextCreate(CurrentMemoryContext,
										  "edge_crdt table snapshot",
										  ALLOCSET_DEFAULT_SIZES);
	return scan;
}

static void
snapshot_end(SnapshotScan *scan)
{
	if (scan->tombscan)
		systable_endscan(scan->tombscan);
	table_endscan(scan->rowscan);
	ExecDropSingleTupleTableSlot(scan->slot);
	table_close(scan->tombrel, AccessShareLock);
	table_close(scan->rel, AccessShareLock);
	MemoryContextDelete(scan->scratch);
}

/* The next message, or false at the end. */
static bool
snapshot_next(SnapshotScan *scan, WireMessage *msg)
{
	while (scan->tombscan)
	{
		HeapTuple	tup = systable_getnext(scan->tombscan);

		if (!HeapTupleIsValid(tup))
		{
			systable_endscan(scan->tombscan);
			scan->tombscan = NULL;
			break;
		}
		if (EncodeTombstone(RelationGetDescr(scan->tombrel), tup, msg))
			return true;
	}
	if (table_scan_getnextslot(scan->rowscan, ForwardScanDirection, scan->slot))
	{
		bool		should_free;
		HeapTuple	tup = ExecFetchSlotHeapTuple(scan->slot, false, &should_free);

		EncodeRow(scan->rel, tup, false, msg);
		return true;
	}
	return false;
}

/*
 * table_snapshot(rel regclass) returns setof bytea
 */
PG_FUNCTION_INFO_V1(table_snapshot_sql);
Datum
table_snapshot_sql(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	SnapshotScan *scan;
	WireMessage msg;
	MemoryContext old;
	CrdtBuf		buf;
	bytea	   *result;

	if (SRF_IS_FIRSTCALL())
	{
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		funcctx->user_fctx = snapshot_begin(PG_GETARG_OID(0));
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	scan = funcctx->user_fctx;
	CHECK_FOR_INTERRUPTS();

	MemoryContextReset(scan->scratch);
	old = MemoryContextSwitchTo(scan->scratch);
	if (!snapshot_next(scan, &msg))
	{
		MemoryContextSwitchTo(old);
		snapshot_end(scan);
		SRF_RETURN_DONE(funcctx);
	}
	crdt_buf_init(&buf, crdt_palloc, 256);
	wire_encode(&buf, &msg);
	MemoryContextSwitchTo(old);

	result = palloc(VARHDRSZ + buf.len);
	SET_VARSIZE(result, VARHDRSZ + buf.len);
	memcpy(VARDATA(result), buf.data, buf.len);
	SRF_RETURN_NEXT(funcctx, PointerGetDatum(result));
}
