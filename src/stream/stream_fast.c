/*-------------------------------------------------------------------------
 * stream_fast.c
 *	  The hot paths of streams in C: publish, publish_batch, read_group and
 *	  ack.
 *
 * The PL/pgSQL versions ran eight to twelve statements per call, each with
 * its own executor start-up, and went through the partitioned parent of
 * stream_message (tuple routing, and plans that lock every partition of
 * every stream).  Here:
 *
 *	  - stream and group rows come from a backend cache by name, kept
 *		exact by invalidation messages (see the comment at the cache);
 *	  - publish stores its rows without SQL: the message goes straight into
 *		the current segment's table "stream_msg_<id>_<seg>" and a pending
 *		delivery per exclusive / key_shared group into stream_delivery,
 *		checking NOT NULL and adding index entries as an INSERT would (see
 *		stream_target_insert) -- the rows _stream_store writes with INSERTs;
 *	  - read_group runs one statement prepared once per stream (a generic
 *		plan over the stream's own partition "stream_msg_<id>");
 *	  - ack deletes by position the messages this backend delivered (one
 *		simple statement), or runs one statement prepared per stream that
 *		looks the ids up.
 *
 * The storage design and every rule of the PL/pgSQL version are unchanged
 * (see sql/install/90_stream.sql): a message and its pending deliveries are
 * written in the publisher's transaction under the stream's shared publish
 * lock, so a message becomes deliverable exactly when it commits and no
 * cursor can move past one that commits late; read_group chooses with FOR
 * UPDATE SKIP LOCKED in arrival order; ack deletes delivery rows and fails
 * when one is not pending.  Rare paths (errors, exclusive / key_shared
 * groups, dead letters, dedup_id) call the PL/pgSQL helpers, which stay the
 * one definition of their logic and messages.
 *
 * Per-stream plans live in a hash keyed by stream id.  Stream ids come from
 * an identity column and are not reused, and the plans name their
 * relations, which the plan cache re-resolves after any DDL on them.
 * _stream_drop() frees the entry in the dropping backend
 * (stream_forget_sql); other backends keep two unused plans until they exit.
 *
 * IDENTIFICATION
 *	  src/stream/stream_fast.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "datatype/timestamp.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "storage/sinval.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "edge_crdt/hlc.h"
#include "edge_crdt/message.h"
#include "edge_crdt/node.h"
#include "edge_crdt/stream.h"
#include "edge_crdt/stream_lease.h"

#define STREAM_SEGMENTS		4
#define STREAM_MAX_BATCH	10000
#define STREAM_MAX_COUNT	10000

/* Statements over one stream's partition. */
typedef struct StreamPlans
{
	int32		stream_id;		/* hash key */
	SPIPlanPtr	lookup;			/* ack: positions of message ids */
} StreamPlans;

static HTAB *stream_plans = NULL;

/* the stream and group rows by name, when not cached */
static SPIPlanPtr plan_stream = NULL;
static SPIPlanPtr plan_group = NULL;

static SPIPlanPtr
stream_prepare(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	/*
	 * Generic plans: every statement here reads a handful of rows by index,
	 * and re-planning per call would cost more than the execution.
	 */
	plan = SPI_prepare_cursor(sql, nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

static StreamPlans *
stream_plans_for(int32 stream_id)
{
	StreamPlans *entry;
	bool		found;

	if (stream_plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(StreamPlans);
		stream_plans = hash_create("edge_crdt stream plans", 16, &ctl,
								   HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(stream_plans, &stream_id, HASH_ENTER, &found);
	if (!found)
		memset((char *) entry + sizeof(int32), 0, sizeof(StreamPlans) - sizeof(int32));
	return entry;
}

/* Run a statement that only raises the right error (a rare path). */
static void
stream_raise_via(const char *sql, int nargs, Oid *argtypes, Datum *values,
				 const char *nulls)
{
	(void) SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
}

static void
stream_exec(SPIPlanPtr plan, Datum *values, const char *nulls, int expected)
{
	int			rc = SPI_execute_plan(plan, values, nulls, false, 0);

	if (rc != expected)
		elog(ERROR, "stream statement failed: %s", SPI_result_code_string(rc));
}

/* What edge_crdt.hlc_to_timestamptz() computes; HlcNow() is always in range. */
static TimestampTz
stream_hlc_timestamp(int64 h)
{
	return (HLC_TO_MS(h) -
			(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000) * 1000;
}

static text *
stream_message_id(int64 hlc, int32 origin, int32 seq)
{
	char		buf[64];

	snprintf(buf, sizeof(buf), INT64_FORMAT "-%d-%d", hlc, origin, seq);
	return cstring_to_text(buf);
}

static void
stream_take_lock(int32 stream_id, uint16 kind, uint32 sub, LOCKMODE mode)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) stream_id, sub, kind);
	(void) LockAcquire(&tag, mode, false, false);
}

/* The stream's row, or the error of _stream_get(). */
typedef struct StreamRow
{
	int32		stream_id;
	bool		global;
	int32		cur_seg;
	Oid			seg_relid;		/* stream_msg_<stream_id>_<cur_seg> */
	Interval	retention;
	int			ngroups;		/* its exclusive / key_shared groups, by id */
	int32	   *groups;
	int			nshared;		/* its shared groups, by id */
	int32	   *shared;
} StreamRow;

/* Stream and group ids by name. */
typedef struct GroupRow
{
	int32		stream_id;
	int32		group_id;
	bool		shared;
	int32		max_deliveries;
} GroupRow;

/*
 * Backend cache of stream and group rows by name, so that the hot paths do
 * not run a lookup statement per call.
 *
 * Every change of what is cached (stream_create / drop, the rotation of
 * cur_seg by stream_trim, group_create / drop / configure) calls
 * _stream_invalidate(), which queues a relcache invalidation of
 * edge_crdt.stream: sent to every backend when the change commits, applied
 * locally at once and undone locally if it rolls back.  Our callback only
 * bumps a generation; a lookup made under an older generation is redone.
 *
 * publish: all those changes hold the stream's publish lock exclusively
 * until they commit, and commit sends invalidations before it releases
 * locks.  publish takes the lock in share mode and only then reads pending
 * invalidations: if none concerns us, the cached row is the one a fresh
 * lookup would see, so cur_seg is current while we insert (the rotation
 * waits for our commit) and no group created before our lock is missed.
 * read_group / ack read pending invalidations first: a change committed
 * before the call is seen, as a statement snapshot would see it.
 */
typedef struct StreamCacheEntry
{
	char		name[STREAM_MAX_NAME + 1];	/* hash key */
	StreamRow	row;
} StreamCacheEntry;

typedef struct GroupCacheKey
{
	char		stream[STREAM_MAX_NAME + 1];
	char		grp[STREAM_MAX_NAME + 1];
} GroupCacheKey;

typedef struct GroupCacheEntry
{
	GroupCacheKey key;
	GroupRow	row;
} GroupCacheEntry;

static MemoryContext stream_cache_cxt = NULL;
static HTAB *stream_cache = NULL;
static HTAB *group_cache = NULL;
static uint64 stream_cache_gen = 1;
static uint64 stream_cache_built_gen = 0;
static Oid	stream_cache_relid = InvalidOid;	/* edge_crdt.stream */
static Oid	delivery_relid = InvalidOid;	/* edge_crdt.stream_delivery */
static Oid	pos_seq_relid = InvalidOid; /* edge_crdt.stream_pos_seq */
static bool stream_cache_cb_registered = false;

static void
stream_cache_relcache_cb(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == stream_cache_relid)
	{
		stream_cache_gen++;
		/* looked up again: the extension may have been dropped */
		stream_cache_relid = InvalidOid;
	}
}

/* Empty caches for the current generation, built lazily. */
static void
stream_cache_ready(void)
{
	HASHCTL		ctl;

	if (!stream_cache_cb_registered)
	{
		CacheRegisterRelcacheCallback(stream_cache_relcache_cb, (Datum) 0);
		stream_cache_cb_registered = true;
	}
	if (!OidIsValid(stream_cache_relid))
	{
		Oid			nsp = get_namespace_oid("edge_crdt", false);

		/* resolved together: they come and go with the extension */
		delivery_relid = get_relname_relid("stream_delivery", nsp);
		pos_seq_relid = get_relname_relid("stream_pos_seq", nsp);
		stream_cache_relid = get_relname_relid("stream", nsp);
		if (!OidIsValid(stream_cache_relid) || !OidIsValid(delivery_relid) ||
			!OidIsValid(pos_seq_relid))
		{
			stream_cache_relid = InvalidOid;
			elog(ERROR, "the tables of edge_crdt streams are missing");
		}
	}
	if (stream_cache_built_gen == stream_cache_gen && stream_cache != NULL)
		return;
	if (stream_cache_cxt == NULL)
		stream_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "edge_crdt stream cache",
												 ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(stream_cache_cxt);
	ctl.hcxt = stream_cache_cxt;
	ctl.keysize = STREAM_MAX_NAME + 1;
	ctl.entrysize = sizeof(StreamCacheEntry);
	stream_cache = hash_create("edge_crdt stream cache", 16, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	ctl.keysize = sizeof(GroupCacheKey);
	ctl.entrysize = sizeof(GroupCacheEntry);
	group_cache = hash_create("edge_crdt group cache", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	stream_cache_built_gen = stream_cache_gen;
}

/* A name as a cache key; false if it cannot be a stream or group name. */
static bool
stream_cache_key(text *t, char *key)
{
	int			len = VARSIZE_ANY_EXHDR(t);

	if (len == 0 || len > STREAM_MAX_NAME || memchr(VARDATA_ANY(t), '\0', len) != NULL)
		return false;
	memset(key, 0, STREAM_MAX_NAME + 1);
	memcpy(key, VARDATA_ANY(t), len);
	return true;
}

/* _stream_invalidate(): what changed cached rows calls this (see above). */
PG_FUNCTION_INFO_V1(stream_invalidate_sql);
Datum
stream_invalidate_sql(PG_FUNCTION_ARGS)
{
	stream_cache_ready();
	CacheInvalidateRelcacheByRelid(stream_cache_relid);
	PG_RETURN_VOID();
}

/* The stream row the lookup statements below return. */
/* An int4[] without nulls as a palloc'd C array. */
static int32 *
int4_array_copy(Datum d, int *n)
{
	Datum	   *elems;
	int32	   *v;
	int			i;

	deconstruct_array(DatumGetArrayTypeP(d), INT4OID, 4, true, TYPALIGN_INT,
					  &elems, NULL, n);
	v = palloc(sizeof(int32) * Max(*n, 1));
	for (i = 0; i < *n; i++)
		v[i] = DatumGetInt32(elems[i]);
	return v;
}

/* The table of segment seg of a stream (see _stream_create). */
static Oid
stream_segment_relid(int32 stream_id, int32 seg)
{
	char		name[NAMEDATALEN];
	Oid			relid;

	snprintf(name, sizeof(name), "stream_msg_%d_%d", stream_id, seg);
	relid = get_relname_relid(name, get_rel_namespace(delivery_relid));
	if (!OidIsValid(relid))
		elog(ERROR, "the tables of stream %d are missing", stream_id);
	return relid;
}

static void
stream_row_from_spi(StreamRow *row)
{
	HeapTuple	tup = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;

	row->stream_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	row->global = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	row->cur_seg = DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull));
	row->retention = *DatumGetIntervalP(SPI_getbinval(tup, desc, 4, &isnull));
	row->groups = int4_array_copy(SPI_getbinval(tup, desc, 5, &isnull), &row->ngroups);
	row->shared = int4_array_copy(SPI_getbinval(tup, desc, 6, &isnull), &row->nshared);
	if (row->cur_seg < 0 || row->cur_seg >= STREAM_SEGMENTS)
		elog(ERROR, "stream %d has an invalid current segment %d",
			 row->stream_id, row->cur_seg);
	/* cached with the row: the rotation of cur_seg invalidates both */
	row->seg_relid = stream_segment_relid(row->stream_id, row->cur_seg);
}

/*
 * The stream row by name ($1 text) or by id ($1 int4).  Shared groups get no
 * rows when a message is stored (stream_lease.c), so they are listed apart
 * (their waiters are woken differently, stream.c).
 */
#define STREAM_ROW_QUERY \
	"SELECT s.stream_id, s.scope = 'global', s.cur_seg, s.retention, " \
	"ARRAY(SELECT g.group_id FROM edge_crdt.stream_group g " \
	"WHERE g.stream_id = s.stream_id AND g.mode <> 'shared' ORDER BY g.group_id), " \
	"ARRAY(SELECT g.group_id FROM edge_crdt.stream_group g " \
	"WHERE g.stream_id = s.stream_id AND g.mode = 'shared' ORDER BY g.group_id) " \
	"FROM edge_crdt.stream s WHERE "

/* Wake the waiting readers of every group of the stream when we commit. */
static void
stream_wake_groups(const StreamRow *s)
{
	int			i;

	for (i = 0; i < s->ngroups; i++)
		StreamWakeAtCommit(s->stream_id, s->groups[i], false);
	for (i = 0; i < s->nshared; i++)
		StreamWakeAtCommit(s->stream_id, s->shared[i], true);
}

static void
stream_lookup(Datum name, bool name_null, StreamRow *row)
{
	Datum		values[1] = {name};
	char		nulls[1] = {name_null ? 'n' : ' '};
	Oid			argtypes[1] = {TEXTOID};

	if (plan_stream == NULL)
		plan_stream = stream_prepare(STREAM_ROW_QUERY "s.name = $1", 1, argtypes);
	if (!name_null)
		stream_exec(plan_stream, values, nulls, SPI_OK_SELECT);
	if (name_null || SPI_processed != 1)
	{
		stream_raise_via("SELECT edge_crdt._stream_get($1)", 1, argtypes, values, nulls);
		elog(ERROR, "stream lookup failed");
	}
	stream_row_from_spi(row);
}

/* Stream and group ids by name, or the error of _stream_group_get(). */
static void
stream_group_lookup(FunctionCallInfo fcinfo, GroupRow *row)
{
	Datum		values[2];
	char		nulls[2];
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	int			i;

	for (i = 0; i < 2; i++)
	{
		values[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	if (plan_group == NULL)
		plan_group = stream_prepare("SELECT t.stream_id, u.group_id, u.mode = 'shared', u.max_deliveries "
									"FROM edge_crdt.stream t JOIN edge_crdt.stream_group u "
									"ON u.stream_id = t.stream_id "
									"WHERE t.name = $1 AND u.grp = $2",
									2, argtypes);
	if (!PG_ARGISNULL(0) && !PG_ARGISNULL(1))
		stream_exec(plan_group, values, nulls, SPI_OK_SELECT);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || SPI_processed != 1)
	{
		stream_raise_via("SELECT edge_crdt._stream_group_get(edge_crdt._stream_get($1), $2)",
						 2, argtypes, values, nulls);
		elog(ERROR, "consumer group lookup failed");
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	row->stream_id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
	row->group_id = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
	row->shared = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
	row->max_deliveries = DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
}

/* *dst = *src, with its group lists allocated in cxt */
static void
stream_row_copy(StreamRow *dst, const StreamRow *src, MemoryContext cxt)
{
	*dst = *src;
	dst->groups = MemoryContextAlloc(cxt, sizeof(int32) * Max(src->ngroups, 1));
	memcpy(dst->groups, src->groups, sizeof(int32) * src->ngroups);
	dst->shared = MemoryContextAlloc(cxt, sizeof(int32) * Max(src->nshared, 1));
	memcpy(dst->shared, src->shared, sizeof(int32) * src->nshared);
}

/*
 * The stream's row for publish, from the cache if possible, with the
 * stream's publish lock held in share mode (see the cache comment).
 */
static void
stream_lookup_locked(Datum name, bool name_null, StreamRow *row)
{
	char		key[STREAM_MAX_NAME + 1];
	bool		cacheable;
	StreamCacheEntry *entry = NULL;
	uint64		gen;

	cacheable = !name_null && stream_cache_key(DatumGetTextPP(name), key);
	stream_cache_ready();
	gen = stream_cache_gen;
	if (cacheable)
		entry = hash_search(stream_cache, key, HASH_FIND, NULL);
	if (entry)
	{
		/* ours: the cache may be rebuilt while we use it */
		stream_row_copy(row, &entry->row, CurrentMemoryContext);
	}
	else
		stream_lookup(name, name_null, row);
	for (;;)
	{
		stream_take_lock(row->stream_id, STREAM_LOCK_PUBLISH, 0, ShareLock);
		AcceptInvalidationMessages();
		if (stream_cache_gen == gen)
			break;
		/* something changed meanwhile: look again, now under the lock */
		stream_cache_ready();
		gen = stream_cache_gen;
		stream_lookup(name, name_null, row);
	}
	if (cacheable && entry == NULL)
	{
		stream_cache_ready();
		entry = hash_search(stream_cache, key, HASH_ENTER, NULL);
		stream_row_copy(&entry->row, row, stream_cache_cxt);
	}
}

/* Stream and group ids, from the cache if possible. */
static void
stream_group_lookup_cached(FunctionCallInfo fcinfo, GroupRow *row)
{
	GroupCacheKey key;
	bool		cacheable;
	GroupCacheEntry *entry;
	uint64		gen;

	/* changes committed before this call are seen */
	AcceptInvalidationMessages();
	stream_cache_ready();
	gen = stream_cache_gen;
	cacheable = !PG_ARGISNULL(0) && !PG_ARGISNULL(1) &&
		stream_cache_key(PG_GETARG_TEXT_PP(0), key.stream) &&
		stream_cache_key(PG_GETARG_TEXT_PP(1), key.grp);
	if (cacheable)
	{
		entry = hash_search(group_cache, &key, HASH_FIND, NULL);
		if (entry)
		{
			*row = entry->row;
			return;
		}
	}
	stream_group_lookup(fcinfo, row);
	AcceptInvalidationMessages();
	if (cacheable && gen == stream_cache_gen)
	{
		stream_cache_ready();
		entry = hash_search(group_cache, &key, HASH_ENTER, NULL);
		entry->row = *row;
	}
}

static char *
jsonb_text(Datum j)
{
	return DatumGetCString(DirectFunctionCall1(jsonb_out, j));
}

/* Put the message into this transaction's change stream (global streams). */
static void
stream_emit(const char *name, int32 origin, int64 hlc, int32 seq,
			const char *key, const char *headers, const char *payload,
			const char *dedup, TimestampTz published_at)
{
	StreamBody	body;
	StringInfoData buf;

	memset(&body, 0, sizeof(body));
	body.origin = origin;
	body.hlc = hlc;
	body.seq = seq;
	body.published_at = published_at;
	body.name = name;
	body.name_len = strlen(name);
	if (key)
	{
		body.flags |= STREAM_HAS_KEY;
		body.key = key;
		body.key_len = strlen(key);
	}
	if (headers)
	{
		body.flags |= STREAM_HAS_HEADERS;
		body.headers = headers;
		body.headers_len = strlen(headers);
	}
	if (dedup)
	{
		body.flags |= STREAM_HAS_DEDUP;
		body.dedup = dedup;
		body.dedup_len = strlen(dedup);
	}
	body.payload = payload;
	body.payload_len = strlen(payload);
	initStringInfo(&buf);
	StreamBodyEncode(&buf, &body);
	EdgeCrdtEmitMessage(EDGE_CRDT_MSG_STREAM, buf.data, buf.len);
	pfree(buf.data);
}


/*
 * Storing messages without SQL: the rows go straight to the current
 * segment's table and to stream_delivery (exclusive / key_shared groups)
 * through the executor's ExecSimpleRelationInsert() (constraint and
 * partition checks, index entries).  The tables have no triggers (the store
 * refuses to run if one is added).
 */
enum
{
	MSG_STREAM_ID, MSG_SEG, MSG_POS, MSG_ORIGIN, MSG_HLC, MSG_SEQ, MSG_KEY,
	MSG_HEADERS, MSG_PAYLOAD, MSG_DEDUP_ID, MSG_PUBLISHED_AT, MSG_STORED_AT,
	MSG_NCOLS
};
static const char *const msg_columns[MSG_NCOLS] = {
	"stream_id", "seg", "pos", "origin", "hlc", "seq", "key", "headers",
	"payload", "dedup_id", "published_at", "stored_at"
};

enum
{
	DEL_GROUP_ID, DEL_POS, DEL_SEG, DEL_ORIGIN, DEL_KEY, DEL_VISIBLE_AT,
	DEL_DELIVERIES, DEL_CONSUMER, DEL_DELIVERED_AT, DEL_NCOLS
};
static const char *const del_columns[DEL_NCOLS] = {
	"group_id", "pos", "seg", "origin", "key", "visible_at", "deliveries",
	"consumer", "delivered_at"
};

typedef struct StreamTarget
{
	Relation	rel;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	int			attno[MSG_NCOLS];	/* column -> index in the tuple */
} StreamTarget;

typedef struct StreamStore
{
	EState	   *estate;
	StreamTarget msg;
	StreamTarget del;			/* rel is NULL: the stream has no group to note */
} StreamStore;

static void
stream_target_open(StreamStore *st, StreamTarget *t, Oid relid, Index rti,
				   const char *const *columns, int ncols)
{
	TupleDesc	desc;
	int			i;
	int			j;

	t->rel = table_open(relid, RowExclusiveLock);
	desc = RelationGetDescr(t->rel);
	/* stream_target_insert does not run them */
	if (t->rel->trigdesc != NULL ||
		(desc->constr != NULL && desc->constr->has_generated_stored))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" of edge_crdt streams must not have triggers or generated columns",
						RelationGetRelationName(t->rel))));
	for (j = 0; j < ncols; j++)
	{
		t->attno[j] = -1;
		for (i = 0; i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), columns[j]) == 0)
				t->attno[j] = i;
		if (t->attno[j] < 0)
			elog(ERROR, "column \"%s\" of \"%s\" is missing", columns[j],
				 RelationGetRelationName(t->rel));
	}
	t->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(t->rri, t->rel, rti, NULL, 0);
	ExecOpenIndices(t->rri, false);
	t->slot = ExecInitExtraTupleSlot(st->estate, desc, &TTSOpsVirtual);
}

/*
 * Open the current segment of stream s, and stream_delivery if s has groups
 * that need a delivery row per message.
 */
static void
stream_store_open(StreamStore *st, const StreamRow *s)
{
	List	   *rtable = NIL;
	Oid			relids[2] = {s->seg_relid, delivery_relid};
	int			ntargets = (s->ngroups > 0) ? 2 : 1;
	int			i;

	st->estate = CreateExecutorState();
	for (i = 0; i < ntargets; i++)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);

		rte->rtekind = RTE_RELATION;
		rte->relid = relids[i];
		rte->relkind = RELKIND_RELATION;
		rte->rellockmode = RowExclusiveLock;
		rtable = lappend(rtable, rte);
	}
	ExecInitRangeTable(st->estate, rtable);
	st->estate->es_output_cid = GetCurrentCommandId(true);
	stream_target_open(st, &st->msg, relids[0], 1, msg_columns, MSG_NCOLS);
	st->del.rel = NULL;
	if (ntargets == 2)
		stream_target_open(st, &st->del, relids[1], 2, del_columns, DEL_NCOLS);
}

static void
stream_target_insert(StreamStore *st, StreamTarget *t, Datum *values, bool *nulls, int ncols)
{
	TupleTableSlot *slot = t->slot;
	int			i;

	ExecClearTuple(slot);
	for (i = 0; i < slot->tts_tupleDescriptor->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	for (i = 0; i < ncols; i++)
	{
		slot->tts_values[t->attno[i]] = values[i];
		slot->tts_isnull[t->attno[i]] = nulls[i];
	}
	ExecStoreVirtualTuple(slot);

	/*
	 * What ExecSimpleRelationInsert() does for a table without triggers or
	 * generated columns, less the partition check: the segment was chosen
	 * from the very stream id and segment we store, and checking its bounds
	 * would build the partition qual anew for every message (our
	 * ResultRelInfo lives for one call).
	 */
	if (t->rel->rd_att->constr != NULL)
		ExecConstraints(t->rri, slot, st->estate);
	simple_table_tuple_insert(t->rel, slot);
	if (t->rri->ri_NumIndices > 0)
#if PG_VERSION_NUM >= 160000
		list_free(ExecInsertIndexTuples(t->rri, slot, st->estate, false, false, NULL, NIL, false));
#else
		list_free(ExecInsertIndexTuples(t->rri, slot, st->estate, false, false, NULL, NIL));
#endif
	/* predicates of partial indexes ran in per-tuple memory */
	ResetPerTupleExprContext(st->estate);
}

/*
 * Store one message and its pending delivery for every group (the caller
 * holds the stream's publish lock, under which the group list is current).
 */
static void
stream_store_message(StreamStore *st, const StreamRow *s, int32 origin, int64 hlc,
					 int32 seq, Datum key, bool key_null, Datum headers,
					 bool headers_null, Datum payload, Datum dedup, bool dedup_null,
					 TimestampTz published_at)
{
	Datum		mv[MSG_NCOLS];
	bool		mn[MSG_NCOLS];
	Datum		dv[DEL_NCOLS];
	bool		dn[DEL_NCOLS];
	LOCKTAG		tag;
	int64		pos;
	int			i;

	/*
	 * From the position drawn until its index entries are in, so that a
	 * consumer that reads the sequence under this lock finds every row below
	 * (stream_lease.c).
	 */
	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) s->stream_id, 0, STREAM_LOCK_INSERT);
	(void) LockAcquire(&tag, ShareLock, false, false);
	pos = nextval_internal(pos_seq_relid, false);
	memset(mn, 0, sizeof(mn));
	mv[MSG_STREAM_ID] = Int32GetDatum(s->stream_id);
	mv[MSG_SEG] = Int32GetDatum(s->cur_seg);
	mv[MSG_POS] = Int64GetDatum(pos);
	mv[MSG_ORIGIN] = Int32GetDatum(origin);
	mv[MSG_HLC] = Int64GetDatum(hlc);
	mv[MSG_SEQ] = Int32GetDatum(seq);
	mv[MSG_KEY] = key;
	mn[MSG_KEY] = key_null;
	mv[MSG_HEADERS] = headers;
	mn[MSG_HEADERS] = headers_null;
	mv[MSG_PAYLOAD] = payload;
	mv[MSG_DEDUP_ID] = dedup;
	mn[MSG_DEDUP_ID] = dedup_null;
	mv[MSG_PUBLISHED_AT] = TimestampTzGetDatum(published_at);
	/* the column's default, now() */
	mv[MSG_STORED_AT] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	stream_target_insert(st, &st->msg, mv, mn, MSG_NCOLS);
	LockRelease(&tag, ShareLock, false);

	memset(dn, 0, sizeof(dn));
	dv[DEL_POS] = Int64GetDatum(pos);
	dv[DEL_SEG] = Int32GetDatum(s->cur_seg);
	dv[DEL_ORIGIN] = Int32GetDatum(origin);
	dv[DEL_KEY] = key;
	dn[DEL_KEY] = key_null;
	/* the column defaults: deliverable at once, never delivered */
	dv[DEL_VISIBLE_AT] = TimestampTzGetDatum(DT_NOBEGIN);
	dv[DEL_DELIVERIES] = Int32GetDatum(0);
	dv[DEL_CONSUMER] = (Datum) 0;
	dn[DEL_CONSUMER] = true;
	dv[DEL_DELIVERED_AT] = (Datum) 0;
	dn[DEL_DELIVERED_AT] = true;
	for (i = 0; i < s->ngroups; i++)
	{
		dv[DEL_GROUP_ID] = Int32GetDatum(s->groups[i]);
		stream_target_insert(st, &st->del, dv, dn, DEL_NCOLS);
	}
}

static void
stream_store_close(StreamStore *st)
{
	StreamTarget *targets[2] = {&st->msg, &st->del};
	int			i;

	for (i = 0; i < 2; i++)
	{
		if (targets[i]->rel == NULL)
			continue;
		ExecCloseIndices(targets[i]->rri);
		table_close(targets[i]->rel, NoLock);
	}
	ExecResetTupleTable(st->estate->es_tupleTable, false);
	FreeExecutorState(st->estate);
	/* make the rows visible to the rest of the caller's transaction */
	CommandCounterIncrement();
}

/*
 * _stream_store(stream_id, origin, hlc, seq, key, headers, payload, dedup_id,
 * published_at): store a message the way publish does, for the PL/pgSQL
 * paths (messages from other nodes, dead letters).  Values are checked by
 * the caller.
 */
PG_FUNCTION_INFO_V1(stream_store_sql);
Datum
stream_store_sql(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[1] = {INT4OID};
	Datum		id = PG_GETARG_DATUM(0);
	StreamRow	s;
	StreamStore st;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		PG_ARGISNULL(6) || PG_ARGISNULL(8))
		elog(ERROR, "_stream_store: stream, origin, hlc, seq, payload and published_at must not be null");
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* under the publish lock the row and its groups are current */
	stream_take_lock(DatumGetInt32(id), STREAM_LOCK_PUBLISH, 0, ShareLock);
	if (plan == NULL)
		plan = stream_prepare(STREAM_ROW_QUERY "s.stream_id = $1", 1, argtypes);
	stream_exec(plan, &id, NULL, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "stream %d does not exist", DatumGetInt32(id));
	stream_cache_ready();
	stream_row_from_spi(&s);

	stream_store_open(&st, &s);
	stream_store_message(&st, &s, PG_GETARG_INT32(1), PG_GETARG_INT64(2), PG_GETARG_INT32(3),
						 PG_GETARG_DATUM(4), PG_ARGISNULL(4),
						 PG_GETARG_DATUM(5), PG_ARGISNULL(5),
						 PG_GETARG_DATUM(6),
						 PG_GETARG_DATUM(7), PG_ARGISNULL(7),
						 PG_GETARG_TIMESTAMPTZ(8));
	stream_store_close(&st);
	stream_wake_groups(&s);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * publish(stream, payload, key, headers, dedup_id) RETURNS text
 */
PG_FUNCTION_INFO_V1(stream_publish_sql);
Datum
stream_publish_sql(PG_FUNCTION_ARGS)
{
	StreamRow	s;
	StreamStore st;
	int32		me = EdgeCrdtLocalNodeId(false);
	char	   *payload_text = NULL;
	int64		h;
	TimestampTz at;
	int			i;
	text	   *result = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stream_lookup_locked(PG_GETARG_DATUM(0), PG_ARGISNULL(0), &s);

	if (!PG_ARGISNULL(1))
		payload_text = jsonb_text(PG_GETARG_DATUM(1));
	if (PG_ARGISNULL(1) || !PG_ARGISNULL(2) || !PG_ARGISNULL(3) || !PG_ARGISNULL(4) ||
		strlen(payload_text) > STREAM_MAX_PAYLOAD)
	{
		Oid			argtypes[4] = {JSONBOID, TEXTOID, JSONBOID, TEXTOID};
		Datum		cv[4];
		char		cn[4];

		for (i = 0; i < 4; i++)
		{
			cv[i] = PG_ARGISNULL(i + 1) ? (Datum) 0 : PG_GETARG_DATUM(i + 1);
			cn[i] = PG_ARGISNULL(i + 1) ? 'n' : ' ';
		}
		/* raises the error, if there is one */
		stream_raise_via("SELECT edge_crdt._stream_check_message($1, $2, $3, $4)",
						 4, argtypes, cv, cn);
	}

	if (!PG_ARGISNULL(4))
	{
		Oid			argtypes[4] = {INT4OID, INT4OID, TEXTOID, INTERVALOID};
		Datum		dv[4];

		stream_take_lock(s.stream_id, STREAM_LOCK_DEDUP,
						 DatumGetUInt32(DirectFunctionCall1Coll(hashtext, DEFAULT_COLLATION_OID,
																		PG_GETARG_DATUM(4))),
						 ExclusiveLock);
		dv[0] = Int32GetDatum(s.stream_id);
		dv[1] = Int32GetDatum(me);
		dv[2] = PG_GETARG_DATUM(4);
		dv[3] = IntervalPGetDatum(&s.retention);
		if (SPI_execute_with_args("SELECT m.hlc, m.origin, m.seq FROM edge_crdt.stream_message m "
								  "WHERE m.stream_id = $1 AND m.origin = $2 AND m.dedup_id = $3 "
								  "AND m.published_at >= now() - $4 ORDER BY m.pos LIMIT 1",
								  4, argtypes, dv, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "dedup lookup failed");
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_tuptable->vals[0];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;

			h = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			result = stream_message_id(h,
									   DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull)),
									   DatumGetInt32(SPI_getbinval(tup, desc, 3, &isnull)));
		}
	}

	if (result == NULL)
	{
		h = HlcNow();
		at = stream_hlc_timestamp(h);

		stream_store_open(&st, &s);
		stream_store_message(&st, &s, me, h, 0,
							 PG_GETARG_DATUM(2), PG_ARGISNULL(2),
							 PG_GETARG_DATUM(3), PG_ARGISNULL(3),
							 PG_GETARG_DATUM(1),
							 PG_GETARG_DATUM(4), PG_ARGISNULL(4), at);
		stream_store_close(&st);

		stream_wake_groups(&s);
		if (s.global)
			stream_emit(TextDatumGetCString(PG_GETARG_DATUM(0)), me, h, 0,
						PG_ARGISNULL(2) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(2)),
						PG_ARGISNULL(3) ? NULL : jsonb_text(PG_GETARG_DATUM(3)),
						payload_text,
						PG_ARGISNULL(4) ? NULL : TextDatumGetCString(PG_GETARG_DATUM(4)),
						at);
		result = stream_message_id(h, me, 0);
	}

	/* result was allocated inside SPI: copy it out */
	{
		Size		len = VARSIZE(result);
		text	   *copy = (text *) SPI_palloc(len);

		memcpy(copy, result, len);
		result = copy;
	}
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/*
 * publish_batch(stream, payloads jsonb[]) RETURNS SETOF text
 */
PG_FUNCTION_INFO_V1(stream_publish_batch_sql);
Datum
stream_publish_batch_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StreamRow	s;
	StreamStore st;
	int32		me;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	char	  **texts;
	int64		h;
	TimestampTz at;
	char	   *name;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stream_lookup_locked(PG_GETARG_DATUM(0), PG_ARGISNULL(0), &s);
	me = EdgeCrdtLocalNodeId(false);
	if (PG_ARGISNULL(1))
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	arr = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(arr, JSONBOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	if (n == 0)
	{
		SPI_finish();
		PG_RETURN_NULL();
	}
	if (n > STREAM_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many messages in one batch"),
				 errdetail("The batch has %d messages; the limit is %d.", n, STREAM_MAX_BATCH)));
	texts = palloc(sizeof(char *) * n);
	for (i = 0; i < n; i++)
	{
		texts[i] = enulls[i] ? NULL : jsonb_text(elems[i]);
		if (enulls[i] || strlen(texts[i]) > STREAM_MAX_PAYLOAD)
		{
			Oid			argtypes[1] = {JSONBOID};
			char		cn[1] = {enulls[i] ? 'n' : ' '};

			stream_raise_via("SELECT edge_crdt._stream_check_message($1, NULL, NULL, NULL)",
							 1, argtypes, &elems[i], cn);
		}
	}

	/* one clock reading for the batch; seq orders its messages */
	h = HlcNow();
	at = stream_hlc_timestamp(h);
	stream_store_open(&st, &s);
	for (i = 0; i < n; i++)
		stream_store_message(&st, &s, me, h, i, (Datum) 0, true, (Datum) 0, true,
							 elems[i], (Datum) 0, true, at);
	stream_store_close(&st);
	stream_wake_groups(&s);

	name = TextDatumGetCString(PG_GETARG_DATUM(0));
	for (i = 0; i < n; i++)
	{
		Datum		id;
		bool		isnull = false;

		if (s.global)
			stream_emit(name, me, h, i, NULL, NULL, texts[i], NULL, at);
		id = PointerGetDatum(stream_message_id(h, me, i));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &id, &isnull);
	}
	SPI_finish();
	PG_RETURN_NULL();
}

/*
 * Positions (and for shared groups leases) of the messages this backend
 * delivered by read_group and has not acknowledged yet, by (stream, id), so
 * that ack need not look the ids up in the messages.  A message's
 * id and position never change and are never reused in a stream (a dropped
 * and re-created stream has a new stream id); the map is emptied with the
 * stream cache (which also covers a dropped and re-created extension) and
 * when it grows large.  Ids not in the map take the full path.
 */
typedef struct DeliveredKey
{
	int32		stream_id;
	int32		origin;
	int64		hlc;
	int32		seq;
	int32		pad;			/* zero: keys are compared as bytes */
} DeliveredKey;

typedef struct DeliveredEntry
{
	DeliveredKey key;
	int64		pos;
	int64		lease_id;		/* shared groups: the lease it was handed out in */
} DeliveredEntry;

#define STREAM_DELIVERED_MAX	65536

static HTAB *delivered_map = NULL;
static uint64 delivered_gen = 0;

static void
stream_delivered_check(void)
{
	if (delivered_map != NULL &&
		(delivered_gen != stream_cache_gen ||
		 hash_get_num_entries(delivered_map) >= STREAM_DELIVERED_MAX))
	{
		hash_destroy(delivered_map);
		delivered_map = NULL;
	}
	if (delivered_map == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(DeliveredKey);
		ctl.entrysize = sizeof(DeliveredEntry);
		delivered_map = hash_create("edge_crdt delivered messages", 256, &ctl,
									HASH_ELEM | HASH_BLOBS);
		delivered_gen = stream_cache_gen;
	}
}

/* The map key of a plain id (stream_id_plain: digits and two dashes). */
static void
stream_delivered_key(int32 stream_id, Datum id, DeliveredKey *key)
{
	char		buf[64];
	int			len = VARSIZE_ANY_EXHDR(DatumGetPointer(id));
	char	   *p;

	memcpy(buf, VARDATA_ANY(DatumGetPointer(id)), len);
	buf[len] = '\0';
	memset(key, 0, sizeof(*key));
	key->stream_id = stream_id;
	key->hlc = strtoll(buf, &p, 10);
	key->origin = (int32) strtol(p + 1, &p, 10);
	key->seq = (int32) strtol(p + 1, &p, 10);
}

static void
stream_delivered_remember(int32 stream_id, int32 origin, int64 hlc, int32 seq, int64 pos,
						  int64 lease_id)
{
	DeliveredKey key;
	DeliveredEntry *entry;

	stream_delivered_check();
	memset(&key, 0, sizeof(key));
	key.stream_id = stream_id;
	key.origin = origin;
	key.hlc = hlc;
	key.seq = seq;
	entry = hash_search(delivered_map, &key, HASH_ENTER, NULL);
	entry->pos = pos;
	entry->lease_id = lease_id;
}

/* An interval compared with another, as SQL compares them. */
static int
stream_interval_cmp(Datum a, const Interval *b)
{
	return DatumGetInt32(DirectFunctionCall2(interval_cmp, a, IntervalPGetDatum(b)));
}

/*
 * The paths of read_group in PL/pgSQL (exclusive / key_shared groups,
 * redeliveries): the rows of call, a function of (s, g, consumer, count,
 * visibility) in read_group's row type, into the result.  Returns how many.
 */
static int
stream_take_sql(SPIPlanPtr *plan, const char *call, FunctionCallInfo fcinfo,
				const GroupRow *g, int count)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[5];
	uint64		r;

	if (*plan == NULL)
	{
		Oid			argtypes[5] = {INT4OID, INT4OID, TEXTOID, INT4OID, INTERVALOID};
		char	   *sql = psprintf("SELECT x.* FROM edge_crdt.stream s, edge_crdt.stream_group g, %s x "
								   "WHERE s.stream_id = $1 AND g.group_id = $2", call);

		*plan = stream_prepare(sql, 5, argtypes);
		pfree(sql);
	}
	values[0] = Int32GetDatum(g->stream_id);
	values[1] = Int32GetDatum(g->group_id);
	values[2] = PG_GETARG_DATUM(2);
	values[3] = Int32GetDatum(count);
	values[4] = PG_GETARG_DATUM(4);
	stream_exec(*plan, values, NULL, SPI_OK_SELECT);
	for (r = 0; r < SPI_processed; r++)
	{
		Datum		out[7];
		bool		outnull[7];
		int			i;

		for (i = 0; i < 7; i++)
			out[i] = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, i + 1, &outnull[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, outnull);
	}
	return (int) SPI_processed;
}

/*
 * When something of an exclusive or key_shared group that consumer cannot
 * take now may become takeable without a publish (0: never): a delivery's
 * visibility ends, or another consumer's hold on an exclusive group.
 */
static TimestampTz
stream_next_due_other(int32 group_id, Datum consumer)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {INT4OID, TEXTOID};
	Datum		values[2] = {Int32GetDatum(group_id), consumer};
	bool		isnull;
	Datum		d;

	if (plan == NULL)
		plan = stream_prepare("SELECT LEAST("
							  "(SELECT min(d.visible_at) FROM edge_crdt.stream_delivery d"
							  " WHERE d.group_id = $1 AND d.deliveries > 0"
							  " AND d.visible_at > clock_timestamp()),"
							  "(SELECT g.owner_until FROM edge_crdt.stream_group g"
							  " WHERE g.group_id = $1 AND g.owner IS DISTINCT FROM $2"
							  " AND g.owner_until > clock_timestamp()))",
							  2, argtypes);
	stream_exec(plan, values, NULL, SPI_OK_SELECT);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? 0 : DatumGetTimestampTz(d);
}

/*
 * read_group(stream, grp, consumer, count, visibility, wait)
 *	 RETURNS TABLE (id, origin, key, payload, headers, deliveries, published_at)
 */
PG_FUNCTION_INFO_V1(stream_read_group_sql);
Datum
stream_read_group_sql(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan_take_other = NULL;
	static SPIPlanPtr plan_redeliver = NULL;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GroupRow	g;
	Interval	zero;
	Interval	hour;
	TimestampTz deadline;
	int32		count;
	bool		waits;
	int			ntaken = 0;		/* by the last look */
	TimestampTz next_due = 0;	/* when something of the group is due, or 0 */
	bool		found = false;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stream_group_lookup_cached(fcinfo, &g);

	if (PG_ARGISNULL(2) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) == 0 ||
		VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) > STREAM_MAX_NAME)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid consumer name"),
				 errdetail("A consumer name is 1 to 200 bytes.")));
	if (PG_ARGISNULL(3) || PG_GETARG_INT32(3) < 1 || PG_GETARG_INT32(3) > STREAM_MAX_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must be between 1 and 10000")));
	count = PG_GETARG_INT32(3);
	memset(&zero, 0, sizeof(zero));
	memset(&hour, 0, sizeof(hour));
	hour.time = USECS_PER_HOUR;
	if (PG_ARGISNULL(4) || stream_interval_cmp(PG_GETARG_DATUM(4), &zero) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("visibility must be a positive interval")));
	if (PG_ARGISNULL(5) || stream_interval_cmp(PG_GETARG_DATUM(5), &zero) < 0 ||
		stream_interval_cmp(PG_GETARG_DATUM(5), &hour) > 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("wait must be between 0 and 1 hour")));
	waits = stream_interval_cmp(PG_GETARG_DATUM(5), &zero) > 0;
	if (waits && XactIsoLevel != XACT_READ_COMMITTED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("read_group can wait only in a READ COMMITTED transaction"),
				 errdetail("A transaction snapshot would never show messages published while waiting.")));
	deadline = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													   TimestampTzGetDatum(GetCurrentTimestamp()),
													   PG_GETARG_DATUM(5)));
	if (waits)
		StreamWaitBegin(g.stream_id, g.group_id, g.shared, deadline);

	for (;;)
	{
		if (g.shared)
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz until;
			StreamTaken taken;
			int			left = count;
			int			i;

			until = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
															TimestampTzGetDatum(now),
															PG_GETARG_DATUM(4)));
			/*
			 * Redeliveries first, so that a steady flow of fresh messages
			 * cannot starve them; they are rare, and go through SQL.
			 */
			if (!StreamTakeFresh(g.stream_id, g.group_id, PG_GETARG_DATUM(2), left, now, until,
								 true, waits, rsinfo->setResult, rsinfo->setDesc, &taken))
			{
				left -= stream_take_sql(&plan_redeliver,
										"edge_crdt._stream_lease_redeliver(s, g, $3, $4, $5, NULL)",
										fcinfo, &g, count);
				taken.n = 0;
				if (left > 0)
					(void) StreamTakeFresh(g.stream_id, g.group_id, PG_GETARG_DATUM(2), left, now,
										   until, false, waits, rsinfo->setResult,
										   rsinfo->setDesc, &taken);
			}
			for (i = 0; i < taken.n; i++)
				stream_delivered_remember(g.stream_id, taken.origin[i], taken.hlc[i],
										  taken.seq[i], taken.pos[i], taken.lease_id);
			ntaken = count - left + taken.n;
			next_due = taken.next_due;
		}
		else
			ntaken = stream_take_sql(&plan_take_other, "edge_crdt._stream_take(s, g, $3, $4, $5)",
									 fcinfo, &g, count);
		found = ntaken > 0;
		if (found)
			StreamWakeAtAbort(g.stream_id, g.group_id, g.shared);
		if (found || !waits || GetCurrentTimestamp() >= deadline)
			break;
		/* until something of the group is due for redelivery, at the latest */
		if (!g.shared)
			next_due = stream_next_due_other(g.group_id, PG_GETARG_DATUM(2));
		StreamWaitSleep(next_due != 0 ? Min(next_due, deadline) : deadline);
	}
	if (waits)
		StreamWaitEnd(ntaken > 0, ntaken == count);
	SPI_finish();
	PG_RETURN_NULL();
}

/* [0-9]{1,18}-[1-9][0-9]{0,8}-[0-9]{1,9}: certainly a valid id. */
static bool
stream_id_plain(const char *p, int len)
{
	const char *end = p + len;
	int			part;
	static const int maxlen[3] = {18, 9, 9};

	for (part = 0; part < 3; part++)
	{
		const char *start = p;

		if (part == 1 && (p >= end || *p == '0'))
			return false;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		if (p == start || p - start > maxlen[part])
			return false;
		if (part < 2)
		{
			if (p >= end || *p != '-')
				return false;
			p++;
		}
	}
	return p == end;
}

static void stream_ack_fail(FunctionCallInfo fcinfo, Datum done_ids);

/* Ids (text Datums) in byte order. */
static int
stream_cmp_id(const void *a, const void *b)
{
	text	   *x = DatumGetTextPP(*(const Datum *) a);
	text	   *y = DatumGetTextPP(*(const Datum *) b);
	int			lx = VARSIZE_ANY_EXHDR(x);
	int			ly = VARSIZE_ANY_EXHDR(y);
	int			c = memcmp(VARDATA_ANY(x), VARDATA_ANY(y), Min(lx, ly));

	return c != 0 ? c : (lx > ly) - (lx < ly);
}

/*
 * Positions of the ids: from the map of what this backend delivered, else
 * by looking the ids up in the stream (one statement prepared per stream).
 * pos[i] = -1: not a message of the stream.  ids are valid.
 */
static void
stream_ack_positions(const GroupRow *g, Datum *ids, int n, bool plain, int64 *pos,
					 int64 *lease_id)
{
	bool		missing = !plain;
	bool		mixed = false;
	int			i;

	*lease_id = 0;
	stream_delivered_check();
	for (i = 0; i < n && plain; i++)
	{
		DeliveredKey key;
		DeliveredEntry *entry;

		stream_delivered_key(g->stream_id, ids[i], &key);
		entry = hash_search(delivered_map, &key, HASH_FIND, NULL);
		pos[i] = entry ? entry->pos : -1;
		/* one lease for all of them, or 0 */
		if (entry != NULL && (i == 0 || *lease_id == entry->lease_id))
			*lease_id = entry->lease_id;
		else
			mixed = true;
		missing |= (entry == NULL);
	}
	if (mixed || missing)
		*lease_id = 0;
	if (missing)
	{
		StreamPlans *plans = stream_plans_for(g->stream_id);
		Datum		arr;
		uint64		r;

		if (plans->lookup == NULL)
		{
			Oid			argtypes[1] = {TEXTARRAYOID};
			char	   *sql;

			sql = psprintf("SELECT w.o, m.pos FROM unnest($1) WITH ORDINALITY w (i, o)"
						   " CROSS JOIN LATERAL ("
						   " SELECT x.pos FROM edge_crdt.stream_msg_%d x"
						   " WHERE x.hlc = split_part(w.i, '-', 1)::int8"
						   " AND x.origin = split_part(w.i, '-', 2)::int4"
						   " AND x.seq = split_part(w.i, '-', 3)::int4 LIMIT 1) m",
						   g->stream_id);
			plans->lookup = stream_prepare(sql, 1, argtypes);
			pfree(sql);
		}
		arr = PointerGetDatum(construct_array(ids, n, TEXTOID, -1, false, TYPALIGN_INT));
		stream_exec(plans->lookup, &arr, NULL, SPI_OK_SELECT);
		for (i = 0; i < n; i++)
			pos[i] = -1;
		for (r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			int64		o = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													   SPI_tuptable->tupdesc, 1, &isnull));

			pos[o - 1] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													 SPI_tuptable->tupdesc, 2, &isnull));
		}
	}
}

/*
 * Acknowledge positions (sorted, distinct): shared groups remove them from
 * their lease's pending list, the others delete their delivery rows.
 * Returns how many were pending; done[i] says which.
 */
static int
stream_ack_pending(const GroupRow *g, const int64 *pos, int npos, int64 lease_id, bool *done)
{
	static SPIPlanPtr plan_rows = NULL;
	static SPIPlanPtr plan_leases = NULL;
	static SPIPlanPtr plan_lease = NULL;
	SPIPlanPtr	plan;
	Datum	   *elems = palloc(sizeof(Datum) * Max(npos, 1));
	Datum		values[2];
	uint64		r;
	int			i;
	int			ndone = 0;

	if (plan_rows == NULL)
	{
		Oid			argtypes[2] = {INT4OID, INT8ARRAYOID};

		plan_rows = stream_prepare("DELETE FROM edge_crdt.stream_delivery d "
								   "WHERE d.group_id = $1 AND d.pos = ANY ($2) RETURNING d.pos",
								   2, argtypes);
		/* a position is pending in one lease at most */
		plan_leases = stream_prepare("WITH old AS ("
									 " SELECT l.lease_id, l.pending FROM edge_crdt.stream_lease l"
									 " WHERE l.group_id = $1 AND l.pending && $2 FOR UPDATE),"
									 "upd AS ("
									 " UPDATE edge_crdt.stream_lease l"
									 " SET pending = ARRAY(SELECT x FROM unnest(o.pending) x"
									 " WHERE NOT x = ANY ($2) ORDER BY x)"
									 " FROM old o WHERE l.group_id = $1 AND l.lease_id = o.lease_id"
									 " RETURNING 1) "
									 "SELECT x FROM old o, unnest(o.pending) x"
									 " WHERE x = ANY ($2) AND (SELECT count(*) FROM upd) >= 0",
									 2, argtypes);
	}
	for (i = 0; i < npos; i++)
		elems[i] = Int64GetDatum(pos[i]);
	values[0] = Int32GetDatum(g->group_id);
	values[1] = PointerGetDatum(construct_array(elems, npos, INT8OID, 8, FLOAT8PASSBYVAL,
												TYPALIGN_DOUBLE));
	memset(done, 0, sizeof(bool) * npos);

	/*
	 * The common case: what one read_group handed out here, all of it still
	 * pending in that lease: one update by key.
	 */
	if (g->shared && lease_id != 0)
	{
		Datum		lv[3] = {values[0], values[1], Int64GetDatum(lease_id)};

		if (plan_lease == NULL)
		{
			Oid			argtypes[3] = {INT4OID, INT8ARRAYOID, INT8OID};

			plan_lease = stream_prepare("UPDATE edge_crdt.stream_lease l"
										" SET pending = CASE WHEN l.pending <@ $2 THEN '{}'::int8[]"
										" ELSE ARRAY(SELECT x FROM unnest(l.pending) x"
										" WHERE NOT x = ANY ($2) ORDER BY x) END"
										" WHERE l.group_id = $1 AND l.lease_id = $3 AND l.pending @> $2",
										3, argtypes);
		}
		stream_exec(plan_lease, lv, NULL, SPI_OK_UPDATE);
		if (SPI_processed == 1)
		{
			memset(done, 1, sizeof(bool) * npos);
			return npos;
		}
	}

	plan = g->shared ? plan_leases : plan_rows;
	stream_exec(plan, values, NULL, g->shared ? SPI_OK_SELECT : SPI_OK_DELETE_RETURNING);
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		p = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
												   SPI_tuptable->tupdesc, 1, &isnull));
		const int64 *hit = bsearch(&p, pos, npos, sizeof(int64), StreamCmpInt64);

		if (hit && !done[hit - pos])
		{
			done[hit - pos] = true;
			ndone++;
		}
	}
	return ndone;
}

/*
 * ack(stream, grp, ids text[]) RETURNS bigint
 *
 * Fails, having done nothing, if an id is not pending: effects committed
 * with the ack must happen once (see stream_ack_fail).
 */
PG_FUNCTION_INFO_V1(stream_ack_sql);
Datum
stream_ack_sql(PG_FUNCTION_ARGS)
{
	GroupRow	g;
	bool		plain = !PG_ARGISNULL(2);
	Datum	   *elems = NULL;
	bool	   *enulls;
	int			n = 0;
	int			nid = 0;
	int64	   *pos;
	int64	   *sorted;
	int			npos = 0;
	bool	   *done;
	int			ndone;
	int64		lease_id = 0;
	int			i;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	stream_group_lookup_cached(fcinfo, &g);

	/* ids that certainly fit their types need no parsing in SQL */
	if (plain)
	{
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &enulls, &n);
		for (i = 0; i < n && plain; i++)
			plain = !enulls[i] &&
				stream_id_plain(VARDATA_ANY(DatumGetPointer(elems[i])),
								VARSIZE_ANY_EXHDR(DatumGetPointer(elems[i])));
	}
	if (!plain)
	{
		Oid			argtypes[1] = {TEXTARRAYOID};
		Datum		v = PG_ARGISNULL(2) ? (Datum) 0 : PG_GETARG_DATUM(2);
		char		nn = PG_ARGISNULL(2) ? 'n' : ' ';

		/* raises the error; ids that are valid but long pass */
		stream_raise_via("SELECT count(*) FROM edge_crdt._stream_parse_ids($1)",
						 1, argtypes, &v, &nn);
	}
	if (n == 0)
	{
		SPI_finish();
		PG_RETURN_INT64(0);
	}

	/* distinct ids count once: sorted by bytes, duplicates are neighbours */
	qsort(elems, n, sizeof(Datum), stream_cmp_id);
	for (i = 0; i < n; i++)
		if (i == 0 || stream_cmp_id(&elems[i], &elems[nid - 1]) != 0)
			elems[nid++] = elems[i];
	pos = palloc(sizeof(int64) * nid);
	stream_ack_positions(&g, elems, nid, plain, pos, &lease_id);

	/* distinct ids of one stream are distinct positions */
	sorted = palloc(sizeof(int64) * nid);
	for (i = 0; i < nid; i++)
		if (pos[i] >= 0)
			sorted[npos++] = pos[i];
	qsort(sorted, npos, sizeof(int64), StreamCmpInt64);
	done = palloc(sizeof(bool) * Max(npos, 1));
	ndone = npos > 0 ? stream_ack_pending(&g, sorted, npos, lease_id, done) : 0;

	if (ndone < nid)
	{
		/* the ids that were pending, for the error's list of the others */
		Datum	   *done_ids = palloc(sizeof(Datum) * nid);
		int			k = 0;

		for (i = 0; i < nid; i++)
		{
			int64	   *hit = pos[i] < 0 ? NULL :
				bsearch(&pos[i], sorted, npos, sizeof(int64), StreamCmpInt64);

			if (hit && done[hit - sorted])
				done_ids[k++] = elems[i];
		}
		stream_ack_fail(fcinfo, PointerGetDatum(construct_array(done_ids, k, TEXTOID, -1,
																false, TYPALIGN_INT)));
	}
	/* acknowledged: forget them (an error above rolls everything back) */
	if (plain)
		for (i = 0; i < nid; i++)
		{
			DeliveredKey key;

			stream_delivered_key(g.stream_id, elems[i], &key);
			(void) hash_search(delivered_map, &key, HASH_REMOVE, NULL);
		}
	SPI_finish();
	PG_RETURN_INT64(ndone);
}

/* ack's error: some of the ids (all but done_ids) are not pending. */
static void
stream_ack_fail(FunctionCallInfo fcinfo, Datum done_ids)
{
	Oid			argtypes[2] = {TEXTARRAYOID, TEXTARRAYOID};
	Datum		mv[2];
	char		mn[2] = {' ', ' '};
	int64		missing;
	char	   *detail;
	bool		isnull;

	mv[0] = PG_GETARG_DATUM(2);
	mv[1] = done_ids;
	if (SPI_execute_with_args("SELECT count(*), array_to_string((array_agg(i ORDER BY i))[1:5], ', ') "
							  "FROM (SELECT DISTINCT i FROM unnest($1) i) x "
							  "WHERE NOT i = ANY ($2)",
							  2, argtypes, mv, mn, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not list the messages not pending");
	missing = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	detail = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot acknowledge " INT64_FORMAT " message(s) not pending in consumer group \"%s\" of stream \"%s\"",
					missing, TextDatumGetCString(PG_GETARG_DATUM(1)),
					TextDatumGetCString(PG_GETARG_DATUM(0))),
			 errdetail("Not pending: %s.", detail ? detail : ""),
			 errhint("The message was acknowledged already (perhaps by another consumer after its visibility timeout expired) or trimmed; roll back this transaction so that its effects are not applied twice.")));
}

/* _stream_forget(stream_id): free this backend's plans of a dropped stream. */
PG_FUNCTION_INFO_V1(stream_forget_sql);
Datum
stream_forget_sql(PG_FUNCTION_ARGS)
{
	int32		stream_id = PG_GETARG_INT32(0);
	StreamPlans *entry;

	if (stream_plans == NULL)
		PG_RETURN_VOID();
	entry = hash_search(stream_plans, &stream_id, HASH_FIND, NULL);
	if (entry == NULL)
		PG_RETURN_VOID();
	if (entry->lookup)
		SPI_freeplan(entry->lookup);
	(void) hash_search(stream_plans, &stream_id, HASH_REMOVE, NULL);
	PG_RETURN_VOID();
}
