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
 */
static int64 tombstone_first(Oid relid, bytea *key);

int64
TombstoneLookup(Oid relid, bytea *key)
{
	return tombstone_first(relid, key);
}

bool
TombstoneLookupAny(Oid relid)
{
	return tombstone_first(relid, NULL) != 0;
}

/* The causal length of the first tombstone of relid (and key), 0 if none. */
static int64
tombstone_first(Oid relid, bytea *key)
{
	Oid			nspid = get_namespace_oid("edge_crdt", false);
	Oid			tombid = get_relname_relid("tombstone", nspid);
	Oid			pkid = get_relname_relid("tombstone_pkey", nspid);
	Relation	rel;
	Relation	idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ScanKeyData skey[2];
	Snapshot	snapshot;
	int64		cl = 0;

	if (!OidIsValid(tombid) || !OidIsValid(pkid))
		elog(ERROR, "edge_crdt.tombstone or its primary key is missing");
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	rel = table_open(tombid, AccessShareLock);
	idx = index_open(pkid, AccessShareLock);
	ScanKeyInit(&skey[0], 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	if (key)
		ScanKeyInit(&skey[1], 2, BTEqualStrategyNumber, F_BYTEAEQ, PointerGetDatum(key));
	scan = index_beginscan(rel, idx, snapshot, key ? 2 : 1, 0);
	index_rescan(scan, skey, key ? 2 : 1, NULL, 0);
	slot = table_slot_create(rel, NULL);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;

		cl = DatumGetInt64(slot_getattr(slot, 3, &isnull));
	}
	ExecDropSingleTupleTableSlot(slot);
	index_endscan(scan);
	index_close(idx, AccessShareLock);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snapshot);
	return cl;
}

void
TombstoneWrite(Oid relid, bytea *key, int64 cl, CrdtVersion version)
{
	Datum		values[5];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (write_plan == NULL)
	{
		Oid			types[5] = {OIDOID, BYTEAOID, INT8OID, INT8OID, INT4OID};
		SPIPlanPtr	plan;

		/* The greater causal length wins, as in every merge. */
		plan = SPI_prepare("INSERT INTO edge_crdt.tombstone AS t "
						   "(relid, pk, cl, hlc, node) VALUES ($1, $2, $3, $4, $5) "
						   "ON CONFLICT (relid, pk) DO UPDATE "
						   "SET cl = excluded.cl, hlc = excluded.hlc, node = excluded.node "
						   "WHERE t.cl < excluded.cl", 5, types);
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
	if (SPI_execute_plan(write_plan, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write edge_crdt.tombstone");
	SPI_finish();
}
