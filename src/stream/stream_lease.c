/*-------------------------------------------------------------------------
 * stream_lease.c
 *	  Shared consumer groups: fresh messages are handed out in leases, one
 *	  row per batch, and the group's floor moves up over what is
 *	  acknowledged.  No per-message state until a message is handed out.
 *
 * State of a shared group g (sql/install/90_stream.sql):
 *	  floor		every message at or below it is acknowledged
 *	  leases	(pos[], pending[]): the positions a lease covers, and those
 *				of them not acknowledged yet
 * A message is *covered* if its position is at or below the floor or in
 * some lease's pos.  Covered messages are never handed out fresh again
 * (only redelivered from their lease, _stream_lease_redeliver).
 *
 * Choosing fresh messages (StreamTakeFresh), under the per-group LEASE
 * lock, which only choosers take and which is released as soon as the new
 * lease row is in:
 *	  1. read every lease of g: committed rows and rows of transactions
 *		 still open, i.e. also leases other consumers took and have not
 *		 committed yet (they inserted them under the lock we now hold), so no
 *		 message is handed out twice while both are open; a rolled-back
 *		 lease does not count, so its messages become fresh again (every row
 *		 version is read and classified, see version_state for why not a
 *		 dirty snapshot);
 *	  2. then read the floor (the greatest value committed or open);
 *	  3. walk the stream's messages above the floor in position order (dirty
 *		 snapshot) and take the first count ones that are committed and not
 *		 covered.  A message of a transaction still open is skipped, not
 *		 passed: coverage is by explicit position, so it is taken by a later
 *		 call once it commits (no skipped message, whatever the commit order).
 * Leases are read before the floor because moving the floor deletes the
 * leases it absorbs in the same transaction: a chooser that saw the old
 * floor saw those leases too, or it saw the new floor.
 *
 * Moving the floor to X needs every message at or below X to be committed,
 * covered and acknowledged in a committed lease version (acknowledgement is
 * final: a pending position only ever moves between leases or goes away).
 * The walk of step 3 sees all of them, except a message whose position was
 * drawn (nextval) but whose row is not in yet; stores therefore hold the
 * stream's INSERT lock (shared) from before nextval until the row and its
 * index entries are in.  Before it walks, a chooser reads the position
 * sequence and then looks for holders of that lock: if there are none,
 * every position up to the reading has its row, and X never passes the
 * reading (if there are, the floor stays where it is this time).  When the
 * walk saw enough acknowledged messages, the chooser moves the floor and
 * deletes the acknowledged leases below it, unless another transaction is
 * doing so (SKIP LOCKED on the group row).
 *
 * IDENTIFICATION
 *	  src/stream/stream_lease.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "edge_crdt/stream.h"
#include "edge_crdt/stream_lease.h"

#define STREAM_SEGMENTS			4

/* Move the floor once the walk passes this many acknowledged messages. */
#define STREAM_COMPACT_MIN		64

/* A set of positions: appended, then sorted for lookups. */
typedef struct PosSet
{
	int64	   *v;
	int			n;
	int			cap;
} PosSet;

static void
posset_add(PosSet *s, int64 p)
{
	if (s->n == s->cap)
	{
		s->cap = Max(64, s->cap * 2);
		s->v = s->v ? repalloc(s->v, sizeof(int64) * s->cap) : palloc(sizeof(int64) * s->cap);
	}
	s->v[s->n++] = p;
}

int
StreamCmpInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return (x > y) - (x < y);
}

static void
posset_sort(PosSet *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(int64), StreamCmpInt64);
}

static bool
posset_has(const PosSet *s, int64 p)
{
	return s->n > 0 && bsearch(&p, s->v, s->n, sizeof(int64), StreamCmpInt64) != NULL;
}

/* An int8[] column as a C array (never null, never with null elements). */
static int64 *
int8_array(Datum d, int *n)
{
	ArrayType  *arr = DatumGetArrayTypeP(d);

	if (ARR_NDIM(arr) > 1 || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT8OID)
		elog(ERROR, "malformed position array in edge_crdt.stream_lease");
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	return (int64 *) ARR_DATA_PTR(arr);
}

static AttrNumber
attnum_of(Relation rel, const char *name)
{
	AttrNumber	a = get_attnum(RelationGetRelid(rel), name);

	if (a == InvalidAttrNumber)
		elog(ERROR, "column \"%s\" of \"%s\" is missing", name, RelationGetRelationName(rel));
	return a;
}

static Oid
stream_relid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid("edge_crdt", false));

	if (!OidIsValid(relid))
		elog(ERROR, "relation edge_crdt.%s does not exist", name);
	return relid;
}

/*
 * An index scan over one relation, keyed on its first index column, with a
 * dirty snapshot (message segments) or every row version (SnapshotAny:
 * leases and the group row, see version_state).
 */
typedef struct KeyScan
{
	Relation	rel;
	Relation	idx;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	SnapshotData dirty;
} KeyScan;

static void
keyscan_begin(KeyScan *ks, Relation rel, Oid indexoid, StrategyNumber strategy,
			  RegProcedure proc, Datum arg, bool all_versions)
{
	ScanKeyData key;

	ks->rel = rel;
	ks->idx = index_open(indexoid, AccessShareLock);
	InitDirtySnapshot(ks->dirty);
	ScanKeyInit(&key, 1, strategy, proc, arg);
	ks->scan = index_beginscan(rel, ks->idx, all_versions ? SnapshotAny : &ks->dirty, 1, 0);
	/* segments: positions from the index entries (before the rescan, which
	 * sets up the AM's copy of them) */
	ks->scan->xs_want_itup = !all_versions;
	index_rescan(ks->scan, &key, 1, NULL, 0);
	ks->slot = table_slot_create(rel, NULL);
}

static void
keyscan_end(KeyScan *ks)
{
	index_endscan(ks->scan);
	ExecDropSingleTupleTableSlot(ks->slot);
	index_close(ks->idx, NoLock);
}

/*
 * What a row version of a lease or group row, read with SnapshotAny, says:
 * VERSION_ABORTED (its inserter rolled back: it never existed),
 * VERSION_VISIBLE (visible to snap: the committed state as of snap),
 * VERSION_OPEN (inserted by another transaction open when snap was taken,
 * which may have committed since), VERSION_OTHER (superseded or deleted
 * before snap -- by us or by a committed transaction: what replaced it is
 * visible, or the floor covers it).
 *
 * Why every version and not a dirty snapshot: a dirty index scan can miss
 * a row entirely when an update moves it to another page during the scan
 * (btree hands out a leaf page's entries at once: the new entry comes after
 * the read, and the old version turns invisible when the update commits).
 * The old version stays reachable here: it cannot be pruned while snap,
 * taken before the scan, may see it; and if its updater committed before
 * snap was taken, the new entry was in the index before the scan began.
 */
typedef enum VersionState
{
	VERSION_ABORTED,
	VERSION_VISIBLE,
	VERSION_OPEN,
	VERSION_OTHER
} VersionState;

static VersionState
version_state(TupleTableSlot *slot, Snapshot snap)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	HeapTuple	tup = bslot->base.tuple;
	Buffer		buf = bslot->buffer;
	TransactionId xmin;
	bool		visible;
	bool		xmin_committed;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	visible = HeapTupleSatisfiesVisibility(tup, snap, buf);
	xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	/* hint bits, set by the test above once xmin's fate was known */
	xmin_committed = HeapTupleHeaderXminCommitted(tup->t_data);
	if (!visible && HeapTupleHeaderXminInvalid(tup->t_data))
	{
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		return VERSION_ABORTED;
	}
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	if (visible)
		return VERSION_VISIBLE;
	/* most versions read are superseded ones: no proc array, no clog */
	if (xmin_committed)
		return XidInMVCCSnapshot(xmin, snap) ? VERSION_OPEN : VERSION_OTHER;
	/* ours and not visible: we updated or deleted it since */
	if (TransactionIdIsCurrentTransactionId(xmin))
		return VERSION_OTHER;
	if (TransactionIdIsInProgress(xmin))
		return VERSION_OPEN;
	if (!TransactionIdDidCommit(xmin))
		return VERSION_ABORTED;
	return XidInMVCCSnapshot(xmin, snap) ? VERSION_OPEN : VERSION_OTHER;
}

/* Every lease of the group, see the header comment and version_state. */
typedef struct LeaseView
{
	PosSet		covered;		/* in the pos of a version visible or open */
	PosSet		pending;		/* pending in a version visible or open */
	PosSet		acked;			/* acknowledged in a committed version */
	bool		due;			/* a committed lease with pending messages is
								 * visible again */
	TimestampTz next_due;		/* the earliest time one becomes visible again
								 * (visible or open versions), or 0 */
} LeaseView;

static void
lease_view(int32 group_id, TimestampTz now, Snapshot snap, LeaseView *lv)
{
	Relation	rel = table_open(stream_relid("stream_lease"), AccessShareLock);
	AttrNumber	a_pos = attnum_of(rel, "pos");
	AttrNumber	a_pending = attnum_of(rel, "pending");
	AttrNumber	a_visible = attnum_of(rel, "visible_at");
	KeyScan		ks;

	memset(lv, 0, sizeof(*lv));
	keyscan_begin(&ks, rel, RelationGetPrimaryKeyIndex(rel), BTEqualStrategyNumber,
				  F_INT4EQ, Int32GetDatum(group_id), true);
	while (index_getnext_slot(ks.scan, ForwardScanDirection, ks.slot))
	{
		VersionState vs = version_state(ks.slot, snap);
		bool		isnull;
		int			npos;
		int			npending;
		int64	   *pos;
		int64	   *pending;
		int			i;

		if (vs == VERSION_ABORTED || vs == VERSION_OTHER)
			continue;
		pos = int8_array(slot_getattr(ks.slot, a_pos, &isnull), &npos);
		for (i = 0; i < npos; i++)
			posset_add(&lv->covered, pos[i]);
		pending = int8_array(slot_getattr(ks.slot, a_pending, &isnull), &npending);
		for (i = 0; i < npending; i++)
			posset_add(&lv->pending, pending[i]);
		if (npending > 0)
		{
			TimestampTz visible_at = DatumGetTimestampTz(slot_getattr(ks.slot, a_visible, &isnull));

			if (visible_at > now)
			{
				if (lv->next_due == 0 || visible_at < lv->next_due)
					lv->next_due = visible_at;
			}
			else if (vs == VERSION_VISIBLE)
				lv->due = true;
		}
		if (vs == VERSION_OPEN)
			continue;
		/* pending is sorted: what of pos is not in it is acknowledged */
		for (i = 0; i < npos; i++)
			if (npending == 0 ||
				bsearch(&pos[i], pending, npending, sizeof(int64), StreamCmpInt64) == NULL)
				posset_add(&lv->acked, pos[i]);
	}
	keyscan_end(&ks);
	table_close(rel, NoLock);
	posset_sort(&lv->covered);
	posset_sort(&lv->pending);
	posset_sort(&lv->acked);
}

/*
 * The group's floor: the greatest value of a version visible or open (a
 * floor moved by a transaction still open covers only acknowledged
 * messages: taking it early is safe).
 */
static int64
group_floor(int32 group_id, Snapshot snap)
{
	Relation	rel = table_open(stream_relid("stream_group"), AccessShareLock);
	AttrNumber	a_floor = attnum_of(rel, "floor");
	KeyScan		ks;
	bool		found = false;
	int64		floor = 0;

	keyscan_begin(&ks, rel, RelationGetPrimaryKeyIndex(rel), BTEqualStrategyNumber,
				  F_INT4EQ, Int32GetDatum(group_id), true);
	while (index_getnext_slot(ks.scan, ForwardScanDirection, ks.slot))
	{
		bool		isnull;

		VersionState vs = version_state(ks.slot, snap);

		if (vs == VERSION_ABORTED || vs == VERSION_OTHER)
			continue;
		floor = Max(floor, DatumGetInt64(slot_getattr(ks.slot, a_floor, &isnull)));
		found = true;
	}
	keyscan_end(&ks);
	table_close(rel, NoLock);
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("consumer group %d was dropped", group_id)));
	return floor;
}

/*
 * The highest position every store below it has inserted its row for (see
 * the header comment), without blocking stores: read the sequence, then
 * look for stores between nextval and their insert; with none, every
 * position drawn before the reading has its row.  Otherwise answer 0 (the
 * floor does not move this time).
 */
static int64
stream_settled(int32 stream_id)
{
	LOCKTAG		tag;
	Datum		last;
	int			nstores;
	LOCAL_FCINFO(fcinfo, 1);

	InitFunctionCallInfoData(*fcinfo, NULL, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(stream_relid("stream_pos_seq"));
	fcinfo->args[0].isnull = false;
	last = pg_sequence_last_value(fcinfo);
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, 0, STREAM_LOCK_INSERT);
	(void) GetLockConflicts(&tag, ExclusiveLock, &nstores);
	if (nstores > 0 || fcinfo->isnull)
		return 0;
	return DatumGetInt64(last);
}

/*
 * One segment of the stream, scanned by position above the floor.  The
 * position comes from the index entry: covered messages (most of what the
 * walk passes) need no heap access; the others are fetched (segscan_fetch).
 */
typedef struct SegScan
{
	KeyScan		ks;
	bool		valid;			/* an index entry is current */
	int64		pos;
} SegScan;

/* Columns of a stream segment (the same in each: partitions of one parent). */
typedef struct MsgAtts
{
	AttrNumber	pos,
				origin,
				hlc,
				seq,
				key,
				headers,
				payload,
				published_at;
} MsgAtts;

static Oid
segment_pos_index(Relation rel, AttrNumber a_pos)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	foreach(lc, indexes)
	{
		Relation	idx = index_open(lfirst_oid(lc), AccessShareLock);
		bool		match = idx->rd_index->indnatts == 1 &&
			idx->rd_index->indkey.values[0] == a_pos && idx->rd_index->indisvalid;

		index_close(idx, NoLock);
		if (match)
			return lfirst_oid(lc);
	}
	elog(ERROR, "index on pos of \"%s\" is missing", RelationGetRelationName(rel));
	return InvalidOid;			/* keep compiler quiet */
}

static void
segscan_advance(SegScan *ss)
{
	bool		isnull;

	ss->valid = index_getnext_tid(ss->ks.scan, ForwardScanDirection) != NULL;
	if (ss->valid)
		ss->pos = DatumGetInt64(index_getattr(ss->ks.scan->xs_itup, 1,
											  ss->ks.scan->xs_itupdesc, &isnull));
}

/*
 * The row of the current index entry into ks.slot: false if no version is
 * visible to the dirty snapshot (its transaction aborted, or it is dead).
 */
static bool
segscan_fetch(SegScan *ss, bool *in_progress)
{
	if (!index_fetch_heap(ss->ks.scan, ss->ks.slot))
		return false;
	*in_progress = TransactionIdIsValid(ss->ks.dirty.xmin);
	return true;
}

/* A varlena column value, detoasted: the tuplestore keeps it past the scan. */
static Datum
msg_attr(TupleTableSlot *slot, AttrNumber a, bool *isnull, bool varlena)
{
	Datum		d = slot_getattr(slot, a, isnull);

	if (!*isnull && varlena)
		d = PointerGetDatum(pg_detoast_datum_packed((struct varlena *) DatumGetPointer(d)));
	return d;
}

/*
 * Insert the lease of what was taken (positions sorted: walked in order):
 * the row and its primary key entry, as CatalogTupleInsert does for a
 * catalog -- the table has no other index, no constraint but NOT NULL and
 * its key, no trigger (the store refuses triggers on stream tables).
 */
static int64
lease_insert(int32 group_id, const StreamTaken *taken, Datum consumer,
			 TimestampTz now, TimestampTz visible_until)
{
	Relation	rel = table_open(stream_relid("stream_lease"), RowExclusiveLock);
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc0(sizeof(Datum) * desc->natts);
	bool	   *nulls = palloc0(sizeof(bool) * desc->natts);
	Datum	   *elems = palloc(sizeof(Datum) * taken->n);
	Datum		positions;
	int64		lease_id = nextval_internal(stream_relid("stream_lease_seq"), false);
	HeapTuple	tup;
	Relation	idx;
	IndexInfo  *ii;
	Datum		keys[INDEX_MAX_KEYS];
	bool		keynulls[INDEX_MAX_KEYS];
	int			i;

	if (rel->trigdesc != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" of edge_crdt streams must not have triggers",
						RelationGetRelationName(rel))));
	for (i = 0; i < taken->n; i++)
		elems[i] = Int64GetDatum(taken->pos[i]);
	positions = PointerGetDatum(construct_array(elems, taken->n, INT8OID, 8,
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	for (i = 0; i < desc->natts; i++)
		nulls[i] = true;
#define LEASE_SET(name, value) \
	do { \
		AttrNumber a_ = attnum_of(rel, name); \
		values[a_ - 1] = (value); \
		nulls[a_ - 1] = false; \
	} while (0)
	LEASE_SET("group_id", Int32GetDatum(group_id));
	LEASE_SET("lease_id", Int64GetDatum(lease_id));
	LEASE_SET("pos", positions);
	LEASE_SET("pending", positions);
	LEASE_SET("consumer", consumer);
	LEASE_SET("visible_at", TimestampTzGetDatum(visible_until));
	LEASE_SET("deliveries", Int32GetDatum(1));
	LEASE_SET("delivered_at", TimestampTzGetDatum(now));
#undef LEASE_SET
	tup = heap_form_tuple(desc, values, nulls);
	simple_heap_insert(rel, tup);

	idx = index_open(RelationGetPrimaryKeyIndex(rel), RowExclusiveLock);
	ii = BuildIndexInfo(idx);
	for (i = 0; i < ii->ii_NumIndexAttrs; i++)
	{
		keys[i] = values[ii->ii_IndexAttrNumbers[i] - 1];
		keynulls[i] = false;
	}
	(void) index_insert(idx, keys, keynulls, &tup->t_self, rel, UNIQUE_CHECK_YES,
						false, ii);
	index_close(idx, NoLock);
	table_close(rel, NoLock);
	/* the rest of the transaction sees it (ack) */
	CommandCounterIncrement();
	return lease_id;
}

/* Append the i-th message taken, in slot, to read_group's result and to *taken. */
static void
take_message(TupleTableSlot *slot, const MsgAtts *atts, int i,
			 Tuplestorestate *out, TupleDesc outdesc, StreamTaken *taken)
{
	Datum		values[7];
	bool		nulls[7];
	int32		origin;
	int64		hlc;
	int32		seq;
	char		buf[64];

	origin = DatumGetInt32(slot_getattr(slot, atts->origin, &nulls[0]));
	hlc = DatumGetInt64(slot_getattr(slot, atts->hlc, &nulls[0]));
	seq = DatumGetInt32(slot_getattr(slot, atts->seq, &nulls[0]));
	snprintf(buf, sizeof(buf), INT64_FORMAT "-%d-%d", hlc, origin, seq);
	values[0] = CStringGetTextDatum(buf);
	nulls[0] = false;
	values[1] = Int32GetDatum(origin);
	nulls[1] = false;
	values[2] = msg_attr(slot, atts->key, &nulls[2], true);
	values[3] = msg_attr(slot, atts->payload, &nulls[3], true);
	values[4] = msg_attr(slot, atts->headers, &nulls[4], true);
	values[5] = Int32GetDatum(1);
	nulls[5] = false;
	values[6] = msg_attr(slot, atts->published_at, &nulls[6], false);
	tuplestore_putvalues(out, outdesc, values, nulls);
	taken->origin[i] = origin;
	taken->hlc[i] = hlc;
	taken->seq[i] = seq;
}

bool
StreamTakeFresh(int32 stream_id, int32 group_id, Datum consumer, int count,
				TimestampTz now, TimestampTz visible_until, bool redeliveries_first,
				bool will_sleep, Tuplestorestate *out, TupleDesc outdesc,
				StreamTaken *taken)
{
	static SPIPlanPtr plan_lock_group = NULL;
	static SPIPlanPtr plan_compact = NULL;
	LOCKTAG		tag;
	Snapshot	snap;
	int		   *chosen_seg;
	ItemPointerData *chosen_tid;
	LeaseView	lv;
	int64		floor;
	int64		settled;
	SegScan		segs[STREAM_SEGMENTS];
	Relation	rels[STREAM_SEGMENTS];
	Oid			idxs[STREAM_SEGMENTS];
	MsgAtts		atts;
	int64		frontier;
	bool		at_frontier = true;
	int			ncompact = 0;
	int64		last = -1;
	int			i;

	memset(taken, 0, sizeof(*taken));
	taken->pos = palloc(sizeof(int64) * count);
	taken->origin = palloc(sizeof(int32) * count);
	taken->hlc = palloc(sizeof(int64) * count);
	taken->seq = palloc(sizeof(int32) * count);
	chosen_seg = palloc(sizeof(int) * count);
	chosen_tid = palloc(sizeof(ItemPointerData) * count);

	/* read before the walk: every position up to it is in the index */
	settled = stream_settled(stream_id);
	for (i = 0; i < STREAM_SEGMENTS; i++)
	{
		char		name[NAMEDATALEN];

		snprintf(name, sizeof(name), "stream_msg_%d_%d", stream_id, i);
		rels[i] = table_open(stream_relid(name), AccessShareLock);
		idxs[i] = segment_pos_index(rels[i], attnum_of(rels[i], "pos"));
	}
	atts.pos = attnum_of(rels[0], "pos");
	atts.origin = attnum_of(rels[0], "origin");
	atts.hlc = attnum_of(rels[0], "hlc");
	atts.seq = attnum_of(rels[0], "seq");
	atts.key = attnum_of(rels[0], "key");
	atts.headers = attnum_of(rels[0], "headers");
	atts.payload = attnum_of(rels[0], "payload");
	atts.published_at = attnum_of(rels[0], "published_at");

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, (uint32) group_id,
						 STREAM_LOCK_LEASE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	/* the committed state from here on; it also keeps what we read unpruned */
	snap = RegisterSnapshot(GetLatestSnapshot());
	lease_view(group_id, now, snap, &lv);
	taken->next_due = lv.next_due;
	if (lv.due && redeliveries_first)
	{
		/* the caller hands those out first, then calls again */
		LockRelease(&tag, ExclusiveLock, false);
		UnregisterSnapshot(snap);
		for (i = 0; i < STREAM_SEGMENTS; i++)
			table_close(rels[i], NoLock);
		return false;
	}
	floor = group_floor(group_id, snap);
	frontier = floor;
	for (i = 0; i < STREAM_SEGMENTS; i++)
	{
		keyscan_begin(&segs[i].ks, rels[i], idxs[i], BTGreaterStrategyNumber, F_INT8GT,
					  Int64GetDatum(floor), false);
		segscan_advance(&segs[i]);
	}

	/* merge the segments in position order */
	for (;;)
	{
		SegScan    *ss = NULL;
		int64		p;
		bool		in_progress;

		for (i = 0; i < STREAM_SEGMENTS; i++)
			if (segs[i].valid && (ss == NULL || segs[i].pos < ss->pos))
				ss = &segs[i];
		if (ss == NULL)
		{
			/* every message above the floor seen: positions up to settled are */
			if (at_frontier)
				frontier = Max(frontier, settled);
			break;
		}
		p = ss->pos;
		/* an update shows two versions of a row */
		if (p == last)
		{
			segscan_advance(ss);
			continue;
		}

		if (posset_has(&lv.covered, p))
		{
			/* covered messages were committed when they were taken */
			last = p;
			if (at_frontier && p <= settled && posset_has(&lv.acked, p) &&
				!posset_has(&lv.pending, p))
			{
				frontier = p;
				ncompact++;
			}
			else if (at_frontier)
			{
				frontier = Max(frontier, Min(p - 1, settled));
				at_frontier = false;
			}
		}
		else if (segscan_fetch(ss, &in_progress))
		{
			last = p;
			if (at_frontier)
			{
				frontier = Max(frontier, Min(p - 1, settled));
				at_frontier = false;
			}
			/* skipped, not passed: taken by a later call once committed */
			if (!in_progress)
			{
				if (taken->n == count)
					break;
				chosen_seg[taken->n] = ss - segs;
				chosen_tid[taken->n] = ss->ks.slot->tts_tid;
				taken->pos[taken->n++] = p;
			}
		}
		/* else no row at p: its store rolled back */
		segscan_advance(ss);
	}
	if (taken->n > 0)
		taken->lease_id = lease_insert(group_id, taken, consumer, now, visible_until);
	/* the lease is in: other choosers see it from here on */
	LockRelease(&tag, ExclusiveLock, false);
	UnregisterSnapshot(snap);

	/*
	 * Copy the messages out only now, outside the lock: they are committed
	 * and stay (a segment is only ever truncated, under a lock that
	 * conflicts with ours on it).
	 */
	for (i = 0; i < taken->n; i++)
	{
		TupleTableSlot *slot = segs[chosen_seg[i]].ks.slot;

		if (!table_tuple_fetch_row_version(rels[chosen_seg[i]], &chosen_tid[i], SnapshotAny, slot))
			elog(ERROR, "message at position " INT64_FORMAT " vanished", taken->pos[i]);
		take_message(slot, &atts, i, out, outdesc, taken);
	}
	for (i = 0; i < STREAM_SEGMENTS; i++)
	{
		keyscan_end(&segs[i].ks);
		table_close(rels[i], NoLock);
	}

	/*
	 * Moving the floor locks the group row until our transaction ends; a
	 * reader that found nothing and is going to sleep leaves it to others.
	 */
	if (frontier > floor &&
		(ncompact >= STREAM_COMPACT_MIN || (taken->n == 0 && ncompact > 0)) &&
		!(taken->n == 0 && will_sleep))
	{
		Datum		values[2];
		int			rc;

		if (plan_lock_group == NULL)
		{
			Oid			argtypes[1] = {INT4OID};
			Oid			argtypes2[2] = {INT4OID, INT8OID};

			plan_lock_group = SPI_prepare("SELECT 1 FROM edge_crdt.stream_group "
										  "WHERE group_id = $1 FOR UPDATE SKIP LOCKED",
										  1, argtypes);
			if (plan_lock_group == NULL || SPI_keepplan(plan_lock_group) != 0)
				elog(ERROR, "could not prepare the floor lock");
			plan_compact = SPI_prepare("WITH f AS (UPDATE edge_crdt.stream_group SET floor = $2"
									   " WHERE group_id = $1 AND floor < $2 RETURNING 1) "
									   "DELETE FROM edge_crdt.stream_lease"
									   " WHERE group_id = $1 AND pending = '{}'"
									   " AND pos[cardinality(pos)] <= $2",
									   2, argtypes2);
			if (plan_compact == NULL || SPI_keepplan(plan_compact) != 0)
				elog(ERROR, "could not prepare the floor move");
		}
		values[0] = Int32GetDatum(group_id);
		values[1] = Int64GetDatum(frontier);
		rc = SPI_execute_plan(plan_lock_group, values, NULL, false, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not lock the group: %s", SPI_result_code_string(rc));
		/* nobody else is moving it: ours to move */
		if (SPI_processed == 1)
		{
			rc = SPI_execute_plan(plan_compact, values, NULL, false, 0);
			if (rc != SPI_OK_DELETE)
				elog(ERROR, "could not move the floor: %s", SPI_result_code_string(rc));
		}
	}
	return true;
}
