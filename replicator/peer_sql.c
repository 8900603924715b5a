/*-------------------------------------------------------------------------
 * peer_sql.c
 *	  SQL functions that manage peers: add_peer, remove_peer, pause_peer,
 *	  resume_peer, and the shared-memory status behind edge_crdt.peers.
 *
 * add_peer talks to the peer over an ordinary libpq connection: it reads
 * the peer's identity and creates the slot our worker will stream from
 * (edge_crdt_<our node id>, plugin edge_crdt) on the peer.  Creating a slot
 * cannot be rolled back, so it is the last remote step and an existing
 * slot of ours is reused rather than failing a retried add_peer.
 *
 * IDENTIFICATION
 *	  replicator/peer_sql.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq-fe.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/origin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "edge_crdt/node.h"
#include "edge_crdt/replicator.h"
#include "edge_crdt/shmem.h"

static bool wake_at_commit_registered = false;
static bool wake_at_commit = false;

static void
peer_sql_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit)
		ReplicatorWake();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		wake_at_commit = false;
}

/*
 * Wake the launcher and the manager now and again once this transaction
 * has committed: woken only now, the manager reads edge_crdt.peer before
 * the change is visible and sleeps a full naptime before it acts on it.
 */
static void
replicator_wake_now_and_at_commit(void)
{
	if (!wake_at_commit_registered)
	{
		RegisterXactCallback(peer_sql_xact_callback, NULL);
		wake_at_commit_registered = true;
	}
	wake_at_commit = true;
	ReplicatorWake();
}

static PGconn *
connect_plain(const char *peer, const char *dsn)
{
	const char *keys[3] = {"dbname", "fallback_application_name", NULL};
	const char *vals[3] = {dsn, "edge_crdt admin", NULL};
	PGconn	   *conn = PQconnectdbParams(keys, vals, true);

	if (PQstatus(conn) != CONNECTION_OK)
	{
		char	   *msg = pchomp(PQerrorMessage(conn));

		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not connect to peer \"%s\": %s", peer, msg)));
	}
	return conn;
}

/* Run a query on the peer; error out with its message on failure. */
static PGresult *
remote_exec(PGconn *conn, const char *peer, const char *sql, int nparams,
			const char *const *params, ExecStatusType expect)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != expect)
	{
		char	   *msg = pchomp(PQerrorMessage(conn));

		PQclear(res);
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_EXCEPTION),
				 errmsg("query on peer \"%s\" failed: %s", peer, msg)));
	}
	return res;
}

/*
 * Queue every table replicated here for the initial copy from a peer,
 * forgetting earlier copies from it.
 */
static void
queue_initial_copy(int32 peer_node)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1] = {Int32GetDatum(peer_node)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("DELETE FROM edge_crdt.sync_table WHERE peer_node = $1",
							  1, types, values, NULL, false, 0) != SPI_OK_DELETE ||
		SPI_execute_with_args("INSERT INTO edge_crdt.sync_table (peer_node, table_name) "
							  "SELECT $1, pg_catalog.format('%I.%I', n.nspname, c.relname) "
							  "FROM edge_crdt.replicated_table r "
							  "JOIN pg_catalog.pg_class c ON c.oid = r.relid "
							  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
							  1, types, values, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not queue the initial copy in edge_crdt.sync_table");
	SPI_finish();
}

/*
 * add_peer(peer_name text, dsn text, copy_data bool) returns int (the
 * peer's node id)
 *	  With copy_data (and tables to copy), the worker creates the slot
 *	  itself, so that the initial copy can use the snapshot of its creation
 *	  (sync.c); every table replicated here is queued for that copy.
 */
PG_FUNCTION_INFO_V1(add_peer_sql);
Datum
add_peer_sql(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *dsn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		copy_data = PG_GETARG_BOOL(2);
	int32		our_node;
	int32		peer_node;
	char	   *peer_region = NULL;
	char		slot[NAMEDATALEN];
	char		origin[NAMEDATALEN];
	const char *params[1];
	PGconn	   *conn;
	PGresult   *res;

	EdgeCrdtRequireSharedState();
	EdgeCrdtValidateName("peer name", name);
	our_node = EdgeCrdtLocalNodeId(false);

	/* Nothing to copy: the slot can be created now, as without copy_data. */
	if (copy_data)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT 1 FROM edge_crdt.replicated_table", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read edge_crdt.replicated_table");
		copy_data = SPI_processed > 0;
		SPI_finish();
	}

	conn = connect_plain(name, dsn);
	res = remote_exec(conn, name,
					  "SELECT node_id, region FROM edge_crdt.local_node", 0, NULL,
					  PGRES_TUPLES_OK);
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("peer \"%s\" is not an edge_crdt node yet", name),
				 errhint("Run SELECT edge_crdt.create_node('<name>') on the peer first.")));
	}
	peer_node = pg_strtoint32(PQgetvalue(res, 0, 0));
	if (!PQgetisnull(res, 0, 1))
		peer_region = pstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);

	if (peer_node == our_node)
	{
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("peer \"%s\" has the same node id %d as this node", name, our_node),
				 errdetail("Either the DSN points at this database, or one database was cloned from the other."),
				 errhint("Give the clone a new identity: drop and recreate the extension there, then call edge_crdt.create_node().")));
	}

	if (NodeIdPrefix(peer_node) == NodeIdPrefix(our_node))
	{
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("peer \"%s\" (node %d) and this node (%d) share the id prefix %d",
						name, peer_node, our_node, NodeIdPrefix(our_node)),
				 errdetail("Values of edge_crdt.next_id() made on the two nodes could collide."),
				 errhint("Node ids must differ in their lowest %d bits: recreate one node with edge_crdt.create_node(name, region, node_id => ...).",
						 NODE_ID_PREFIX_BITS)));
	}

	snprintf(slot, sizeof(slot), EDGE_CRDT_SLOT_FMT, our_node);
	params[0] = slot;
	res = remote_exec(conn, name,
					  "SELECT plugin FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
					  1, params, PGRES_TUPLES_OK);
	if (PQntuples(res) == 0 && !copy_data)
	{
		PQclear(res);
		res = remote_exec(conn, name,
						  "SELECT pg_catalog.pg_create_logical_replication_slot($1, 'edge_crdt')",
						  1, params, PGRES_TUPLES_OK);
	}
	else if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "edge_crdt") != 0)
	{
		PQclear(res);
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("peer \"%s\" already has a replication slot \"%s\" of another plugin",
						name, slot)));
	}
	PQclear(res);
	PQfinish(conn);

	snprintf(origin, sizeof(origin), EDGE_CRDT_ORIGIN_FMT, peer_node);
	if (replorigin_by_name(origin, true) == InvalidRepOriginId)
		(void) replorigin_create(origin);

	{
		Oid			types[4] = {TEXTOID, INT4OID, TEXTOID, TEXTOID};
		Datum		values[4];
		char		nulls[4] = {' ', ' ', ' ', ' '};

		values[0] = CStringGetTextDatum(name);
		values[1] = Int32GetDatum(peer_node);
		if (peer_region)
			values[2] = CStringGetTextDatum(peer_region);
		else
			nulls[2] = 'n';
		values[3] = CStringGetTextDatum(dsn);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("INSERT INTO edge_crdt.peer (peer_name, node_id, region, dsn) "
								  "VALUES ($1, $2, $3, $4)",
								  4, types, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into edge_crdt.peer");
		SPI_finish();
	}
	if (copy_data)
		queue_initial_copy(peer_node);
	ReplicatorResetPeer(MyDatabaseId, peer_node);
	replicator_wake_now_and_at_commit();
	PG_RETURN_INT32(peer_node);
}

/* Look up a peer's node id and dsn by name; error if there is none. */
static int32
lookup_peer(const char *name, char **dsn)
{
	Oid			types[1] = {TEXTOID};
	Datum		values[1];
	bool		isnull;
	int32		node;

	values[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT node_id, dsn FROM edge_crdt.peer WHERE peer_name = $1",
							  1, types, values, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.peer");
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("edge_crdt peer \"%s\" does not exist", name)));
	node = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (dsn)
		*dsn = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (dsn && *dsn)
		*dsn = MemoryContextStrdup(CurrentMemoryContext, *dsn);
	SPI_finish();
	return node;
}

/*
 * Drop our slot on a peer, so that it retains no WAL for us; true when it
 * is gone.  An unreachable peer keeps it: the warning says how to drop it
 * there.
 */
static bool
drop_remote_slot(const char *name, const char *dsn, int32 our_node)
{
	bool		dropped = false;
	char		slot[NAMEDATALEN];
	const char *keys[3] = {"dbname", "fallback_application_name", NULL};
	const char *vals[3];
	PGconn	   *conn;

	snprintf(slot, sizeof(slot), EDGE_CRDT_SLOT_FMT, our_node);
	vals[0] = dsn;
	vals[1] = "edge_crdt admin";
	vals[2] = NULL;
	conn = PQconnectdbParams(keys, vals, true);
	if (PQstatus(conn) == CONNECTION_OK)
	{
		const char *params[1] = {slot};
		PGresult   *res;
		int			tries;

		/* The walsender may take a moment to notice the worker left. */
		for (tries = 0; tries < 50; tries++)
		{
			res = PQexecParams(conn,
							   "SELECT pg_catalog.pg_drop_replication_slot(slot_name) "
							   "FROM pg_catalog.pg_replication_slots "
							   "WHERE slot_name = $1 AND NOT active",
							   1, NULL, params, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			{
				PQclear(res);
				dropped = true;
				break;
			}
			PQclear(res);
			res = PQexecParams(conn,
							   "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
							   1, NULL, params, NULL, NULL, 0);
			if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 0)
			{
				PQclear(res);
				dropped = true;
				break;
			}
			PQclear(res);
			CHECK_FOR_INTERRUPTS();
			pg_usleep(100000L);
		}
		if (tries == 50)
			ereport(WARNING,
					(errmsg("could not drop replication slot \"%s\" on peer \"%s\"", slot, name),
					 errhint("Drop it there with SELECT pg_drop_replication_slot('%s'), or it keeps WAL forever.", slot)));
	}
	else
		ereport(WARNING,
				(errmsg("could not connect to peer \"%s\" to drop replication slot \"%s\": %s",
						name, slot, pchomp(PQerrorMessage(conn))),
				 errhint("Drop it there with SELECT pg_drop_replication_slot('%s'), or it keeps WAL forever.", slot)));
	PQfinish(conn);
	return dropped;
}

/*
 * remove_peer(peer_name text) returns void
 *	  Stop the worker, drop our slot on the peer (so it retains no WAL for
 *	  us) and our origin for it.  An unreachable peer keeps the slot: the
 *	  warning says how to drop it there.
 */
PG_FUNCTION_INFO_V1(remove_peer_sql);
Datum
remove_peer_sql(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *dsn = NULL;
	int32		peer_node;
	int32		our_node;
	char		origin[NAMEDATALEN];

	EdgeCrdtRequireSharedState();
	our_node = EdgeCrdtLocalNodeId(false);
	peer_node = lookup_peer(name, &dsn);

	/* Hold the worker off while this transaction commits. */
	ReplicatorStopPeerWorker(MyDatabaseId, peer_node, 30000);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			types[1] = {INT4OID};
		Datum		values[1] = {Int32GetDatum(peer_node)};

		/* Its frontier goes too: a peer added again reports afresh. */
		SPI_execute_with_args("DELETE FROM edge_crdt.peer WHERE node_id = $1",
							  1, types, values, NULL, false, 0);
		SPI_execute_with_args("DELETE FROM edge_crdt.frontier WHERE reporter = $1",
							  1, types, values, NULL, false, 0);
	}
	SPI_finish();

	(void) drop_remote_slot(name, dsn, our_node);

	snprintf(origin, sizeof(origin), EDGE_CRDT_ORIGIN_FMT, peer_node);
	replorigin_drop_by_name(origin, true, false);
	replicator_wake_now_and_at_commit();
	PG_RETURN_VOID();
}

/*
 * resync_peer(peer_name text) returns void
 *	  Start over with a peer whose changes we can no longer stream (our slot
 *	  there was invalidated or dropped): drop the slot, forget our progress,
 *	  and copy every replicated table again (sync.c).  What we have merges
 *	  with the copy, so nothing written here is lost, and the copy brings
 *	  every change we missed, deletes included.
 */
PG_FUNCTION_INFO_V1(resync_peer_sql);
Datum
resync_peer_sql(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *dsn = NULL;
	int32		peer_node;
	int32		our_node;
	char		origin[NAMEDATALEN];

	EdgeCrdtRequireSharedState();
	our_node = EdgeCrdtLocalNodeId(false);
	peer_node = lookup_peer(name, &dsn);

	/*
	 * Forget the backoff the failing worker built up, and keep it from
	 * starting again until this transaction has (most likely) committed.
	 */
	ReplicatorResetPeer(MyDatabaseId, peer_node);
	ReplicatorStopPeerWorker(MyDatabaseId, peer_node, 1000);
	if (!drop_remote_slot(name, dsn, our_node))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("could not drop this node's replication slot on peer \"%s\"", name),
				 errhint("Make sure the peer is reachable, then call edge_crdt.resync_peer() again.")));

	/* The new slot starts later than anything the old origin recorded. */
	snprintf(origin, sizeof(origin), EDGE_CRDT_ORIGIN_FMT, peer_node);
	replorigin_drop_by_name(origin, true, false);
	(void) replorigin_create(origin);
	queue_initial_copy(peer_node);
	replicator_wake_now_and_at_commit();
	PG_RETURN_VOID();
}

static Datum
set_peer_enabled(FunctionCallInfo fcinfo, bool enabled)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			types[2] = {BOOLOID, TEXTOID};
	Datum		values[2];
	int32		node;

	EdgeCrdtRequireSharedState();
	node = lookup_peer(name, NULL);
	values[0] = BoolGetDatum(enabled);
	values[1] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute_with_args("UPDATE edge_crdt.peer SET enabled = $1 WHERE peer_name = $2",
						  2, types, values, NULL, false, 0);
	SPI_finish();

	/*
	 * Pausing stops the worker before returning, so that nothing is applied
	 * after pause_peer(); the hold keeps the manager from restarting it
	 * before this transaction commits (resume_peer lifts it).
	 */
	if (enabled)
		ReplicatorResetPeer(MyDatabaseId, node);
	else
		ReplicatorStopPeerWorker(MyDatabaseId, node, 30000);
	replicator_wake_now_and_at_commit();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pause_peer_sql);
Datum
pause_peer_sql(PG_FUNCTION_ARGS)
{
	return set_peer_enabled(fcinfo, false);
}

PG_FUNCTION_INFO_V1(resume_peer_sql);
Datum
resume_peer_sql(PG_FUNCTION_ARGS)
{
	return set_peer_enabled(fcinfo, true);
}

/*
 * peer_status() returns setof record: the shared-memory state of this
 * database's peer workers, for the edge_crdt.peers view.
 */
PG_FUNCTION_INFO_V1(peer_status_sql);
Datum
peer_status_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	EdgeCrdtRequireSharedState();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(replicator->lock, LW_SHARED);
	for (i = 0; i < REPLICATOR_MAX_PEERS; i++)
	{
		PeerSlot   *p = &replicator->peers[i];
		Datum		values[12];
		bool		nulls[12];
		static const char *const states[] = {"stopped", "connecting", "streaming", "error", "syncing"};

		if (p->dboid != MyDatabaseId)
			continue;
		memset(nulls, 0, sizeof(nulls));
		values[0] = Int32GetDatum(p->peer_node);
		values[1] = CStringGetTextDatum(states[p->state]);
		if (p->pid > 0)
			values[2] = Int32GetDatum(p->pid);
		else
			nulls[2] = true;
		if (p->last_error[0])
		{
			values[3] = CStringGetTextDatum(p->last_error);
			values[4] = TimestampTzGetDatum(p->last_error_time);
		}
		else
			nulls[3] = nulls[4] = true;
		values[5] = LSNGetDatum(p->received_lsn);
		values[6] = LSNGetDatum(p->applied_lsn);
		values[7] = LSNGetDatum(p->peer_wal_end);
		if (p->last_commit_time)
		{
			values[8] = TimestampTzGetDatum(p->last_commit_time);
			values[9] = TimestampTzGetDatum(p->last_apply_time);
		}
		else
			nulls[8] = nulls[9] = true;
		values[10] = Int64GetDatum(p->changes_applied);
		values[11] = Int64GetDatum(p->conflicts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(replicator->lock);
	return (Datum) 0;
}

/*
 * Wait until the seed has applied everything the member committed before
 * our slot on it started: the seed's slot on the member has confirmed our
 * slot's position.  A marker message makes sure there is a transaction
 * after it for the seed to confirm, even when the member is idle.
 */
static void
join_wait_for_seed(const char *member, const char *member_dsn,
				   int32 seed_node, const char *seed_name, int32 our_node)
{
	PGconn	   *conn = connect_plain(member, member_dsn);
	char		slot[NAMEDATALEN];
	const char *params[2];
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 60000);
	PGresult   *res;

	snprintf(slot, sizeof(slot), EDGE_CRDT_SLOT_FMT, our_node);
	params[0] = slot;
	res = remote_exec(conn, member,
					  "SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots "
					  "WHERE slot_name = $1 AND confirmed_flush_lsn IS NOT NULL",
					  1, params, PGRES_TUPLES_OK);
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("replication slot \"%s\" on member \"%s\" disappeared", slot, member)));
	}
	params[1] = pstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);

	res = remote_exec(conn, member,
					  "SELECT pg_catalog.pg_logical_emit_message(true, 'edge_crdt', '\x50'::bytea)",
					  0, NULL, PGRES_TUPLES_OK);
	PQclear(res);
	snprintf(slot, sizeof(slot), EDGE_CRDT_SLOT_FMT, seed_node);
	for (;;)
	{
		bool		caught_up;
		bool		has_slot;

		res = remote_exec(conn, member,
						  "SELECT confirmed_flush_lsn >= $2::pg_lsn "
						  "FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
						  2, params, PGRES_TUPLES_OK);
		has_slot = PQntuples(res) == 1;
		caught_up = has_slot && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
		if (caught_up)
			break;
		if (!has_slot || GetCurrentTimestamp() > deadline)
		{
			PQfinish(conn);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("node \"%s\" has not applied the changes of member \"%s\"",
							seed_name, member),
					 has_slot ?
					 errdetail("It did not catch up within 60 seconds.") :
					 errdetail("It does not stream from that member."),
					 errhint("This node copies its data from \"%s\", so it must be up to date with every member. Check edge_crdt.peers there, then call edge_crdt.join() again.",
							 seed_name)));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 50, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	PQfinish(conn);
}

/* add_peer(name, dsn, copy_data) through SPI, unless we peer with it already. */
static void
join_add_peer(const char *name, const char *dsn, bool copy_data)
{
	Oid			types[3] = {TEXTOID, TEXTOID, BOOLOID};
	Datum		values[3] = {CStringGetTextDatum(name), CStringGetTextDatum(dsn),
	BoolGetDatum(copy_data)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT edge_crdt.add_peer($1, $2, $3) "
							  "WHERE NOT EXISTS (SELECT 1 FROM edge_crdt.peer WHERE peer_name = $1)",
							  3, types, values, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "add_peer failed");
	SPI_finish();
}

/*
 * join(peer_dsn text, local_dsn text) returns int
 *	  Become a member of the mesh that the node at peer_dsn (the seed)
 *	  belongs to: the seed and every peer it has become our peers (with the
 *	  DSNs it uses for them), and each of them adds us with local_dsn,
 *	  copying whatever data we already have.  Members we already peer with
 *	  are left alone, so a join that failed halfway can be repeated.
 *
 *	  Our data comes from one copy, the seed's (sync.c).  That is complete
 *	  for changes the seed made itself, but a change another member M made
 *	  before our slot on M existed reaches us only through the seed's copy:
 *	  so after creating our slot on M we wait until the seed has applied M
 *	  up to that point, and only then is the seed's slot (and snapshot)
 *	  created, by our worker, after this transaction commits.
 */
/*
 * Floors of the tables a member has collected tombstones of: ask the member
 * for them (qualified table name, floor), merge them into *floors (the
 * greatest wins).  See the "New members" part of sql/install/88_gc.sql.
 */
typedef struct JoinFloor
{
	char	   *table;
	int64		floor;
} JoinFloor;

static List *
join_read_floors(PGconn *conn, const char *member, List *floors)
{
	PGresult   *res;
	int			i;

	res = remote_exec(conn, member,
					  "SELECT pg_catalog.format('%I.%I', n.nspname, c.relname), t.cl "
					  "FROM edge_crdt.tombstone t "
					  "JOIN pg_catalog.pg_class c ON c.oid = t.relid "
					  "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
					  "WHERE t.pk = ''::pg_catalog.bytea",
					  0, NULL, PGRES_TUPLES_OK);
	for (i = 0; i < PQntuples(res); i++)
	{
		const char *table = PQgetvalue(res, i, 0);
		int64		floor = pg_strtoint64(PQgetvalue(res, i, 1));
		ListCell   *lc;
		JoinFloor  *f = NULL;

		foreach(lc, floors)
			if (strcmp(((JoinFloor *) lfirst(lc))->table, table) == 0)
				f = lfirst(lc);
		if (f == NULL)
		{
			f = palloc0(sizeof(JoinFloor));
			f->table = pstrdup(table);
			floors = lappend(floors, f);
		}
		f->floor = Max(f->floor, floor);
	}
	PQclear(res);
	return floors;
}

/*
 * Refuse to join with rows in a table the mesh has collected tombstones of
 * (check_only), or take the floors over; edge_crdt.take_floor() says why.
 */
static void
join_take_floors(List *floors, bool check_only)
{
	ListCell   *lc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, floors)
	{
		JoinFloor  *f = lfirst(lc);
		Oid			types[3] = {TEXTOID, INT8OID, BOOLOID};
		Datum		values[3] = {CStringGetTextDatum(f->table), Int64GetDatum(f->floor),
		BoolGetDatum(check_only)};

		if (SPI_execute_with_args("SELECT edge_crdt.take_floor($1, $2, $3)",
								  3, types, values, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not take the floor of %s", f->table);
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(join_sql);
Datum
join_sql(PG_FUNCTION_ARGS)
{
	char	   *seed_dsn;
	char	   *seed_name;
	int32		seed_node;
	char	   *local_dsn = NULL;
	char	   *our_name;
	int32		our_node;
	PGconn	   *conn;
	PGresult   *res;
	List	   *names = NIL;
	List	   *dsns = NIL;
	List	   *floors = NIL;
	ListCell   *ln,
			   *ld;
	int			joined = 0;
	int			i;

	EdgeCrdtRequireSharedState();
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("peer_dsn must not be null")));
	seed_dsn = text_to_cstring(PG_GETARG_TEXT_PP(0));
	our_node = EdgeCrdtLocalNodeId(false);

	/*
	 * Order matters: a member adding us creates a logical slot on this node,
	 * which waits for every transaction here that has an xid, ours included.
	 * So nothing is written locally until every member has added us.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_execute("SELECT node_name, local_dsn FROM edge_crdt.node", true, 1);
	our_name = pstrdup(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
	if (!PG_ARGISNULL(1))
		local_dsn = text_to_cstring(PG_GETARG_TEXT_PP(1));
	else
	{
		local_dsn = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		if (local_dsn == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("the other nodes would not know how to reach this node"),
					 errhint("Pass local_dsn, e.g. edge_crdt.join('<peer dsn>', 'host=<this host> dbname=<this db>'), or record it first with edge_crdt.set_local_dsn().")));
		local_dsn = pstrdup(local_dsn);
	}
	SPI_finish();

	/* The seed itself, under its own node name, and every peer it has. */
	conn = connect_plain("join", seed_dsn);
	res = remote_exec(conn, "join", "SELECT node_name, node_id FROM edge_crdt.local_node",
					  0, NULL, PGRES_TUPLES_OK);
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		PQfinish(conn);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the node at peer_dsn is not an edge_crdt node")));
	}
	seed_name = pstrdup(PQgetvalue(res, 0, 0));
	seed_node = pg_strtoint32(PQgetvalue(res, 0, 1));
	PQclear(res);
	{
		const char *params[1] = {psprintf("%d", our_node)};

		res = remote_exec(conn, "join",
						  "SELECT peer_name, dsn FROM edge_crdt.peer WHERE node_id <> $1::int4",
						  1, params, PGRES_TUPLES_OK);
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		names = lappend(names, pstrdup(PQgetvalue(res, i, 0)));
		dsns = lappend(dsns, pstrdup(PQgetvalue(res, i, 1)));
	}
	PQclear(res);
	PQfinish(conn);
	names = lcons(seed_name, names);
	dsns = lcons(seed_dsn, dsns);

	/* Refuse before any member has changed anything. */
	forboth(ln, names, ld, dsns)
	{
		conn = connect_plain(lfirst(ln), lfirst(ld));
		floors = join_read_floors(conn, lfirst(ln), floors);
		PQfinish(conn);
	}
	join_take_floors(floors, true);

	/*
	 * Every member streams from us.  Once it has added us it collects no
	 * tombstone until our first frontier, so the floors it reports now are
	 * final for this join; they are ours before we write anything.
	 */
	forboth(ln, names, ld, dsns)
	{
		const char *name = lfirst(ln);
		const char *params[2] = {our_name, local_dsn};

		conn = connect_plain(name, lfirst(ld));
		res = remote_exec(conn, name,
						  "SELECT edge_crdt.add_peer($1, $2) "
						  "WHERE NOT EXISTS (SELECT 1 FROM edge_crdt.peer WHERE peer_name = $1)",
						  2, params, PGRES_TUPLES_OK);
		PQclear(res);
		floors = join_read_floors(conn, name, floors);
		PQfinish(conn);
	}
	join_take_floors(floors, false);
	names = list_delete_first(names);
	dsns = list_delete_first(dsns);

	/* ... we stream from every member, copying from the seed alone. */
	forboth(ln, names, ld, dsns)
	{
		join_add_peer(lfirst(ln), lfirst(ld), false);
		join_wait_for_seed(lfirst(ln), lfirst(ld), seed_node, seed_name, our_node);
		joined++;
	}
	join_add_peer(seed_name, seed_dsn, true);
	joined++;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1] = {CStringGetTextDatum(local_dsn)};

		SPI_execute_with_args("UPDATE edge_crdt.node SET local_dsn = $1",
							  1, types, values, NULL, false, 0);
	}
	SPI_finish();
	PG_RETURN_INT32(joined);
}
