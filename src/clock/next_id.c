/*-------------------------------------------------------------------------
 * next_id.c
 *	  edge_crdt.next_id(): 64-bit primary keys that are unique across
 *	  regions and roughly ordered by time.
 *
 * Sequences hand out the same numbers in every region, so replicated
 * tables need keys that cannot collide.  A next_id() value is
 *
 *	  0 | 41 bits: ms since 2025-01-01 | 12 bits: node prefix | 10 bits: seq
 *
 * The millisecond and the sequence are the hybrid logical clock's, taken
 * with a logical part below 1024 (HlcNowBounded): the clock never issues a
 * value twice, not even across a crash, so neither does next_id on one
 * node.  The node prefix (NodeIdPrefix) tells nodes apart; add_peer
 * refuses two nodes sharing one.  Ordering across nodes is as good as
 * their clocks ("k-ordered"), and ids of one node increase strictly.
 * 41 bits of milliseconds last until 2094; more than 1024 ids in one
 * millisecond borrow the next millisecond, as the HLC does.
 *
 * IDENTIFICATION
 *	  src/clock/next_id.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/timestamp.h"

#include "edge_crdt/hlc.h"
#include "edge_crdt/node.h"

#define NEXT_ID_EPOCH_MS	INT64CONST(1735689600000)	/* 2025-01-01 00:00 UTC */
#define NEXT_ID_SEQ_BITS	10
#define NEXT_ID_MS_BITS		(63 - NODE_ID_PREFIX_BITS - NEXT_ID_SEQ_BITS)

PG_FUNCTION_INFO_V1(next_id_sql);
Datum
next_id_sql(PG_FUNCTION_ARGS)
{
	int32		node = EdgeCrdtLocalNodeId(false);
	int64		hlc = HlcNowBounded(1 << NEXT_ID_SEQ_BITS);
	int64		ms = HLC_TO_MS(hlc) - NEXT_ID_EPOCH_MS;
	int64		seq = hlc & ((1 << NEXT_ID_SEQ_BITS) - 1);

	if (ms < 0 || ms >= (INT64CONST(1) << NEXT_ID_MS_BITS))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("the clock is outside the range edge_crdt.next_id() covers"),
				 errdetail("Ids cover 2025-01-01 to 2094.")));
	PG_RETURN_INT64((ms << (NODE_ID_PREFIX_BITS + NEXT_ID_SEQ_BITS)) |
					((int64) NodeIdPrefix(node) << NEXT_ID_SEQ_BITS) | seq);
}

/*
 * next_id_info(id int8, OUT issued_at timestamptz, OUT node_prefix int4,
 *				OUT seq int4)
 */
PG_FUNCTION_INFO_V1(next_id_info_sql);
Datum
next_id_info_sql(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	TupleDesc	desc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int64		ms;

	if (id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%lld is not an edge_crdt.next_id() value", (long long) id),
				 errdetail("Those are never negative.")));
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	ms = (id >> (NODE_ID_PREFIX_BITS + NEXT_ID_SEQ_BITS)) + NEXT_ID_EPOCH_MS;
	/* Unix ms to PostgreSQL microseconds since 2000-01-01. */
	values[0] = TimestampTzGetDatum((ms - INT64CONST(946684800000)) * 1000);
	values[1] = Int32GetDatum((int32) ((id >> NEXT_ID_SEQ_BITS) &
									   ((1 << NODE_ID_PREFIX_BITS) - 1)));
	values[2] = Int32GetDatum((int32) (id & ((1 << NEXT_ID_SEQ_BITS) - 1)));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
