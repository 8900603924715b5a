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

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "edge_crdt/apply.h"
#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/peer.h"
#include "edge_crdt/replicator.h"
#include "edge_crdt/wire.h"

#define SYNC_BATCH_ROWS		5000

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

/* Run a command on the peer that must succeed with the given status. */
static PGresult *
sync_remote_exec(PGconn *conn, const char *peer, const char *sql,
				 ExecStatusType expect, TimestampTz deadline)
{
	PGresult   *res = PeerExec(conn, sql, deadline);

	if (res == NULL || PQresultStatus(res) != expect)
	{
		char	   *msg = pchomp(PQerrorMessage(conn));

		if (res)
			PQclear(res);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_EXCEPTION),
				 errmsg("initial copy from peer \"%s\" failed: %s", peer, msg),
				 errcontext("command on the peer: %s", sql)));
	}
	return res;
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

static void
sync_copy_table(PGconn *conn, const char *peer, int32 peer_node,
				const char *table)
{
	SyncProgress progress = {0, 0};
	int64		batch = 0;
	bool		header_seen = false;
	bool		done = false;
	MemoryContext msgcxt;
	PGresult   *res;
	char	   *sql;

	sync_begin_local();
	sync_local_exec("UPDATE edge_crdt.sync_table SET state = 'copying', "
					"started_at = now(), finished_at = NULL, rows_copied = $3, "
					"bytes_copied = $4, last_error = $5 "
					"WHERE peer_node = $1 AND table_name = $2",
					peer_node, table, &progress, NULL);
	sync_commit_local();

	sql = psprintf("COPY (SELECT edge_crdt.table_snapshot(%s::pg_catalog.regclass)) "
				   "TO STDOUT (FORMAT binary)", quote_literal_cstr(table));
	res = sync_remote_exec(conn, peer, sql, PGRES_COPY_OUT, PeerReplyDeadline());
	PQclear(res);

	msgcxt = AllocSetContextCreate(TopMemoryContext, "edge_crdt sync message",
								   ALLOCSET_DEFAULT_SIZES);
	sync_begin_local();
	for (;;)
	{
		char	   *buf;
		int			len = PQgetCopyData(conn, &buf, 1);

		if (len == 0)
		{
			PeerWaitSocket(conn, WL_SOCKET_READABLE, PeerReplyDeadline(),
						   "copying a table from");
			if (PQconsumeInput(conn) == 0)
				len = -2;
			else
				continue;
		}
		if (len == -1)
			break;
		if (len < -1)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("lost connection to peer \"%s\" during the initial copy: %s",
							peer, pchomp(PQerrorMessage(conn)))));

		PG_TRY();
		{
			uint32		mlen;
			const char *m = sync_parse_copy_data(buf, len, &header_seen, peer, &mlen);

			if (done)
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("peer \"%s\" sent data after the end of the copy of table %s",
								peer, table)));
			if (m == NULL)
				done = true;
			else
			{
				MemoryContext old = MemoryContextSwitchTo(msgcxt);
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
				ApplyWireChange(&msg, peer, peer_node, NULL);
				MemoryContextSwitchTo(old);
				MemoryContextReset(msgcxt);
				progress.rows++;
				progress.bytes += mlen;
			}
		}
		PG_FINALLY();
		{
			PQfreemem(buf);
		}
		PG_END_TRY();

		if (++batch >= SYNC_BATCH_ROWS)
		{
			sync_local_exec("UPDATE edge_crdt.sync_table SET rows_copied = $3, "
							"bytes_copied = $4 WHERE peer_node = $1 AND table_name = $2",
							peer_node, table, &progress, NULL);
			sync_commit_local();
			sync_begin_local();
			batch = 0;
		}
	}
	MemoryContextDelete(msgcxt);

	/* The COPY's own result says whether the peer finished it. */
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			char	   *msg = pchomp(PQresultErrorMessage(res));

			PQclear(res);
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_EXCEPTION),
					 errmsg("initial copy of table %s from peer \"%s\" failed: %s",
							table, peer, msg)));
		}
		PQclear(res);
	}
	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("peer \"%s\" ended the copy of table %s without its trailer",
						peer, table)));

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

	res = sync_remote_exec(conn, peer,
						   "BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ",
						   PGRES_COMMAND_OK, PeerReplyDeadline());
	PQclear(res);
	if (create_slot)
	{
		/* Waits for the peer's running transactions: no short deadline. */
		sql = psprintf("CREATE_REPLICATION_SLOT \"" EDGE_CRDT_SLOT_FMT "\" "
					   "LOGICAL edge_crdt (SNAPSHOT 'use')", our_node);
		res = sync_remote_exec(conn, peer, sql, PGRES_TUPLES_OK,
							   TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   3600 * 1000));
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

	res = sync_remote_exec(conn, peer, "COMMIT", PGRES_COMMAND_OK, PeerReplyDeadline());
	PQclear(res);
}
