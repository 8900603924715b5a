/*-------------------------------------------------------------------------
 * node.c
 *	  This database's node identity: create_node() and the cached local
 *	  node id used by every local CRDT write.
 *
 * A node id is a random positive int4: positive because it is embedded in
 * replication slot names (edge_crdt_<id>), which allow no "-".  Ids are
 * drawn from pg_strong_random so two independently created nodes collide
 * with probability 2^-31; the replicator checks peers on connect and refuses
 * a duplicate (e.g. a cloned database), so a collision is never merged
 * silently.  add_peer also refuses a peer whose lowest 12 bits equal ours
 * (NodeIdPrefix, used by next_id): with n nodes that happens with
 * probability about n^2 / 8192, and the error says how to recreate one.
 *
 * The id never changes once created, so each backend caches it.  The cache
 * is dropped when edge_crdt.node is invalidated in the relcache (DROP
 * EXTENSION) and at transaction abort (the row we read may have been our
 * own uncommitted insert).
 *
 * IDENTIFICATION
 *	  src/clock/node.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "port.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"

#include "edge_crdt/node.h"

#define NODE_NAME_MAXLEN	63

static int32 cached_node_id = 0;
static Oid	cached_node_relid = InvalidOid;
static bool callbacks_registered = false;

static void node_cache_relcache_cb(Datum arg, Oid relid);
static void node_cache_xact_cb(XactEvent event, void *arg);

static void
node_cache_relcache_cb(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == cached_node_relid)
	{
		cached_node_id = 0;
		cached_node_relid = InvalidOid;
	}
}

static void
node_cache_xact_cb(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		cached_node_id = 0;
		cached_node_relid = InvalidOid;
	}
}

int32
EdgeCrdtLocalNodeId(bool missing_ok)
{
	Oid			nspid;
	Oid			relid;
	int32		node_id = 0;

	if (cached_node_id != 0)
		return cached_node_id;

	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(node_cache_relcache_cb, (Datum) 0);
		RegisterXactCallback(node_cache_xact_cb, NULL);
		callbacks_registered = true;
	}

	nspid = get_namespace_oid("edge_crdt", true);
	relid = OidIsValid(nspid) ? get_relname_relid("node", nspid) : InvalidOid;
	if (OidIsValid(relid))
	{
		bool		isnull;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT node_id FROM edge_crdt.node", true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read edge_crdt.node");
		if (SPI_processed > 0)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				node_id = DatumGetInt32(d);
		}
		SPI_finish();
	}

	if (node_id == 0)
	{
		if (missing_ok)
			return 0;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("this database is not an edge_crdt node yet"),
				 errdetail("Local writes to CRDT values are stamped with the local node id."),
				 errhint("Call edge_crdt.create_node('<node name>') first.")));
	}

	cached_node_id = node_id;
	cached_node_relid = relid;
	return node_id;
}

/*
 * Names appear in slot names, logs and the peers view: keep them to an
 * identifier-like alphabet that needs no quoting anywhere.
 */
void
EdgeCrdtValidateName(const char *what, const char *value)
{
	size_t		len = strlen(value);
	const char *p;

	if (len == 0 || len > NODE_NAME_MAXLEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, value),
				 errdetail("A %s must be 1 to %d bytes long.", what, NODE_NAME_MAXLEN)));
	if (!((value[0] >= 'a' && value[0] <= 'z') || (value[0] >= 'A' && value[0] <= 'Z')))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", what, value),
				 errdetail("A %s must start with an ASCII letter.", what)));
	for (p = value; *p; p++)
	{
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid %s \"%s\"", what, value),
					 errdetail("A %s may contain only ASCII letters, digits, \"_\" and \"-\".", what)));
	}
}

/*
 * create_node(node_name text, region text, node_id int) returns int
 *
 * node_id is normally NULL (random); an explicit id is for reproducible test
 * and demo setups and gets the same validation and uniqueness checks.
 */
PG_FUNCTION_INFO_V1(create_node_sql);
Datum
create_node_sql(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *region = NULL;
	int32		node_id;
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	Oid			argtypes[3] = {TEXTOID, TEXTOID, INT4OID};
	int			ret;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("node_name must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	EdgeCrdtValidateName("node name", name);
	if (!PG_ARGISNULL(1))
	{
		region = text_to_cstring(PG_GETARG_TEXT_PP(1));
		EdgeCrdtValidateName("region", region);
	}

	if (!PG_ARGISNULL(2))
	{
		node_id = PG_GETARG_INT32(2);
		if (node_id <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid node id %d", node_id),
					 errdetail("Node ids are positive int4 values.")));
	}
	else
	{
		do
		{
			uint32		r;

			if (!pg_strong_random(&r, sizeof(r)))
				ereport(ERROR,
						(errcode(ERRCODE_INTERNAL_ERROR),
						 errmsg("could not generate a random node id")));
			node_id = (int32) (r & 0x7FFFFFFF);
		} while (node_id == 0);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* Serialize concurrent create_node calls: the loser sees the winner. */
	if (SPI_execute("LOCK TABLE edge_crdt.node IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not lock edge_crdt.node");
	ret = SPI_execute("SELECT node_id, node_name FROM edge_crdt.node", false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "could not read edge_crdt.node");
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("this database is already edge_crdt node \"%s\" (node id %s)",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2),
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errdetail("A node identity is created once and never changes.")));

	values[0] = CStringGetTextDatum(name);
	if (region != NULL)
		values[1] = CStringGetTextDatum(region);
	else
	{
		values[1] = (Datum) 0;
		nulls[1] = 'n';
	}
	values[2] = Int32GetDatum(node_id);
	ret = SPI_execute_with_args("INSERT INTO edge_crdt.node (node_name, region, node_id) "
								"VALUES ($1, $2, $3)",
								3, argtypes, values, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "could not insert into edge_crdt.node");
	SPI_finish();

	PG_RETURN_INT32(node_id);
}
