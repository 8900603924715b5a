/*-------------------------------------------------------------------------
 * sync.c
 *	  Initial copy: the tables a peer has and we lack, before its stream.
 *
 * Why copy + stream lose nothing.  The stream from a peer carries every
 * transaction that commits on it after our slot's consistent point.  The
 * copy runs in a snapshot taken at or after that point, so it sees every
 * transaction committed before it; anything it misses commits later and is
 * in the stream.  The snapshot is the slot's own when we create the slot
 * here (CREATE_REPLICATION_SLOT ... (SNAPSHOT 'use')); when the slot exists
 * already (a copy interrupted by a crash resumes, a table was added) it is
 * a fresh one, later than the slot, which is equally complete.  What the
 * two overlap is applied twice, which the merge makes harmless: it is a
 * join in a lattice, idempotent.
 *
 * The copy brings the peer's tombstones as well as its rows: without them
 * an old change to a row the peer deleted, arriving later from a third
 * node, would bring the row back here.
 *
 * A table is copied in local transactions of SYNC_BATCH_ROWS messages,
 * each recording its progress in edge_crdt.sync_table, so progress is
 * visible while it runs.  A copy that fails leaves its table in state
 * 'failed' (or 'copying' after a crash) and starts that table again on the
 * next attempt; tables already done are not copied again.
 *
 * IDENTIFICATION
 *	  replicator/sync.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "access/heapam.h"
#include "commands/copy.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "parser/parse_relation.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "edge_crdt/apply.h"
#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/hlc.h"
#include "edge_crdt/peer.h"
#include "edge_crdt/relinfo.h"
#include "edge_crdt/replicator.h"
#include "edge_crdt/tombstone.h"
#include "edge_crdt/wire.h"

#define SYNC_BATCH_ROWS		5000
#define SYNC_BULK_ROWS		1000	/* rows per table_multi_insert */

/*
 * A tombstone's commit position as the peer knows it.  Its own deletions
 * have none until tombstone collection stamps them, but any it sees
 * committed lie below its current insert position: a safe upper bound.
 */
#define SYNC_TOMBSTONE_LSN \
	"COALESCE(lsn, CASE WHEN node = (SELECT node_id FROM edge_crdt.node) " \
	"THEN pg_catalog.pg_current_wal_insert_lsn() END)"

/* The signature at the start of COPY ... (FORMAT binary) output. */
static const char copy_signature[11] = "PGCOPY\n\377\r\n\0";

typedef struct SyncProgress
{
	int64		rows;
	int64		bytes;
} SyncProgress;

/* Run a statement on our side (inside the current transaction). */
static void
sync_local_exec(const char *sql, int32 peer_node, const char *table,
				const SyncProgress *progress, const char *error)
{
	Oid			types[5] = {INT4OID, TEXTOID, INT8OID, INT8OID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	values[0] = Int32GetDatum(peer_node);
	values[1] = CStringGetTextDatum(table);
	values[2] = Int64GetDatum(progress ? progress->rows : 0);
	values[3] = Int64GetDatum(progress ? progress->bytes : 0);
	if (error)
		values[4] = CStringGetTextDatum(error);
	else
		nulls[4] = 'n';
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, 5, types, values, nulls, false, 0) < 0)
		elog(ERROR, "could not update edge_crdt.sync_table");
	SPI_finish();
}

static void
sync_begin_local(void)
{
	/* A worker runs no statements: without this, now() is its start time. */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
sync_commit_local(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
}

bool
SyncPending(int32 peer_node)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(peer_node)};
	bool		pending;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM edge_crdt.sync_table "
							  "WHERE peer_node = $1 AND state <> 'done' LIMIT 1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.sync_table");
	pending = SPI_processed > 0;
	SPI_finish();
	return pending;
}

/* Tables still to copy from this peer, in a stable order. */
static List *
sync_pending_tables(int32 peer_node)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(peer_node)};
	List	   *tables = NIL;
	uint64		i;

	sync_begin_local();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT table_name FROM edge_crdt.sync_table "
							  "WHERE peer_node = $1 AND state <> 'done' ORDER BY table_name",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.sync_table");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		/* The list outlives this transaction: the worker's lifetime. */
		tables = lappend(tables, pstrdup(name));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	sync_commit_local();
	return tables;
}

/*
 * The next CopyData message of the COPY the peer is sending (to be freed
 * with PQfreemem), or -1 at its end; waits on the latch.
 */
static int
sync_next_copy_data(PGconn *conn, const char *peer, char **buf)
{
	for (;;)
	{
		int			len = PQgetCopyData(conn, buf, 1);

		if (len == 0)
		{
			PeerWaitSocket(conn, WL_SOCKET_READABLE, PeerReplyDeadline(),
						   "copying a table from");
			if (PQconsumeInput(conn) != 0)
				continue;
			len = -2;
		}
		if (len < -1)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("lost connection to peer \"%s\" during the initial copy: %s",
							peer, pchomp(PQerrorMessage(conn)))));
		return len;
	}
}

/* After the data: the COPY's own result says whether the peer finished it. */
static void
sync_end_copy(PGconn *conn, const char *peer, const char *sql)
{
	PGresult   *res;

	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			char	   *msg = pchomp(PQresultErrorMessage(res));

			PQclear(res);
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_EXCEPTION),
					 errmsg("initial copy from peer \"%s\" failed: %s", peer, msg),
					 errcontext("command on the peer: %s", sql)));
		}
		PQclear(res);
	}
}

/*
 * One CopyData message of a binary COPY of a single bytea column: the
 * header may come first (with the first row, or with the trailer when
 * there are no rows).  Returns the field, or NULL for the trailer.
 */
static const char *
sync_parse_copy_data(const char *data, int len, bool *header_seen,
					 const char *peer, uint32 *field_len)
{
	const char *p = data;
	const char *end = data + len;
	int16		nfields;
	int32		flen;

	if (!*header_seen)
	{
		uint32		ext;

		if (end - p < 19 || memcmp(p, copy_signature, sizeof(copy_signature)) != 0)
			goto bad;
		memcpy(&ext, p + 15, 4);
		ext = pg_ntoh32(ext);
		p += 19;
		if ((uint32) (end - p) < ext)
			goto bad;
		p += ext;
		*header_seen = true;
	}
	if (end - p < 2)
		goto bad;
	memcpy(&nfields, p, 2);
	nfields = (int16) pg_ntoh16(nfields);
	p += 2;
	if (nfields == -1 && p == end)
		return NULL;
	if (nfields != 1 || end - p < 4)
		goto bad;
	memcpy(&flen, p, 4);
	flen = (int32) pg_ntoh32(flen);
	p += 4;
	if (flen < 0 || end - p != flen)
		goto bad;
	*field_len = (uint32) flen;
	return p;

bad:
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("peer \"%s\" sent malformed data during the initial copy", peer)));
	return NULL;				/* keep compiler quiet */
}

/*
 * In a PG_CATCH block: an error about the data (ApplyErrorIsQuarantinable)
 * is taken over -- copied into cxt, the local transaction rolled back and a
 * new one begun -- and returned; any other error goes on up.
 */
static ErrorData *
sync_catch_data_error(MemoryContext cxt)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (!ApplyErrorIsQuarantinable(edata))
		PG_RE_THROW();
	FlushErrorState();
	AbortCurrentTransaction();
	sync_begin_local();
	return edata;
}

/* Decode and merge one copied message. */
static void
sync_apply_one(const char *m, uint32 mlen, const char *peer, int32 peer_node)
{
	WireMessage msg;
	CrdtError	err;

	if (wire_decode(m, mlen, &msg, crdt_palloc, &err) != CRDT_OK)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("invalid change set from peer \"%s\" during the initial copy",
						peer),
				 errdetail("%s", err.message)));
	if (msg.type != WIRE_ROW && msg.type != WIRE_DELETE)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("peer \"%s\" sent a %s message in the initial copy",
						peer, wire_msg_type_name(msg.type))));
	ApplyWireChange(&msg, peer, peer_node, InvalidXLogRecPtr, NULL);
}

/*
 * Apply a batch again, each message in its own subtransaction; one that
 * fails with an error about the change itself is recorded in
 * edge_crdt.apply_errors (commit position 0/0: it came with the copy).
 */
static void
sync_replay_batch(List *batch, const char *peer, int32 peer_node,
				  MemoryContext msgcxt)
{
	ListCell   *lc;

	foreach(lc, batch)
	{
		bytea	   *m = lfirst(lc);
		MemoryContext oldcxt = CurrentMemoryContext;
		ResourceOwner oldowner = CurrentResourceOwner;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(msgcxt);
		PG_TRY();
		{
			sync_apply_one(VARDATA(m), VARSIZE(m) - VARHDRSZ, peer, peer_node);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			MemoryContextSwitchTo(oldcxt);
			edata = CopyErrorData();
			FlushErrorState();
			RollbackAndReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(oldcxt);
			CurrentResourceOwner = oldowner;
			if (!ApplyErrorIsQuarantinable(edata))
				ReThrowError(edata);
			ApplyErrorRecord(peer, peer_node, InvalidXLogRecPtr, GetCurrentTimestamp(),
							 edata, list_make1(m));
			ereport(WARNING,
					(errmsg("edge_crdt peer \"%s\": a row of the initial copy was quarantined in edge_crdt.apply_errors: %s",
							peer, edata->message),
					 errhint("Fix the cause, then call edge_crdt.retry_apply_error(), or edge_crdt.discard_apply_error().")));
		}
		PG_END_TRY();
		MemoryContextReset(msgcxt);
	}
}

/*
 * The fast path.  When the local table is empty -- no rows and no
 * tombstones -- merging a copied row is inserting it, so the copy can be a
 * plain COPY into the table (COPY's parsing and bulk insertion, no lookup
 * per row), the metadata column included.  Two conditions keep that
 * equivalent to the merge: the table must stay empty until the copy
 * commits (a SHARE ROW EXCLUSIVE lock, held by the one transaction that
 * copies the table: local writers and other peers' workers wait for it),
 * and the metadata must mean the same here, which it does when every
 * column, the metadata column included, has the same attribute number and
 * type on both sides (the metadata keys versions by attribute number).
 * The clock is advanced past the peer's, which covers every copied
 * version.  Otherwise, or for a table that has data, the copy merges
 * message by message (sync_copy_table).
 */
typedef struct SyncCopySource
{
	PGconn	   *conn;
	const char *peer;
	char	   *buf;
	int			len;
	int			pos;
	bool		done;
	int64		bytes;
} SyncCopySource;

static SyncCopySource copy_source;

/* COPY FROM's data source: the peer's COPY TO STDOUT. */
static int
sync_copy_read(void *outbuf, int minread, int maxread)
{
	SyncCopySource *src = &copy_source;
	int			bytesread = 0;

	while (maxread > 0 && bytesread < minread)
	{
		int			len;

		if (src->pos < src->len)
		{
			int			avail = Min(src->len - src->pos, maxread);

			memcpy((char *) outbuf + bytesread, src->buf + src->pos, avail);
			src->pos += avail;
			bytesread += avail;
			maxread -= avail;
			continue;
		}
		if (src->buf)
		{
			PQfreemem(src->buf);
			src->buf = NULL;
		}
		if (src->done)
			break;
		len = sync_next_copy_data(src->conn, src->peer, &src->buf);
		if (len == -1)
		{
			src->done = true;
			break;
		}
		src->len = len;
		src->pos = 0;
		src->bytes += len;
	}
	return bytesread;
}

/* Read and drop what is left of a COPY the peer is sending. */
static void
sync_drain_copy(PGconn *conn)
{
	char	   *buf;
	PGresult   *res;

	if (copy_source.done)
		return;
	while (PQgetCopyData(conn, &buf, 0) > 0)
		PQfreemem(buf);
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
	copy_source.done = true;
}

/*
 * Can sync_bulk_insert load this table?  Only if nothing but COPY's own
 * work is due per row: no triggers but ours (which do not fire in the
 * apply's replica role; foreign keys are triggers too) and no stored
 * generated columns.
 */
static bool
sync_can_bulk_insert(Relation rel)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	if (rel->rd_att->constr && rel->rd_att->constr->has_generated_stored)
		return false;
	for (i = 0; trigdesc && i < trigdesc->numtriggers; i++)
	{
		const char *name = trigdesc->triggers[i].tgname;

		if (strcmp(name, CAPTURE_TRIGGER_NAME) != 0 &&
			strcmp(name, "zz_edge_crdt_truncate") != 0)
			return false;
	}
	return true;
}

/*
 * Insert the rows COPY parses in batches (table_multi_insert), as COPY
 * itself does for a table without row triggers.  The capture trigger is a
 * BEFORE ROW trigger, and its mere presence makes CopyFrom insert row by
 * row, although it does not fire in the apply's replica role.
 */
static uint64
sync_bulk_insert(CopyFromState cstate, Relation rel)
{
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	ResultRelInfo *rri = makeNode(ResultRelInfo);
	RangeTblEntry *rte = makeNode(RangeTblEntry);
	BulkInsertState bistate = GetBulkInsertState();
	CommandId	cid = GetCurrentCommandId(true);
	TupleTableSlot *slots[SYNC_BULK_ROWS];
	uint64		total = 0;
	int			i;

	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(rel);
	rte->relkind = rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(estate, list_make1(rte));
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	estate->es_opened_result_relations = lappend(estate->es_opened_result_relations, rri);
	estate->es_output_cid = cid;
	ExecOpenIndices(rri, false);
	for (i = 0; i < SYNC_BULK_ROWS; i++)
		slots[i] = table_slot_create(rel, &estate->es_tupleTable);

	for (;;)
	{
		int			n = 0;

		while (n < SYNC_BULK_ROWS)
		{
			TupleTableSlot *slot = slots[n];
			MemoryContext old;
			bool		got;

			CHECK_FOR_INTERRUPTS();
			ResetPerTupleExprContext(estate);
			ExecClearTuple(slot);
			old = MemoryContextSwitchTo(GetPerTupleMemoryContext(estate));
			got = NextCopyFrom(cstate, econtext, slot->tts_values, slot->tts_isnull);
			MemoryContextSwitchTo(old);
			if (!got)
				break;
			ExecStoreVirtualTuple(slot);
			ExecMaterializeSlot(slot);
			if (rel->rd_att->constr)
				ExecConstraints(rri, slot, estate);
			n++;
		}
		if (n == 0)
			break;
		table_multi_insert(rel, slots, n, cid, 0, bistate);
		for (i = 0; i < n && rri->ri_NumIndices > 0; i++)
			list_free(ExecInsertIndexTuples(rri, slots[i], estate, false, false,
											NULL, NIL));
		total += n;
		if (n < SYNC_BULK_ROWS)
			break;
	}
	FreeBulkInsertState(bistate);
	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	return total;
}

/*
 * COPY the result of sql (a binary COPY TO STDOUT) on the peer into rel
 * (columns: names).  Binary, because the text form of the metadata column
 * costs more than the rest of the row; a type whose binary form embeds
 * type oids (arrays or records of types created after initdb) fails to
 * receive with a data error, and the caller falls back to merging.
 */
static uint64
sync_copy_into(PGconn *conn, const char *peer, const char *sql, Relation rel,
			   List *names, int64 *bytes)
{
	ParseState *pstate = make_parsestate(NULL);
	CopyFromState cstate;
	PGresult   *res;
	uint64		rows;

	res = PeerExec(conn, sql, PGRES_COPY_OUT, PeerReplyDeadline(), "copy a table");
	PQclear(res);
	memset(&copy_source, 0, sizeof(copy_source));
	copy_source.conn = conn;
	copy_source.peer = peer;

	(void) addRangeTableEntryForRelation(pstate, rel, RowExclusiveLock, NULL,
										 false, false);
	cstate = BeginCopyFrom(pstate, rel, NULL, NULL, false, sync_copy_read,
						   names,
						   list_make1(makeDefElem("format", (Node *) makeString("binary"), -1)));
	rows = sync_can_bulk_insert(rel) ? sync_bulk_insert(cstate, rel) : CopyFrom(cstate);
	EndCopyFrom(cstate);
	if (copy_source.buf)
		PQfreemem(copy_source.buf);
	if (!copy_source.done)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("peer \"%s\" sent data after the end of a copy", peer)));
	sync_end_copy(conn, peer, sql);
	*bytes += copy_source.bytes;
	return rows;
}

/* "name type" of every column by attribute number, from a catalog query. */
#define SYNC_LAYOUT_SQL \
	"SELECT pg_catalog.string_agg(a.attnum || ' ' || pg_catalog.quote_ident(a.attname) || ' ' || " \
	"pg_catalog.format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) " \
	"FROM pg_catalog.pg_attribute a WHERE a.attrelid = %s::pg_catalog.regclass " \
	"AND a.attnum > 0 AND NOT a.attisdropped"

/*
 * Copy the table the fast way if it qualifies (see above); false, with
 * nothing done, if it does not.  Runs inside the local transaction that
 * sync_copy_table committed the 'copying' state in.
 */
static bool
sync_copy_fast(PGconn *conn, const char *peer, int32 peer_node,
			   const char *table, SyncProgress *progress)
{
	Oid			relid;
	Relation	rel;
	char	   *local_layout;
	char	   *sql;
	PGresult   *res;
	bool		empty;
	List	   *names = NIL;
	Relation	tombrel;
	int			i;

	copy_source.done = true;	/* no COPY running yet */
	relid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(table)),
							 ShareRowExclusiveLock, false);
	rel = table_open(relid, NoLock);

	/* Look with a snapshot taken under the lock. */
	PopActiveSnapshot();
	PushActiveSnapshot(GetTransactionSnapshot());

	/* Empty: no row, and no tombstone either. */
	{
		TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		TupleTableSlot *slot = table_slot_create(rel, NULL);

		empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
	}
	if (empty)
		empty = TombstoneLookupAny(relid) == false;

	/* The same attribute numbers and types on both sides. */
	sql = psprintf(SYNC_LAYOUT_SQL, quote_literal_cstr(table));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the columns of %s", table);
	local_layout = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	local_layout = local_layout ? pstrdup(local_layout) : pstrdup("");
	SPI_finish();
	res = PeerExec(conn, sql, PGRES_TUPLES_OK, PeerReplyDeadline(), "read a table's columns");
	if (!empty || PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), local_layout) != 0)
	{
		PQclear(res);
		table_close(rel, NoLock);
		return false;
	}
	PQclear(res);

	/* Every version copied is at most the peer's clock. */
	res = PeerExec(conn, "SELECT edge_crdt.hlc_now()", PGRES_TUPLES_OK,
				   PeerReplyDeadline(), "read the clock");
	(void) HlcObserve(pg_strtoint64(PQgetvalue(res, 0, 0)), peer);
	PQclear(res);

	tombrel = table_open(get_relname_relid("tombstone", get_namespace_oid("edge_crdt", false)),
						 RowExclusiveLock);
	/* The floor came first (sync_copy_table). */
	sql = psprintf("COPY (SELECT %u::pg_catalog.oid, pk, cl, hlc, node, " SYNC_TOMBSTONE_LSN " "
				   "FROM edge_crdt.tombstone "
				   "WHERE relid = %s::pg_catalog.regclass AND pk <> '') TO STDOUT (FORMAT binary)",
				   relid, quote_literal_cstr(table));
	progress->rows += sync_copy_into(conn, peer, sql, tombrel, NIL, &progress->bytes);
	table_close(tombrel, NoLock);

	for (i = 0; i < RelationGetDescr(rel)->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), i);

		if (!att->attisdropped)
			names = lappend(names, makeString(pstrdup(NameStr(att->attname))));
	}
	{
		StringInfoData cols;
		ListCell   *lc;

		initStringInfo(&cols);
		foreach(lc, names)
			appendStringInfo(&cols, "%s%s", cols.len ? ", " : "",
							 quote_identifier(strVal(lfirst(lc))));
		sql = psprintf("COPY %s (%s) TO STDOUT (FORMAT binary)", table, cols.data);
	}
	progress->rows += sync_copy_into(conn, peer, sql, rel, names, &progress->bytes);
	table_close(rel, NoLock);
	return true;
}

/*
 * The peer's floor stands for the tombstones it has collected: take it over
 * before copying, so that an insert here cannot start a row at a causal
 * length that such a tombstone, still kept by other nodes, would beat
 * (sql/install/88_gc.sql).
 */
static void
sync_take_floor(PGconn *conn, const char *table)
{
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		values[2];
	PGresult   *res;

	res = PeerExec(conn,
				   psprintf("SELECT edge_crdt.table_floor(%s::pg_catalog.regclass)",
							quote_literal_cstr(table)),
				   PGRES_TUPLES_OK, PeerReplyDeadline(), "read a table's floor");
	values[0] = CStringGetTextDatum(table);
	values[1] = Int64GetDatum(pg_strtoint64(PQgetvalue(res, 0, 0)));
	PQclear(res);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT edge_crdt.raise_floor($1::pg_catalog.regclass, $2)",
							  2, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not raise the floor of %s", table);
	SPI_finish();
}

/*
 * The merge path brings tombstones as DELETE messages, which have no room
 * for the deletion's commit position; without it tombstone collection
 * would keep them forever.  Ask for the positions in the same snapshot and
 * fill them in.
 */
static void
sync_take_tombstone_positions(PGconn *conn, const char *table)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[6];
	char		nulls[6] = "      ";
	PGresult   *res;
	int			i;

	res = PeerExec(conn,
				   psprintf("SELECT array_agg(pk)::text, array_agg(cl)::text, array_agg(hlc)::text, "
							"array_agg(node)::text, array_agg(lsn)::text FROM "
							"(SELECT pk, cl, hlc, node, " SYNC_TOMBSTONE_LSN " AS lsn "
							"FROM edge_crdt.tombstone WHERE relid = %s::pg_catalog.regclass "
							"AND pk <> '') t WHERE lsn IS NOT NULL",
							quote_literal_cstr(table)),
				   PGRES_TUPLES_OK, PeerReplyDeadline(), "read tombstone positions");
	values[0] = CStringGetTextDatum(table);
	for (i = 0; i < 5; i++)
	{
		if (PQgetisnull(res, 0, i))
			nulls[i + 1] = 'n';
		else
			values[i + 1] = CStringGetTextDatum(PQgetvalue(res, 0, i));
	}
	PQclear(res);
	if (nulls[1] == 'n')
		return;					/* none */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("UPDATE edge_crdt.tombstone t SET lsn = u.lsn "
							  "FROM unnest($2::pg_catalog.bytea[], $3::pg_catalog.int8[], "
							  "$4::pg_catalog.int8[], $5::pg_catalog.int4[], $6::pg_catalog.pg_lsn[]) "
							  "AS u(pk, cl, hlc, node, lsn) "
							  "WHERE t.relid = $1::pg_catalog.regclass AND t.pk = u.pk "
							  "AND t.cl = u.cl AND t.hlc = u.hlc AND t.node = u.node "
							  "AND (t.lsn IS NULL OR t.lsn < u.lsn)",
							  6, types, values, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record tombstone positions of %s", table);
	SPI_finish();
}

static void
sync_copy_table(PGconn *conn, const char *peer, int32 peer_node,
				const char *table)
{
	SyncProgress progress = {0, 0};
	int64		batch = 0;
	List	   *pending = NIL;	/* the batch's messages, as bytea */
	bool		header_seen = false;
	bool		done = false;
	volatile bool fast = false;
	MemoryContext msgcxt;
	MemoryContext batchcxt;
	PGresult   *res;
	char	   *sql;

	sync_begin_local();
	sync_take_floor(conn, table);
	sync_local_exec("UPDATE edge_crdt.sync_table SET state = 'copying', "
					"started_at = now(), finished_at = NULL, rows_copied = $3, "
					"bytes_copied = $4, last_error = $5 "
					"WHERE peer_node = $1 AND table_name = $2",
					peer_node, table, &progress, NULL);
	sync_commit_local();

	sync_begin_local();
	PG_TRY();
	{
		fast = sync_copy_fast(conn, peer, peer_node, table, &progress);
	}
	PG_CATCH();
	{
		/* Merge row by row instead, quarantining what cannot be merged. */
		ErrorData  *edata = sync_catch_data_error(TopMemoryContext);

		sync_drain_copy(conn);
		ereport(LOG,
				(errmsg("edge_crdt peer \"%s\": bulk copy of table %s failed, merging row by row: %s",
						peer, table, edata->message)));
		progress.rows = progress.bytes = 0;
		fast = false;
	}
	PG_END_TRY();
	if (fast)
	{
		sync_local_exec("UPDATE edge_crdt.sync_table SET state = 'done', "
						"finished_at = pg_catalog.clock_timestamp(), rows_copied = $3, "
						"bytes_copied = $4 WHERE peer_node = $1 AND table_name = $2",
						peer_node, table, &progress, NULL);
		sync_commit_local();
		return;
	}
	sync_commit_local();

	sql = psprintf("COPY (SELECT edge_crdt.table_snapshot(%s::pg_catalog.regclass)) "
				   "TO STDOUT (FORMAT binary)", quote_literal_cstr(table));
	res = PeerExec(conn, sql, PGRES_COPY_OUT, PeerReplyDeadline(), "copy a table");
	PQclear(res);

	msgcxt = AllocSetContextCreate(TopMemoryContext, "edge_crdt sync message",
								   ALLOCSET_DEFAULT_SIZES);
	batchcxt = AllocSetContextCreate(TopMemoryContext, "edge_crdt sync batch",
									 ALLOCSET_DEFAULT_SIZES);
	sync_begin_local();
	for (;;)
	{
		char	   *buf;
		int			len = sync_next_copy_data(conn, peer, &buf);
		uint32		mlen;
		const char *m;
		bytea	   *copy;
		bool		replayed = false;

		if (len == -1)
			break;

		m = sync_parse_copy_data(buf, len, &header_seen, peer, &mlen);
		if (done)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("peer \"%s\" sent data after the end of the copy of table %s",
							peer, table)));
		if (m == NULL)
		{
			done = true;
			PQfreemem(buf);
			continue;
		}
		copy = MemoryContextAlloc(batchcxt, VARHDRSZ + mlen);
		SET_VARSIZE(copy, VARHDRSZ + mlen);
		memcpy(VARDATA(copy), m, mlen);
		PQfreemem(buf);
		{
			MemoryContext old = MemoryContextSwitchTo(batchcxt);

			pending = lappend(pending, copy);
			MemoryContextSwitchTo(old);
		}

		/*
		 * A change that cannot be merged (a unique constraint only this
		 * node has...) must not wedge the copy: the batch so far is undone
		 * and replayed message by message, the failing ones quarantined,
		 * as the stream does with whole transactions.
		 */
		PG_TRY();
		{
			MemoryContext old = MemoryContextSwitchTo(msgcxt);

			sync_apply_one(VARDATA(copy), mlen, peer, peer_node);
			MemoryContextSwitchTo(old);
			MemoryContextReset(msgcxt);
		}
		PG_CATCH();
		{
			(void) sync_catch_data_error(batchcxt);
			MemoryContextReset(msgcxt);
			sync_replay_batch(pending, peer, peer_node, msgcxt);
			replayed = true;
		}
		PG_END_TRY();
		progress.rows++;
		progress.bytes += mlen;

		if (replayed || ++batch >= SYNC_BATCH_ROWS)
		{
			sync_local_exec("UPDATE edge_crdt.sync_table SET rows_copied = $3, "
							"bytes_copied = $4 WHERE peer_node = $1 AND table_name = $2",
							peer_node, table, &progress, NULL);
			sync_commit_local();
			sync_begin_local();
			batch = 0;
			pending = NIL;
			MemoryContextReset(batchcxt);
		}
	}
	MemoryContextDelete(msgcxt);
	MemoryContextDelete(batchcxt);

	sync_end_copy(conn, peer, sql);
	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("peer \"%s\" ended the copy of table %s without its trailer",
						peer, table)));

	sync_take_tombstone_positions(conn, table);
	sync_local_exec("UPDATE edge_crdt.sync_table SET state = 'done', "
					"finished_at = now(), rows_copied = $3, bytes_copied = $4 "
					"WHERE peer_node = $1 AND table_name = $2",
					peer_node, table, &progress, NULL);
	sync_commit_local();
}

void
SyncTables(PGconn *conn, const char *peer, int32 peer_node, int32 our_node,
		   bool create_slot)
{
	List	   *tables = sync_pending_tables(peer_node);
	ListCell   *lc;
	PGresult   *res;
	char	   *sql;

	res = PeerExec(conn, "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ",
				   PGRES_COMMAND_OK, PeerReplyDeadline(), "begin the initial copy");
	PQclear(res);
	if (create_slot)
	{
		/* Waits for the peer's running transactions: no short deadline. */
		sql = psprintf("CREATE_REPLICATION_SLOT \"" EDGE_CRDT_SLOT_FMT "\" "
					   "LOGICAL edge_crdt (SNAPSHOT 'use')", our_node);
		res = PeerExec(conn, sql, PGRES_TUPLES_OK,
					   TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 3600 * 1000),
					   "create the replication slot");
		PQclear(res);
	}

	foreach(lc, tables)
	{
		const char *table = lfirst(lc);

		PG_TRY();
		{
			sync_copy_table(conn, peer, peer_node, table);
		}
		PG_CATCH();
		{
			ErrorData  *edata;

			HOLD_INTERRUPTS();
			MemoryContextSwitchTo(TopMemoryContext);
			edata = CopyErrorData();
			FlushErrorState();
			AbortCurrentTransaction();
			sync_begin_local();
			sync_local_exec("UPDATE edge_crdt.sync_table SET state = 'failed', "
							"last_error = $5 WHERE peer_node = $1 AND table_name = $2",
							peer_node, table, NULL, edata->message);
			sync_commit_local();
			RESUME_INTERRUPTS();
			ReThrowError(edata);
		}
		PG_END_TRY();
	}

	res = PeerExec(conn, "COMMIT", PGRES_COMMAND_OK, PeerReplyDeadline(),
				   "end the initial copy");
	PQclear(res);
}
