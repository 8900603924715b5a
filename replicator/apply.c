/*-------------------------------------------------------------------------
 * apply.c
 *	  Merge of remote ROW and DELETE messages into local replicated tables:
 *	  the lattice of DESIGN.md section 2 applied one change at a time.
 *
 * NOTES
 *	  A row key's replicated state is its causal length cl (odd = alive,
 *	  even = deleted) plus one version (hlc, node) per column.  A ROW message
 *	  carries the sender's complete state of one row, a DELETE message the
 *	  sender's tombstone of one key.  Merging either into the local state
 *	  must be commutative, associative and idempotent, so that every node
 *	  converges whatever order and however often changes arrive:
 *
 *	  ROW (remote cl R odd) against the local row, found by primary key:
 *		- no local row: insert it, unless the key's tombstone is at least R
 *		  (that incarnation is already dead here);
 *		- local cl L < R: a newer incarnation; it replaces every column it
 *		  carries, values and versions, wholesale;
 *		- L > R: the remote row is an older incarnation: nothing to do;
 *		- L = R: the same incarnation; per column, a plain column keeps the
 *		  value with the greater version (hlc, then node id, never the value)
 *		  and a CRDT column always takes merge(local, remote), with the
 *		  greater of the two versions.
 *	  DELETE (remote cl R even): raise the key's tombstone to R, and delete
 *	  the local row when its cl is below R.
 *
 *	  A column of the local table that the message does not carry keeps its
 *	  local value and version (a freshly inserted row gets its default and
 *	  no version, which every real version beats).
 *
 *	  Rows are found and written with the executor routines of logical
 *	  replication (execReplication.c), as worker.c does: the lookup locks
 *	  the row (LockTupleExclusive) and waits for a concurrent local writer,
 *	  and ExecSimpleRelation* check constraints and maintain indexes.  The
 *	  capture trigger does not fire (the caller runs with
 *	  session_replication_role = replica), so the metadata column is written
 *	  here from the merged state.
 *
 *	  The hybrid logical clock observes the greatest version of a message
 *	  before anything is written, so a clock too far ahead is refused before
 *	  it can leave a trace, and any later local write is stamped above it.
 *
 *	  Columns are matched by name and checked by type name; values arrive in
 *	  their type's binary (send/recv) or text (output/input) form and are
 *	  converted with the local type's receive or input function, under an
 *	  error context naming peer, relation and column.  What a table needs
 *	  for that (type names, conversion functions, the triggers that fire in
 *	  replica mode) is cached per backend and dropped on relcache
 *	  invalidation, like relinfo.c's cache.
 *
 *	  In replica mode only ENABLE ALWAYS and ENABLE REPLICA triggers fire
 *	  (the capture trigger is neither), so the executor is given just those:
 *	  with none left, an update no longer fetches and locks the old row a
 *	  second time for BEFORE ROW triggers that would not fire anyway.
 *
 *	  A conflict (ApplyStats.conflicts) is a column where a concurrent write
 *	  was resolved: a plain column whose remote version lost to a different
 *	  local one, or a CRDT column whose merge differs from both inputs (each
 *	  side had something the other lacked).  A remote state that the local
 *	  one already includes is not a conflict, just an old message.
 *
 *	  The caller runs many messages in one transaction, so everything one
 *	  message allocates lives in a context that is reset for the next, and
 *	  each message ends with CommandCounterIncrement() so that the next one
 *	  sees (and can lock) the rows it wrote.
 *
 * IDENTIFICATION
 *	  replicator/apply.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/pg_lsn.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
#include "rewrite/rewriteHandler.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "edge_crdt/apply.h"
#include "edge_crdt/conflict.h"
#include "edge_crdt/hlc.h"
#include "edge_crdt/relinfo.h"
#include "edge_crdt/rowmeta.h"
#include "edge_crdt/tombstone.h"

/* ----------------------------------------------------------------
 *		Local state
 * ----------------------------------------------------------------
 */

/* How to read one column of a table from the wire. */
typedef struct ApplyColumn
{
	char	   *type_name;		/* format_type_be_qualified(); NULL: not live */
	Oid			typid;
	int32		typmod;
	Oid			typioparam;
	bool		have_recv;		/* recv_finfo looked up */
	bool		have_in;		/* in_finfo looked up */
	FmgrInfo	recv_finfo;
	FmgrInfo	in_finfo;
} ApplyColumn;

typedef struct ApplyRel
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext cxt;			/* owns columns and their FmgrInfos */
	int			natts;
	ApplyColumn *columns;		/* indexed by attnum - 1 */
	bool		replica_filtered;	/* some triggers never fire in replica mode */
	TriggerDesc *replica_triggers;	/* ... the others (NULL: none) */
} ApplyRel;

static HTAB *apply_rels = NULL;

/* Everything one message needs; lives in apply_message_cxt. */
typedef struct ApplyState
{
	const WireMessage *msg;
	const char *peer;
	int32		peer_node;		/* 0: unknown */
	XLogRecPtr	commit_lsn;		/* the sender's commit position, if known */
	char	   *nspname;
	char	   *relname;
	const char *column;			/* column being worked on, for errcontext */

	Relation	rel;
	TupleDesc	desc;
	ReplRelInfo *info;
	ApplyRel   *arel;
	Oid			pkoid;
	int			natts;

	/* The remote image, indexed by attnum - 1. */
	Datum	   *values;
	bool	   *nulls;
	bool	   *present;		/* the message carries the column */
	bool	   *unchanged;		/* ... as WIRE_UNCHANGED (no value) */
	CrdtVersion *versions;

	/* Executor state (see apply_begin_exec). */
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *searchslot; /* the remote key */
	TupleTableSlot *localslot;	/* the local row, locked */
	TupleTableSlot *newslot;	/* the row to write */
} ApplyState;

/* Reset for every message: nothing a message allocates outlives it. */
static MemoryContext apply_message_cxt = NULL;

static void apply_rel_invalidate(Datum arg, Oid relid);
static ApplyRel *apply_rel_get(Relation rel);
static void apply_replica_triggers(ApplyRel *entry, TriggerDesc *all);
static void apply_error_callback(void *arg);
static void apply_observe_clock(const WireMessage *msg, const char *peer);
static void apply_open_relation(ApplyState *st);
static AttrNumber apply_find_column(ApplyState *st, WireSlice name, int hint);
static bool apply_column_dropped(ApplyState *st, const char *name);
static void apply_read_columns(ApplyState *st);
static Datum apply_convert_value(ApplyState *st, AttrNumber attnum,
								 const WireColumn *col);
static void apply_begin_exec(ApplyState *st);
static void apply_end_exec(ApplyState *st);
static bool apply_find_local(ApplyState *st);
static bytea *apply_remote_key(ApplyState *st);
static void apply_row(ApplyState *st, ApplyStats *stats);
static void apply_row_insert(ApplyState *st, ApplyStats *stats);
static void apply_row_merge(ApplyState *st, ApplyStats *stats);
static void apply_delete(ApplyState *st, ApplyStats *stats);
static void apply_check_unchanged(ApplyState *st, AttrNumber attnum,
								  CrdtVersion local, bool have_local);

/* ----------------------------------------------------------------
 *		Per-table cache
 * ----------------------------------------------------------------
 */

static void
apply_rel_invalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	ApplyRel   *entry;

	if (apply_rels == NULL)
		return;
	hash_seq_init(&status, apply_rels);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->relid == relid)
			entry->valid = false;
	}
}

/*
 * Conversion functions are looked up lazily (apply_convert_value): a type
 * without a receive function is fine as long as nobody sends it in binary.
 */
static ApplyRel *
apply_rel_get(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	ApplyRel   *entry;
	bool		found;
	MemoryContext oldcxt;
	int			i;

	if (apply_rels == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(ApplyRel);
		ctl.hcxt = CacheMemoryContext;
		apply_rels = hash_create("edge_crdt apply relations", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(apply_rel_invalidate, (Datum) 0);
	}

	entry = hash_search(apply_rels, &relid, HASH_ENTER, &found);
	if (found && entry->valid && entry->natts == desc->natts)
		return entry;

	if (found && entry->cxt != NULL)
		MemoryContextDelete(entry->cxt);
	entry->relid = relid;
	entry->valid = false;
	entry->cxt = AllocSetContextCreate(CacheMemoryContext,
									   "edge_crdt apply relation",
									   ALLOCSET_SMALL_SIZES);
	entry->natts = desc->natts;
	oldcxt = MemoryContextSwitchTo(entry->cxt);
	entry->columns = palloc0(sizeof(ApplyColumn) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ApplyColumn *col = &entry->columns[i];

		if (att->attisdropped)
			continue;
		col->type_name = format_type_be_qualified(att->atttypid);
		col->typid = att->atttypid;
		col->typmod = att->atttypmod;
	}
	apply_replica_triggers(entry, rel->trigdesc);
	MemoryContextSwitchTo(oldcxt);
	entry->valid = true;
	return entry;
}

/*
 * The triggers of a table that can fire with session_replication_role =
 * replica (TriggerEnabled() skips the others), as a trigger descriptor
 * with its summary flags set as trigger.c's SetTriggerFlags() does.
 * Allocated in the current memory context (the entry's).
 */
static void
apply_replica_triggers(ApplyRel *entry, TriggerDesc *all)
{
	TriggerDesc *desc;
	int			n = 0;
	int			i;

	entry->replica_filtered = false;
	entry->replica_triggers = NULL;
	if (all == NULL)
		return;
	for (i = 0; i < all->numtriggers; i++)
		if (all->triggers[i].tgenabled == TRIGGER_FIRES_ALWAYS ||
			all->triggers[i].tgenabled == TRIGGER_FIRES_ON_REPLICA)
			n++;
	if (n == all->numtriggers)
		return;					/* nothing to leave out */
	entry->replica_filtered = true;
	if (n == 0)
		return;

	desc = CopyTriggerDesc(all);
	n = 0;
	for (i = 0; i < desc->numtriggers; i++)
	{
		Trigger    *t = &desc->triggers[i];

		if (t->tgenabled == TRIGGER_FIRES_ALWAYS ||
			t->tgenabled == TRIGGER_FIRES_ON_REPLICA)
			desc->triggers[n++] = *t;
	}
	desc->numtriggers = n;
	desc->trig_insert_before_row = false;
	desc->trig_insert_after_row = false;
	desc->trig_insert_instead_row = false;
	desc->trig_insert_before_statement = false;
	desc->trig_insert_after_statement = false;
	desc->trig_update_before_row = false;
	desc->trig_update_after_row = false;
	desc->trig_update_instead_row = false;
	desc->trig_update_before_statement = false;
	desc->trig_update_after_statement = false;
	desc->trig_delete_before_row = false;
	desc->trig_delete_after_row = false;
	desc->trig_delete_instead_row = false;
	desc->trig_delete_before_statement = false;
	desc->trig_delete_after_statement = false;
	desc->trig_truncate_before_statement = false;
	desc->trig_truncate_after_statement = false;
	desc->trig_insert_new_table = false;
	desc->trig_update_old_table = false;
	desc->trig_update_new_table = false;
	desc->trig_delete_old_table = false;
	for (i = 0; i < n; i++)
	{
		Trigger    *t = &desc->triggers[i];
		int16		tgtype = t->tgtype;

#define APPLY_TRIGGER_FLAG(flag, level, timing, event) \
		(desc->flag |= TRIGGER_TYPE_MATCHES(tgtype, TRIGGER_TYPE_##level, \
											TRIGGER_TYPE_##timing, TRIGGER_TYPE_##event))
		APPLY_TRIGGER_FLAG(trig_insert_before_row, ROW, BEFORE, INSERT);
		APPLY_TRIGGER_FLAG(trig_insert_after_row, ROW, AFTER, INSERT);
		APPLY_TRIGGER_FLAG(trig_insert_instead_row, ROW, INSTEAD, INSERT);
		APPLY_TRIGGER_FLAG(trig_insert_before_statement, STATEMENT, BEFORE, INSERT);
		APPLY_TRIGGER_FLAG(trig_insert_after_statement, STATEMENT, AFTER, INSERT);
		APPLY_TRIGGER_FLAG(trig_update_before_row, ROW, BEFORE, UPDATE);
		APPLY_TRIGGER_FLAG(trig_update_after_row, ROW, AFTER, UPDATE);
		APPLY_TRIGGER_FLAG(trig_update_instead_row, ROW, INSTEAD, UPDATE);
		APPLY_TRIGGER_FLAG(trig_update_before_statement, STATEMENT, BEFORE, UPDATE);
		APPLY_TRIGGER_FLAG(trig_update_after_statement, STATEMENT, AFTER, UPDATE);
		APPLY_TRIGGER_FLAG(trig_delete_before_row, ROW, BEFORE, DELETE);
		APPLY_TRIGGER_FLAG(trig_delete_after_row, ROW, AFTER, DELETE);
		APPLY_TRIGGER_FLAG(trig_delete_instead_row, ROW, INSTEAD, DELETE);
		APPLY_TRIGGER_FLAG(trig_delete_before_statement, STATEMENT, BEFORE, DELETE);
		APPLY_TRIGGER_FLAG(trig_delete_after_statement, STATEMENT, AFTER, DELETE);
		APPLY_TRIGGER_FLAG(trig_truncate_before_statement, STATEMENT, BEFORE, TRUNCATE);
		APPLY_TRIGGER_FLAG(trig_truncate_after_statement, STATEMENT, AFTER, TRUNCATE);
#undef APPLY_TRIGGER_FLAG
		desc->trig_insert_new_table |= TRIGGER_FOR_INSERT(tgtype) &&
			TRIGGER_USES_TRANSITION_TABLE(t->tgnewtable);
		desc->trig_update_old_table |= TRIGGER_FOR_UPDATE(tgtype) &&
			TRIGGER_USES_TRANSITION_TABLE(t->tgoldtable);
		desc->trig_update_new_table |= TRIGGER_FOR_UPDATE(tgtype) &&
			TRIGGER_USES_TRANSITION_TABLE(t->tgnewtable);
		desc->trig_delete_old_table |= TRIGGER_FOR_DELETE(tgtype) &&
			TRIGGER_USES_TRANSITION_TABLE(t->tgoldtable);
	}
	entry->replica_triggers = desc;
}

/* ----------------------------------------------------------------
 *		Errors
 * ----------------------------------------------------------------
 */

static void
apply_error_callback(void *arg)
{
	ApplyState *st = (ApplyState *) arg;
	const char *what = st->msg->type == WIRE_ROW ? "row" : "delete";

	if (st->column != NULL)
		errcontext("applying %s change from peer \"%s\" to column \"%s\" of relation \"%s.%s\"",
				   what, st->peer, st->column, st->nspname, st->relname);
	else
		errcontext("applying %s change from peer \"%s\" to relation \"%s.%s\"",
				   what, st->peer, st->nspname, st->relname);
}

/* ----------------------------------------------------------------
 *		Entry point
 * ----------------------------------------------------------------
 */

void
ApplyWireChange(const WireMessage *msg, const char *peer, int32 peer_node,
				XLogRecPtr commit_lsn, ApplyStats *stats)
{
	ApplyState	st;
	ApplyStats	ignored;
	ErrorContextCallback errcb;
	MemoryContext oldcxt;
	bool		pushed_snapshot = false;

	CHECK_FOR_INTERRUPTS();

	if (stats == NULL)
		stats = &ignored;
	if (msg->type != WIRE_ROW && msg->type != WIRE_DELETE)
		elog(ERROR, "ApplyWireChange cannot apply a %s message",
			 wire_msg_type_name(msg->type) ? wire_msg_type_name(msg->type) : "unknown");

	if (apply_message_cxt == NULL)
		apply_message_cxt = AllocSetContextCreate(TopMemoryContext,
												  "edge_crdt apply message",
												  ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(apply_message_cxt);
	oldcxt = MemoryContextSwitchTo(apply_message_cxt);

	memset(&st, 0, sizeof(st));
	st.msg = msg;
	st.peer = peer ? peer : "?";
	st.peer_node = peer_node;
	st.commit_lsn = commit_lsn;
	st.nspname = pnstrdup(msg->nspname.data, msg->nspname.len);
	st.relname = pnstrdup(msg->relname.data, msg->relname.len);

	errcb.callback = apply_error_callback;
	errcb.arg = &st;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	/* Odd causal lengths are alive, even ones deleted; 0 is nothing. */
	if (msg->type == WIRE_ROW ? (msg->cl < 1 || msg->cl % 2 == 0)
		: (msg->cl < 2 || msg->cl % 2 != 0))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid causal length " INT64_FORMAT " in a %s change",
						(int64) msg->cl, msg->type == WIRE_ROW ? "row" : "delete"),
				 errdetail("A row change carries an odd causal length, a delete an even one.")));

	apply_observe_clock(msg, peer);

	/* Defaults, constraints and always-enabled triggers may need one. */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed_snapshot = true;
	}

	apply_open_relation(&st);
	apply_read_columns(&st);

	apply_begin_exec(&st);
	if (msg->type == WIRE_ROW)
		apply_row(&st, stats);
	else
		apply_delete(&st, stats);
	apply_end_exec(&st);

	/* The row lock and the table lock are held until the transaction ends. */
	table_close(st.rel, NoLock);
	if (pushed_snapshot)
		PopActiveSnapshot();

	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(apply_message_cxt);

	/* The next change of the transaction may touch the same row. */
	CommandCounterIncrement();
}

/*
 * Every version applied must be below what the clock issues next; a value
 * too far ahead is refused (HlcObserve raises the error naming the peer).
 * A version is either none (hlc 0) or a positive hlc from a valid node, as
 * rowmeta's text form requires.
 */
static void
apply_observe_clock(const WireMessage *msg, const char *peer)
{
	int64		max_hlc = 0;
	int			i;

	for (i = -1; i < msg->ncolumns; i++)
	{
		CrdtVersion v = (i < 0) ? msg->version : msg->columns[i].version;

		if (v.hlc == 0 && (i >= 0 || msg->type == WIRE_ROW))
			continue;
		if (v.hlc <= 0 || !CRDT_NODE_ID_VALID(v.node))
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("invalid version (" INT64_FORMAT ", %d) in a change",
							(int64) v.hlc, (int) v.node),
					 errdetail("Versions carry a positive clock value and a valid node id.")));
		max_hlc = Max(max_hlc, v.hlc);
	}
	if (max_hlc != 0)
		(void) HlcObserve(max_hlc, peer);
}

static void
apply_open_relation(ApplyState *st)
{
	Oid			nspid;
	Oid			relid = InvalidOid;

	nspid = get_namespace_oid(st->nspname, true);
	if (OidIsValid(nspid))
		relid = get_relname_relid(st->relname, nspid);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", st->nspname, st->relname),
				 errdetail("Peer \"%s\" sent a change for a table this node does not have.",
						   st->peer),
				 errhint("Create the table on this node and replicate it with edge_crdt.replicate_table().")));

	st->rel = table_open(relid, RowExclusiveLock);
	st->desc = RelationGetDescr(st->rel);
	st->natts = st->desc->natts;
	st->info = ReplRelInfoGet(st->rel);
	if (!st->info->replicated)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s.%s\" is not replicated on this node",
						st->nspname, st->relname),
				 errdetail("Peer \"%s\" sent a change for it.", st->peer),
				 errhint("Call edge_crdt.replicate_table() for it on this node.")));
	st->pkoid = RelationGetPrimaryKeyIndex(st->rel);
	if (!OidIsValid(st->pkoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("replicated table \"%s.%s\" has no primary key",
						st->nspname, st->relname),
				 errhint("Restore the primary key; replicated rows are identified by it.")));
	st->arel = apply_rel_get(st->rel);
}

/* Is the wire string s exactly the C string c? */
static inline bool
apply_slice_eq(WireSlice s, const char *c)
{
	return strlen(c) == s.len && memcmp(c, s.data, s.len) == 0;
}

/*
 * Attnum of the live column called name, or InvalidAttrNumber.  The
 * sender lists its columns in attnum order, so when both tables were
 * created alike the wire position (hint) is the right guess.
 */
static AttrNumber
apply_find_column(ApplyState *st, WireSlice name, int hint)
{
	int			i;

	if (hint < st->natts && st->info->columns[hint].live &&
		apply_slice_eq(name, NameStr(TupleDescAttr(st->desc, hint)->attname)))
		return hint + 1;
	for (i = 0; i < st->natts; i++)
	{
		if (st->info->columns[i].live &&
			apply_slice_eq(name, NameStr(TupleDescAttr(st->desc, i)->attname)))
			return i + 1;
	}
	return InvalidAttrNumber;
}

/*
 * Was this column dropped with replicate_ddl?  Then a peer that wrote the
 * row before it applied the DROP COLUMN still sends it, and it is ignored.
 * Only asked for columns we lack, which is rare: SPI is fine.
 */
static bool
apply_column_dropped(ApplyState *st, const char *name)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2];
	bool		dropped;

	values[0] = ObjectIdGetDatum(RelationGetRelid(st->rel));
	values[1] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/*
	 * Not read-only: that takes a new snapshot.  The DROP COLUMN may have
	 * committed (by another peer's worker) after this transaction's
	 * snapshot was taken; the relation already shows it, so must this.
	 */
	if (SPI_execute_with_args("SELECT 1 FROM edge_crdt.dropped_column "
							  "WHERE relid = $1 AND column_name = $2",
							  2, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.dropped_column");
	dropped = SPI_processed > 0;
	SPI_finish();
	return dropped;
}

/* Map the message's columns onto the local table and convert the values. */
static void
apply_read_columns(ApplyState *st)
{
	const WireMessage *msg = st->msg;
	int			npresent_pk = 0;
	int			i;

	st->values = palloc0(sizeof(Datum) * st->natts);
	st->nulls = palloc(sizeof(bool) * st->natts);
	st->present = palloc0(sizeof(bool) * st->natts);
	st->unchanged = palloc0(sizeof(bool) * st->natts);
	st->versions = palloc0(sizeof(CrdtVersion) * st->natts);
	for (i = 0; i < st->natts; i++)
		st->nulls[i] = true;

	for (i = 0; i < msg->ncolumns; i++)
	{
		const WireColumn *col = &msg->columns[i];
		const char *name;
		AttrNumber	attnum;
		ApplyColumn *acol;

		/* The names are compared in place: copies only for messages. */
		attnum = apply_find_column(st, col->name, i);
		if (attnum == InvalidAttrNumber)
		{
			char	   *missing = pnstrdup(col->name.data, col->name.len);

			st->column = missing;
			if (apply_column_dropped(st, missing))
				continue;
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s.%s\" does not exist",
							missing, st->nspname, st->relname),
					 errdetail("Peer \"%s\" sent a value for it.", st->peer),
					 errhint("Add the column on this node, or drop it on the peer.")));
		}
		name = NameStr(TupleDescAttr(st->desc, attnum - 1)->attname);
		st->column = name;
		if (st->present[attnum - 1])
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("column \"%s\" appears twice in a change for relation \"%s.%s\"",
							name, st->nspname, st->relname)));

		acol = &st->arel->columns[attnum - 1];
		if (!apply_slice_eq(col->type_name, acol->type_name))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of relation \"%s.%s\" has type %s on this node but type %s on peer \"%s\"",
							name, st->nspname, st->relname, acol->type_name,
							pnstrdup(col->type_name.data, col->type_name.len), st->peer),
					 errhint("Give the column the same type on every node.")));

		st->present[attnum - 1] = true;
		st->versions[attnum - 1] = col->version;
		switch (col->kind)
		{
			case WIRE_NULL:
				break;
			case WIRE_UNCHANGED:
				st->unchanged[attnum - 1] = true;
				break;
			case WIRE_BINARY:
			case WIRE_TEXT:
				st->values[attnum - 1] = apply_convert_value(st, attnum, col);
				st->nulls[attnum - 1] = false;
				break;
		}
	}
	st->column = NULL;

	/* The key identifies the row: it must be there, and whole. */
	for (i = 0; i < st->info->npk; i++)
	{
		AttrNumber	attnum = st->info->pk_attnums[i];
		const char *name = NameStr(TupleDescAttr(st->desc, attnum - 1)->attname);

		if (!st->present[attnum - 1] || st->nulls[attnum - 1])
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("change for relation \"%s.%s\" lacks primary key column \"%s\"",
							st->nspname, st->relname, name),
					 errdetail("Peer \"%s\" sent no value for it.", st->peer),
					 errhint("Give the table the same primary key on every node.")));
		npresent_pk++;
	}
	if (msg->type == WIRE_DELETE && msg->ncolumns != npresent_pk)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("delete for relation \"%s.%s\" carries columns outside the primary key",
						st->nspname, st->relname),
				 errdetail("Peer \"%s\" identifies the row by %d columns, this node by %d.",
						   st->peer, (int) msg->ncolumns, npresent_pk),
				 errhint("Give the table the same primary key on every node.")));
}

/*
 * A wire value as a Datum of the local column's type.  The receive or
 * input function runs with the column's typmod, as COPY would.
 */
static Datum
apply_convert_value(ApplyState *st, AttrNumber attnum, const WireColumn *col)
{
	ApplyColumn *acol = &st->arel->columns[attnum - 1];
	Datum		result;

	if (col->kind == WIRE_BINARY)
	{
		StringInfoData buf;

		if (!acol->have_recv)
		{
			Oid			recvfn;

			getTypeBinaryInputInfo(acol->typid, &recvfn, &acol->typioparam);
			fmgr_info_cxt(recvfn, &acol->recv_finfo, st->arel->cxt);
			acol->have_recv = true;
		}
		/*
		 * A private, terminated copy: receive functions may rely on both.
		 * Sized to the value (initStringInfo would take 1 kB each time).
		 */
		buf.maxlen = (int) col->value.len + 1;
		buf.data = palloc(buf.maxlen);
		memcpy(buf.data, col->value.data, col->value.len);
		buf.data[col->value.len] = '\0';
		buf.len = (int) col->value.len;
		buf.cursor = 0;
		result = ReceiveFunctionCall(&acol->recv_finfo, &buf,
									 acol->typioparam, acol->typmod);
		if (buf.cursor != buf.len)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("incorrect binary data format"),
					 errdetail_plural("%d byte is left over after a value of type %s.",
									  "%d bytes are left over after a value of type %s.",
									  buf.len - buf.cursor,
									  buf.len - buf.cursor, acol->type_name)));
	}
	else
	{
		char	   *str;

		if (!acol->have_in)
		{
			Oid			infn;

			getTypeInputInfo(acol->typid, &infn, &acol->typioparam);
			fmgr_info_cxt(infn, &acol->in_finfo, st->arel->cxt);
			acol->have_in = true;
		}
		if (memchr(col->value.data, '\0', col->value.len) != NULL ||
			!pg_verify_mbstr(GetDatabaseEncoding(), col->value.data,
							 (int) col->value.len, true))
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("invalid text value of type %s", acol->type_name),
					 errdetail("The value is not valid text in encoding \"%s\".",
							   GetDatabaseEncodingName())));
		str = pnstrdup(col->value.data, col->value.len);
		result = InputFunctionCall(&acol->in_finfo, str, acol->typioparam,
								   acol->typmod);
	}
	return result;
}

/* ----------------------------------------------------------------
 *		Executor
 * ----------------------------------------------------------------
 */

/*
 * An executor state for one result relation, set up as worker.c's
 * create_edata_for_relation does.
 */
static void
apply_begin_exec(ApplyState *st)
{
	RangeTblEntry *rte;
	EState	   *estate;
	int			i;

	st->estate = estate = CreateExecutorState();

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(st->rel);
	rte->relkind = st->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
	{
		List	   *perminfos = NIL;

		addRTEPermissionInfo(&perminfos, rte);
		ExecInitRangeTable(estate, list_make1(rte), perminfos);
	}
#else
	ExecInitRangeTable(estate, list_make1(rte));
#endif

	st->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(st->rri, st->rel, 1, NULL, 0);
	/* Only what can fire (see the file header); lives in the table's cache entry. */
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA &&
		st->arel->replica_filtered)
		st->rri->ri_TrigDesc = st->arel->replica_triggers;
	/* So that ExecGetTriggerResultRel() finds it (see worker.c). */
	estate->es_opened_result_relations =
		lappend(estate->es_opened_result_relations, st->rri);
	estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(st->rri, false);
	AfterTriggerBeginQuery();

	st->searchslot = ExecInitExtraTupleSlot(estate, st->desc, &TTSOpsVirtual);
	st->newslot = ExecInitExtraTupleSlot(estate, st->desc, &TTSOpsVirtual);
	st->localslot = table_slot_create(st->rel, &estate->es_tupleTable);

	/* The search key: the remote primary key, nothing else. */
	ExecClearTuple(st->searchslot);
	for (i = 0; i < st->natts; i++)
	{
		st->searchslot->tts_values[i] = (Datum) 0;
		st->searchslot->tts_isnull[i] = true;
	}
	for (i = 0; i < st->info->npk; i++)
	{
		AttrNumber	attnum = st->info->pk_attnums[i];

		st->searchslot->tts_values[attnum - 1] = st->values[attnum - 1];
		st->searchslot->tts_isnull[attnum - 1] = false;
	}
	ExecStoreVirtualTuple(st->searchslot);
}

static void
apply_end_exec(ApplyState *st)
{
	ExecCloseIndices(st->rri);
	AfterTriggerEndQuery(st->estate);
	/* Not ExecCloseResultRelations: the relation is ours to close. */
	ExecResetTupleTable(st->estate->es_tupleTable, false);
	FreeExecutorState(st->estate);
	st->estate = NULL;
}

/*
 * Find the local row with the remote key and lock it; waits for a
 * concurrent writer of that row to finish, then sees its result.
 */
static bool
apply_find_local(ApplyState *st)
{
	bool		found;

	found = RelationFindReplTupleByIndex(st->rel, st->pkoid, LockTupleExclusive,
										 st->searchslot, st->localslot);
	if (found)
		slot_getallattrs(st->localslot);
	return found;
}

/*
 * The key bytes of the remote row, encoded from a tuple of the local table
 * exactly as the capture trigger encodes local rows.
 */
static bytea *
apply_remote_key(ApplyState *st)
{
	HeapTuple	tuple = heap_form_tuple(st->desc, st->searchslot->tts_values,
										st->searchslot->tts_isnull);

	return TombstoneKeyFromTuple(st->info, st->desc, tuple);
}

/* A column sent as "unchanged" is acceptable only if we hold that version. */
static void
apply_check_unchanged(ApplyState *st, AttrNumber attnum, CrdtVersion local,
					  bool have_local)
{
	CrdtVersion remote = st->versions[attnum - 1];

	if (have_local && crdt_version_cmp(local, remote) == 0)
		return;
	st->column = NameStr(TupleDescAttr(st->desc, attnum - 1)->attname);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("incomplete change for relation \"%s.%s\"", st->nspname, st->relname),
			 errdetail("Column \"%s\" was sent without its value, and this node does not have the version it refers to.",
					   st->column),
			 errhint("Ask the peer to resend the row in full.")));
}

/* ----------------------------------------------------------------
 *		ROW
 * ----------------------------------------------------------------
 */

/*
 * The remote row's primary key as text, "(v1,v2)", for conflict records.
 * Only built when conflicts are logged.
 */
static char *
apply_key_text(ApplyState *st)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '(');
	for (i = 0; i < st->info->npk; i++)
	{
		AttrNumber	attnum = st->info->pk_attnums[i];
		Oid			typoutput;
		bool		isvarlena;

		getTypeOutputInfo(TupleDescAttr(st->desc, attnum - 1)->atttypid,
						  &typoutput, &isvarlena);
		if (i > 0)
			appendStringInfoChar(&buf, ',');
		appendStringInfoString(&buf,
							   OidOutputFunctionCall(typoutput, st->values[attnum - 1]));
	}
	appendStringInfoChar(&buf, ')');
	return buf.data;
}

static void
apply_log_row_conflict(ApplyState *st, ConflictKind kind, int64 local_cl)
{
	ConflictRecord r;

	if (!edge_crdt_log_conflicts)
		return;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.local_cl = local_cl;
	r.remote_cl = st->msg->cl;
	r.remote = st->msg->version;
	ConflictLog(st->peer, st->rel, apply_key_text(st), &r, 1);
}

static void
apply_row(ApplyState *st, ApplyStats *stats)
{
	if (apply_find_local(st))
		apply_row_merge(st, stats);
	else
	{
		int64		tomb_cl = TombstoneLookup(st->info->relid, apply_remote_key(st));

		if (tomb_cl >= st->msg->cl)
		{
			stats->rows_skipped++;	/* that incarnation died here */
			stats->conflicts++;
			apply_log_row_conflict(st, CONFLICT_INCARNATION_LOST, tomb_cl);
		}
		else
			apply_row_insert(st, stats);
	}
}

static void
apply_row_insert(ApplyState *st, ApplyStats *stats)
{
	TupleTableSlot *slot = st->newslot;
	ExprContext *econtext = GetPerTupleExprContext(st->estate);
	CrdtVersion *versions = palloc0(sizeof(CrdtVersion) * st->natts);
	int			i;

	ExecClearTuple(slot);
	for (i = 0; i < st->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(st->desc, i);

		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
		if (!st->info->columns[i].live)
			continue;
		if (st->present[i])
		{
			if (st->unchanged[i])
				apply_check_unchanged(st, i + 1, versions[i], false);
			slot->tts_values[i] = st->values[i];
			slot->tts_isnull[i] = st->nulls[i];
			versions[i] = st->versions[i];
		}
		else if (!att->attgenerated)
		{
			/* Not on the peer: the local default, with no version. */
			Expr	   *defexpr = (Expr *) build_column_default(st->rel, i + 1);

			if (defexpr != NULL)
			{
				ExprState  *state = ExecInitExpr(expression_planner(defexpr), NULL);

				slot->tts_values[i] = ExecEvalExpr(state, econtext,
												   &slot->tts_isnull[i]);
			}
		}
	}
	slot->tts_values[st->info->meta_attnum - 1] =
		PointerGetDatum(rowmeta_build(st->msg->cl, st->natts, versions));
	slot->tts_isnull[st->info->meta_attnum - 1] = false;
	ExecStoreVirtualTuple(slot);

	st->estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationInsert(st->rri, st->estate, slot);
	stats->rows_inserted++;
}

/*
 * The local row exists (locked in localslot): merge by causal length, then
 * column by column within one incarnation.
 */
static void
apply_row_merge(ApplyState *st, ApplyStats *stats)
{
	TupleTableSlot *local = st->localslot;
	TupleTableSlot *slot = st->newslot;
	AttrNumber	meta_attnum = st->info->meta_attnum;
	RowMeta    *meta = NULL;
	int64		local_cl = 1;
	int64		remote_cl = st->msg->cl;
	bool		newer;
	bool		changed;
	CrdtVersion *versions = palloc0(sizeof(CrdtVersion) * st->natts);
	ConflictRecord *records = palloc0(sizeof(ConflictRecord) * st->natts);
	CrdtVersion newest = {0, 0};
	int64		conflicts = 0;
	int			i;

	for (i = 0; i < st->natts; i++)
		if (st->present[i] && crdt_version_cmp(st->versions[i], newest) > 0)
			newest = st->versions[i];

	/* A row written before the table was replicated has no metadata yet. */
	if (!local->tts_isnull[meta_attnum - 1])
	{
		meta = DatumGetRowMeta(local->tts_values[meta_attnum - 1]);
		local_cl = rowmeta_cl(meta);
		for (i = 0; i < st->natts; i++)
			versions[i] = rowmeta_version(meta, i + 1);
	}

	if (remote_cl < local_cl)
	{
		stats->rows_skipped++;	/* an older incarnation */
		stats->conflicts++;
		apply_log_row_conflict(st, CONFLICT_INCARNATION_LOST, local_cl);
		return;
	}
	newer = remote_cl > local_cl;
	changed = newer;

	ExecClearTuple(slot);
	memcpy(slot->tts_values, local->tts_values, sizeof(Datum) * st->natts);
	memcpy(slot->tts_isnull, local->tts_isnull, sizeof(bool) * st->natts);

	for (i = 0; i < st->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(st->desc, i);
		ReplColumn *rcol = &st->info->columns[i];
		CrdtVersion lv = versions[i];
		CrdtVersion rv = st->versions[i];
		int			cmp = crdt_version_cmp(rv, lv);

		if (!rcol->live || !st->present[i])
			continue;
		if (st->unchanged[i])
		{
			apply_check_unchanged(st, i + 1, lv, true);
			continue;
		}

		st->column = NameStr(att->attname);
		if (newer)
		{
			/* A new incarnation starts from the remote values. */
			slot->tts_values[i] = st->values[i];
			slot->tts_isnull[i] = st->nulls[i];
			versions[i] = rv;
		}
		else if (rcol->is_crdt)
		{
			/* Always merged, whatever the versions say. */
			if (!st->nulls[i])
			{
				if (slot->tts_isnull[i])
				{
					slot->tts_values[i] = st->values[i];
					slot->tts_isnull[i] = false;
					changed = true;
				}
				else
				{
					Datum		lval = slot->tts_values[i];
					Datum		merged;

					merged = FunctionCall2Coll(&rcol->merge_finfo, InvalidOid,
											   lval, st->values[i]);
					if (!datum_image_eq(merged, lval, att->attbyval, att->attlen))
					{
						slot->tts_values[i] = merged;
						changed = true;
						/* Each side had something the other lacked. */
						if (!datum_image_eq(merged, st->values[i],
											att->attbyval, att->attlen))
						{
							records[conflicts].kind = CONFLICT_CRDT_MERGED;
							records[conflicts].column = NameStr(att->attname);
							records[conflicts].local = lv;
							records[conflicts].remote = rv;
							conflicts++;
						}
					}
				}
			}
			if (cmp > 0)
			{
				versions[i] = rv;
				changed = true;
			}
		}
		else if (cmp > 0)
		{
			slot->tts_values[i] = st->values[i];
			slot->tts_isnull[i] = st->nulls[i];
			versions[i] = rv;
			changed = true;
		}
		else if (cmp < 0 && crdt_version_cmp(rv, newest) == 0 &&
				 (st->peer_node == 0 || rv.node == st->peer_node))
		{
			/*
			 * A write the sender made in this very change (its newest
			 * version) lost to ours.  Older versions a row image merely
			 * carries are not conflicts.
			 */
			/* a concurrent write that lost to ours */
			records[conflicts].kind = CONFLICT_LOCAL_WON;
			records[conflicts].column = NameStr(att->attname);
			records[conflicts].local = lv;
			records[conflicts].remote = rv;
			conflicts++;
		}
	}
	st->column = NULL;
	stats->conflicts += conflicts;
	if (conflicts > 0 && edge_crdt_log_conflicts)
	{
		for (i = 0; i < conflicts; i++)
		{
			records[i].local_cl = local_cl;
			records[i].remote_cl = remote_cl;
		}
		ConflictLog(st->peer, st->rel, apply_key_text(st), records, (int) conflicts);
	}

	if (!changed)
	{
		stats->rows_skipped++;
		return;
	}

	/*
	 * Like the capture trigger, write kept out-of-line values in full, so
	 * that this row version decodes into a complete change if it is ever
	 * forwarded.
	 */
	for (i = 0; i < st->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(st->desc, i);

		if (st->info->columns[i].live && !slot->tts_isnull[i] &&
			att->attlen == -1 &&
			VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(slot->tts_values[i])))
			slot->tts_values[i] = PointerGetDatum(
				detoast_external_attr((struct varlena *) DatumGetPointer(slot->tts_values[i])));
	}

	slot->tts_values[meta_attnum - 1] =
		PointerGetDatum(rowmeta_build(Max(remote_cl, local_cl), st->natts, versions));
	slot->tts_isnull[meta_attnum - 1] = false;
	ExecStoreVirtualTuple(slot);

	{
		EPQState	epqstate;

#if PG_VERSION_NUM >= 160000
		EvalPlanQualInit(&epqstate, st->estate, NULL, NIL, -1, NIL);
#else
		EvalPlanQualInit(&epqstate, st->estate, NULL, NIL, -1);
#endif
		st->estate->es_output_cid = GetCurrentCommandId(true);
		ExecSimpleRelationUpdate(st->rri, st->estate, &epqstate, local, slot);
		EvalPlanQualEnd(&epqstate);
	}
	if (newer)
		stats->rows_inserted++;
	else
		stats->rows_updated++;
}

/* ----------------------------------------------------------------
 *		DELETE
 * ----------------------------------------------------------------
 */

static void
apply_delete(ApplyState *st, ApplyStats *stats)
{
	bool		found = apply_find_local(st);
	bytea	   *key = apply_remote_key(st);
	int64		local_cl = 1;

	/*
	 * The commit position locates the deletion in its origin's stream only
	 * when the sender made it (streams carry local changes alone).
	 */
	TombstoneWrite(st->info->relid, key, st->msg->cl, st->msg->version,
				   st->msg->version.node == st->peer_node ? st->commit_lsn
				   : InvalidXLogRecPtr);

	if (found)
	{
		AttrNumber	meta_attnum = st->info->meta_attnum;

		if (!st->localslot->tts_isnull[meta_attnum - 1])
			local_cl = rowmeta_cl(DatumGetRowMeta(st->localslot->tts_values[meta_attnum - 1]));
	}
	if (found && local_cl < st->msg->cl)
	{
		EPQState	epqstate;

#if PG_VERSION_NUM >= 160000
		EvalPlanQualInit(&epqstate, st->estate, NULL, NIL, -1, NIL);
#else
		EvalPlanQualInit(&epqstate, st->estate, NULL, NIL, -1);
#endif
		st->estate->es_output_cid = GetCurrentCommandId(true);
		ExecSimpleRelationDelete(st->rri, st->estate, &epqstate, st->localslot);
		EvalPlanQualEnd(&epqstate);
		stats->rows_deleted++;
	}
	else
	{
		stats->rows_skipped++;	/* only the tombstone, or a newer row */
		if (found)
		{
			stats->conflicts++;
			apply_log_row_conflict(st, CONFLICT_DELETE_LOST, local_cl);
		}
	}
}

/* ----------------------------------------------------------------
 *		Quarantine (used by the stream and by the initial copy)
 * ----------------------------------------------------------------
 */

/*
 * Errors that say something about the change itself: quarantine it and go
 * on.  Anything else (lost connection, out of memory, deadlock, shutdown,
 * clock skew) is retried by restarting the worker.
 */
bool
ApplyErrorIsQuarantinable(ErrorData *edata)
{
	int			category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);

	if (edata->sqlerrcode == ERRCODE_DATETIME_VALUE_OUT_OF_RANGE)
		return false;			/* a peer clock beyond max_clock_skew */
	return category == ERRCODE_DATA_EXCEPTION ||
		category == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION ||
		category == ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION ||
		category == ERRCODE_FEATURE_NOT_SUPPORTED ||
		category == ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
}

void
ApplyErrorRecord(const char *peer, int32 origin_node, XLogRecPtr commit_lsn,
				 TimestampTz commit_time, ErrorData *edata, List *messages)
{
	Datum	   *elems;
	ArrayType  *arr;
	ListCell   *lc;
	int			n = 0;
	Oid			types[8] = {TEXTOID, INT4OID, LSNOID, TIMESTAMPTZOID, TEXTOID,
	TEXTOID, TEXTOID, BYTEAARRAYOID};
	Datum		values[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	elems = palloc(sizeof(Datum) * Max(list_length(messages), 1));
	foreach(lc, messages)
		elems[n++] = PointerGetDatum(lfirst(lc));
	arr = construct_array(elems, n, BYTEAOID, -1, false, TYPALIGN_INT);

	values[0] = CStringGetTextDatum(peer);
	values[1] = Int32GetDatum(origin_node);
	values[2] = LSNGetDatum(commit_lsn);
	values[3] = TimestampTzGetDatum(commit_time);
	values[4] = CStringGetTextDatum(unpack_sql_state(edata->sqlerrcode));
	values[5] = CStringGetTextDatum(edata->message ? edata->message : "");
	if (edata->detail)
		values[6] = CStringGetTextDatum(edata->detail);
	else
		nulls[6] = 'n';
	values[7] = PointerGetDatum(arr);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("INSERT INTO edge_crdt.apply_errors "
							  "(peer_name, origin_node, commit_lsn, commit_time, "
							  " sqlstate, error, detail, messages) "
							  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
							  8, types, values, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not record the failed change in edge_crdt.apply_errors");
	SPI_finish();
}
