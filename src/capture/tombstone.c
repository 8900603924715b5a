/*-------------------------------------------------------------------------
 * tombstone.c
 *	  Tombstones of deleted rows and the primary-key encoding (tombstone.h).
 *
 * The tombstone table is written through saved SPI plans: deletes are not
 * the hot path, and going through the executor keeps the table's index and
 * WAL logging (which the output plugin decodes into DELETE messages)
 * ordinary.
 *
 * IDENTIFICATION
 *	  src/capture/tombstone.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "edge_crdt/tombstone.h"

static SPIPlanPtr lookup_plan = NULL;
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

int64
TombstoneLookup(Oid relid, bytea *key)
{
	Datum		values[2];
	int64		cl = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (lookup_plan == NULL)
	{
		Oid			types[2] = {OIDOID, BYTEAOID};
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT cl FROM edge_crdt.tombstone "
						   "WHERE relid = $1 AND pk = $2", 2, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		lookup_plan = plan;
	}
	values[0] = ObjectIdGetDatum(relid);
	values[1] = PointerGetDatum(key);
	if (SPI_execute_plan(lookup_plan, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.tombstone");
	if (SPI_processed > 0)
	{
		bool		isnull;

		cl = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										 SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
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
