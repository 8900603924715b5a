/*-------------------------------------------------------------------------
 * tombstone.c
 *	  Tombstones of deleted rows and the primary-key encoding (tombstone.h).
 *
 * The tombstone table is written through a saved SPI plan: deletes are not
 * the hot path, and going through the executor keeps the table's index and
 * WAL logging (which the output plugin decodes into DELETE messages)
 * ordinary.  Lookups are (see TombstoneLookup).
 *
 * IDENTIFICATION
 *	  src/capture/tombstone.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "edge_crdt/tombstone.h"

static SPIPlanPtr write_plan = NULL;

bytea *
TombstoneKeyFromTuple(ReplRelInfo *info, TupleDesc desc, HeapTuple tuple)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, VARHDRSZ);
	for (i = 0; i < info->npk; i++)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, info->pk_attnums[i], desc, &isnull);
		uint32		len;
		uint32		netlen;

		if (isnull)
			elog(ERROR, "primary key column %d is null", info->pk_attnums[i]);
		if (info->pk_binary[i])
		{
			bytea	   *b = SendFunctionCall(&info->pk_out_finfo[i], value);

			appendStringInfoChar(&buf, 'b');
			len = VARSIZE(b) - VARHDRSZ;
			netlen = pg_hton32(len);
			appendBinaryStringInfo(&buf, (char *) &netlen, 4);
			appendBinaryStringInfo(&buf, VARDATA(b), len);
		}
		else
		{
			char	   *s = OutputFunctionCall(&info->pk_out_finfo[i], value);

			appendStringInfoChar(&buf, 't');
			len = strlen(s);
			netlen = pg_hton32(len);
			appendBinaryStringInfo(&buf, (char *) &netlen, 4);
			appendBinaryStringInfo(&buf, s, len);
		}
	}
	SET_VARSIZE(buf.data, buf.len);
	return (bytea *) buf.data;
}

/*
 * Read through the primary key index directly: every insert of a new key
 * (capture) and every remote row that finds no local row (apply) asks, and
 * an SPI query spends most of its time starting an executor.  The snapshot
 * is the one SPI would use, after a command counter increment as SPI does.
 *
 * The row with the empty key (no primary key encodes to zero bytes) is the
 * table's floor: the greatest causal length among its collected tombstones
 * (see sql/install/88_gc.sql).
 */
typedef struct TombstoneScan
{
	Relation	rel;
	Relation	idx;
	Snapshot	snapshot;
	TupleTableSlot *slot;
} TombstoneScan;

static void
tombstone_scan_open(TombstoneScan *ts)
{
	Oid			nspid = get_namespace_oid("edge_crdt", false);
	Oid			tombid = get_relname_relid("tombstone", nspid);
	Oid			pkid = get_relname_relid("tombstone_pkey", nspid);

	if (!OidIsValid(tombid) || !OidIsValid(pkid))
		elog(ERROR, "edge_crdt.tombstone or its primary key is missing");
	CommandCounterIncrement();
	ts->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	ts->rel = table_open(tombid, AccessShareLock);
	ts->idx = index_open(pkid, AccessShareLock);
	ts->slot = table_slot_create(ts->rel, NULL);
}

static void
tombstone_scan_close(TombstoneScan *ts)
{
	ExecDropSingleTupleTableSlot(ts->slot);
	index_close(ts->idx, AccessShareLock);
	table_close(ts->rel, AccessShareLock);
	UnregisterSnapshot(ts->snapshot);
}

/*
 * Causal length of the first tombstone of relid whose key compares to key
 * by strategy (equal, or greater for "any"), 0 if none.
 */
static int64
tombstone_probe(TombstoneScan *ts, Oid relid, bytea *key, StrategyNumber strategy)
{
	IndexScanDesc scan;
	ScanKeyData skey[2];
	int64		cl = 0;

	ScanKeyInit(&skey[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&skey[1], 2, strategy,
				strategy == BTEqualStrategyNumber ? F_BYTEAEQ : F_BYTEAGT,
				PointerGetDatum(key));
	scan = index_beginscan(ts->rel, ts->idx, ts->snapshot, 2, 0);
	index_rescan(scan, skey, 2, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, ts->slot))
	{
		bool		isnull;

		cl = DatumGetInt64(slot_getattr(ts->slot, 3, &isnull));
	}
	index_endscan(scan);
	return cl;
}

static bytea *
tombstone_floor_key(void)
{
	bytea	   *key = palloc(VARHDRSZ);

	SET_VARSIZE(key, VARHDRSZ);
	return key;
}

int64
TombstoneLookup(Oid relid, bytea *key)
{
	TombstoneScan ts;
	int64		cl;

	tombstone_scan_open(&ts);
	cl = tombstone_probe(&ts, relid, key, BTEqualStrategyNumber);
	tombstone_scan_close(&ts);
	return cl;
}

/*
 * Both under one snapshot: tombstone collection deletes a tombstone and
 * raises the floor in one transaction, so an insert sees one or the other.
 */
int64
TombstoneLookupWithFloor(Oid relid, bytea *key)
{
	TombstoneScan ts;
	int64		cl;
	int64		floor;

	tombstone_scan_open(&ts);
	cl = tombstone_probe(&ts, relid, key, BTEqualStrategyNumber);
	floor = tombstone_probe(&ts, relid, tombstone_floor_key(), BTEqualStrategyNumber);
	tombstone_scan_close(&ts);
	return Max(cl, floor);
}

bool
TombstoneLookupAny(Oid relid)
{
	TombstoneScan ts;
	int64		cl;

	tombstone_scan_open(&ts);
	cl = tombstone_probe(&ts, relid, tombstone_floor_key(), BTGreaterStrategyNumber);
	tombstone_scan_close(&ts);
	return cl != 0;
}

void
TombstoneWrite(Oid relid, bytea *key, int64 cl, CrdtVersion version,
			   XLogRecPtr origin_lsn)
{
	Datum		values[6];
	char		nulls[6] = "      ";

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (write_plan == NULL)
	{
		Oid			types[6] = {OIDOID, BYTEAOID, INT8OID, INT8OID, INT4OID, PG_LSNOID};
		SPIPlanPtr	plan;

		/*
		 * The greater causal length wins, as in every merge.  The same
		 * deletion arriving again (a copy, then the stream) may bring the
		 * origin's commit position that the first one lacked.
		 */
		plan = SPI_prepare("INSERT INTO edge_crdt.tombstone AS t "
						   "(relid, pk, cl, hlc, node, lsn) VALUES ($1, $2, $3, $4, $5, $6) "
						   "ON CONFLICT (relid, pk) DO UPDATE "
						   "SET cl = excluded.cl, hlc = excluded.hlc, node = excluded.node, "
						   "lsn = CASE WHEN t.cl < excluded.cl THEN excluded.lsn "
						   "ELSE GREATEST(t.lsn, excluded.lsn) END "
						   "WHERE t.cl < excluded.cl "
						   "OR (t.cl = excluded.cl AND t.hlc = excluded.hlc "
						   "AND t.node = excluded.node "
						   "AND COALESCE(t.lsn, '0/0'::pg_catalog.pg_lsn) < excluded.lsn)", 6, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		write_plan = plan;
	}
	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(key);
	values[2] = Int64GetDatum(cl);
	values[3] = Int64GetDatum(version.hlc);
	values[4] = Int32GetDatum(version.node);
	values[5] = LSNGetDatum(origin_lsn);
	if (XLogRecPtrIsInvalid(origin_lsn))
		nulls[5] = 'n';
	if (SPI_execute_plan(write_plan, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write edge_crdt.tombstone");
	SPI_finish();
}
