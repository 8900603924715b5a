/*-------------------------------------------------------------------------
 * graph_common.c
 *	  Shared machinery of the graph helpers: argument and option checks,
 *	  the per-call vertex and edge-id tables, frontier fetches through a
 *	  prepared index query, memory accounting and a small binary heap.
 *
 * A call builds one GraphCtx.  It validates the edge table (columns, vertex
 * type, a btree index on each column a frontier step looks up), prepares the
 * half-queries once, and then algorithms ask graph_fetch() for the adjacency
 * of whole frontiers.  The queries run through plain SPI as the calling
 * user, so grants and row-level security apply exactly as for a query the
 * caller typed; edge_filter is SQL text supplied by that same caller and is
 * appended verbatim to the query (it can do nothing the caller could not).
 *
 * When SQL would add nothing -- a plain table, no row-level security for
 * the caller, a table-level SELECT grant, no edge_filter, not SERIALIZABLE
 * -- the same rows are read straight from the btree index and the heap under
 * the same snapshot: from the index alone when it includes the neighbour
 * (and weight) columns and the heap page is all-visible (direct_scan), else
 * by collecting the frontier's TIDs from the index first and reading the
 * heap pages in block order, as a bitmap heap scan does (direct_bitmap_scan).
 * A step over integer keys that turns out to read more than
 * edge_crdt.graph_scan_fraction of the table changes course: a
 * reachability step passes once over the leaf pages of the key column's
 * index and once over those of an index on the neighbour column, with the
 * visibility map deciding which rows need the heap (reader_pass); any other
 * step, or one without such an index, reads the whole heap in order past
 * ten times that share (reader_seqscan).
 *
 * Fetched edges are sorted by (frontier vertex, neighbour value in the
 * type's btree order, edge id, weight) before any new vertex is numbered, so
 * the numbering, and every output order derived from it, does not depend on
 * the plan the index query happened to use.
 *
 * IDENTIFICATION
 *	  src/graph/graph_common.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_opfamily.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "edge_crdt/graph.h"

static bool vertex_eq(GraphCtx *g, Datum a, Datum b);
static inline bool vertex_int_key(GraphCtx *g);
static uint32 vertex_hash(GraphCtx *g, Datum value);
static inline Datum vertex_norm(GraphCtx *g, Datum value);
static char *vertex_text(GraphCtx *g, Datum value);
static void fetch_new_row(GraphCtx *g, void *arg, int32 src, Datum nbr,
						  char *eid, bool wnull, double w);
static int	side_direction(int direction, int side);

/*---- GUC variables ----*/

int			graph_work_mem = 65536;
double		graph_scan_fraction = 0.02;

void
GraphDefineGucs(void)
{
	DefineCustomIntVariable("edge_crdt.graph_work_mem",
							gettext_noop("Memory a single graph function call may use for vertices, fetched edges and paths."),
							gettext_noop("A call that needs more fails instead of growing without bound."),
							&graph_work_mem,
							65536,
							64,
							MAX_KILOBYTES,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomRealVariable("edge_crdt.graph_scan_fraction",
							 gettext_noop("Share of an edge table's estimated rows above which a frontier step scans whole indexes instead of looking up each vertex."),
							 gettext_noop("A reachability step passes over two indexes; a step that cannot reads the whole table in order past ten times this share.  0 scans for every step over several vertices, 1 never does."),
							 &graph_scan_fraction,
							 0.02,
							 0.0,
							 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/*---- Arguments and options ----*/

void
graph_parse_direction(const char *s, int *dir)
{
	if (strcmp(s, "outbound") == 0)
		*dir = GRAPH_OUT;
	else if (strcmp(s, "inbound") == 0)
		*dir = GRAPH_IN;
	else if (strcmp(s, "any") == 0)
		*dir = GRAPH_ANY;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for argument \"direction\": \"%s\"", s),
				 errhint("Use \"outbound\", \"inbound\" or \"any\".")));
}

void
graph_check_depths(int min_depth, int max_depth)
{
	if (min_depth < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"min_depth\" must not be negative")));
	if (max_depth < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"max_depth\" must not be negative")));
	if (min_depth > max_depth)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"min_depth\" (%d) must not exceed argument \"max_depth\" (%d)",
						min_depth, max_depth)));
}

static char *
option_string(const char *key, JsonbValue *v)
{
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a string", key)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static double
option_number(const char *key, JsonbValue *v)
{
	if (v->type != jbvNumeric)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number", key)));
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

static void
option_reject(const char *key)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown option \"%s\"", key),
			 errhint("This function accepts only the options listed in its documentation.")));
}

static void
option_bad_value(const char *key, const char *val, const char *allowed)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid value for option \"%s\": \"%s\"", key, val),
			 errhint("Use %s.", allowed)));
}

static void
parse_options(Jsonb *options, int allowed, GraphOptions *o,
			  const GraphOptions *named)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	char	   *key = NULL;

	memset(o, 0, sizeof(*o));
	o->from_col = "source";
	o->to_col = "target";
	o->default_weight = 1.0;
	o->order = GRAPH_ORDER_BFS;
	o->unique_vertices = GRAPH_UNIQ_NONE;
	o->unique_edges = GRAPH_UNIQ_PATH;
	if (named)
	{
		o->from_col = named->from_col;
		o->to_col = named->to_col;
		o->weight_col = named->weight_col;
	}

	if (options == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(options))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"options\" must be a JSON object")));

	it = JsonbIteratorInit(&options->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			key = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE)
			continue;

		if (strcmp(key, "from_col") == 0 || strcmp(key, "to_col") == 0)
		{
			if (!(allowed & GOPT_COLUMNS))
				option_reject(key);
			if (named)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" cannot be used with a named graph", key),
						 errdetail("A named graph fixes its columns in edge_crdt.graph.")));
			if (key[0] == 'f')
				o->from_col = option_string(key, &v);
			else
				o->to_col = option_string(key, &v);
		}
		else if (strcmp(key, "weight_col") == 0)
		{
			if (!(allowed & GOPT_WEIGHT))
				option_reject(key);
			if (named)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" cannot be used with a named graph", key),
						 errdetail("A named graph fixes its columns in edge_crdt.graph.")));
			o->weight_col = v.type == jbvNull ? NULL : option_string(key, &v);
		}
		else if (strcmp(key, "default_weight") == 0)
		{
			if (!(allowed & GOPT_WEIGHT))
				option_reject(key);
			o->default_weight = option_number(key, &v);
			if (!(o->default_weight >= 0) || isinf(o->default_weight))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"default_weight\" must be a finite number >= 0")));
		}
		else if (strcmp(key, "edge_filter") == 0)
		{
			if (!(allowed & GOPT_FILTER))
				option_reject(key);
			o->edge_filter = v.type == jbvNull ? NULL : option_string(key, &v);
		}
		else if (strcmp(key, "order") == 0)
		{
			char	   *s;

			if (!(allowed & GOPT_ORDER))
				option_reject(key);
			s = option_string(key, &v);
			if (strcmp(s, "bfs") == 0)
				o->order = GRAPH_ORDER_BFS;
			else if (strcmp(s, "dfs") == 0)
				o->order = GRAPH_ORDER_DFS;
			else if (strcmp(s, "weighted") == 0)
				o->order = GRAPH_ORDER_WEIGHTED;
			else
				option_bad_value(key, s, "\"bfs\", \"dfs\" or \"weighted\"");
		}
		else if (strcmp(key, "unique_vertices") == 0)
		{
			char	   *s;

			if (!(allowed & GOPT_UNIQUE))
				option_reject(key);
			s = option_string(key, &v);
			if (strcmp(s, "none") == 0)
				o->unique_vertices = GRAPH_UNIQ_NONE;
			else if (strcmp(s, "path") == 0)
				o->unique_vertices = GRAPH_UNIQ_PATH;
			else if (strcmp(s, "global") == 0)
				o->unique_vertices = GRAPH_UNIQ_GLOBAL;
			else
				option_bad_value(key, s, "\"none\", \"path\" or \"global\"");
		}
		else if (strcmp(key, "unique_edges") == 0)
		{
			char	   *s;

			if (!(allowed & GOPT_UNIQUE))
				option_reject(key);
			s = option_string(key, &v);
			if (strcmp(s, "none") == 0)
				o->unique_edges = GRAPH_UNIQ_NONE;
			else if (strcmp(s, "path") == 0)
				o->unique_edges = GRAPH_UNIQ_PATH;
			else
				option_bad_value(key, s, "\"path\" or \"none\"");
		}
		else if (strcmp(key, "max_rows") == 0)
		{
			double		d;

			if (!(allowed & GOPT_MAX_ROWS))
				option_reject(key);
			d = option_number(key, &v);
			if (!(d >= 1) || d > (double) PG_INT64_MAX || d != floor(d))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"max_rows\" must be a positive integer")));
			o->max_rows = (int64) d;
		}
		else
			option_reject(key);
	}
}

/*---- Edge table checks ----*/

static AttrNumber
check_column(Relation rel, const char *col, const char *optname)
{
	AttrNumber	att = get_attnum(RelationGetRelid(rel), col);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						col, RelationGetRelationName(rel)),
				 errdetail("Option \"%s\" names it.", optname)));
	return att;
}

static char *
qualified_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/*
 * The widest (or narrowest) usable btree index whose first column is att,
 * or InvalidOid: valid, not partial, and -- like the planner -- not one
 * whose broken HOT chains our transaction might still see (indcheckxmin).
 */
static Oid
find_btree_index(Relation rel, AttrNumber att, bool widest)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			indexoid = InvalidOid;
	int			best = widest ? 0 : PG_INT32_MAX;

	foreach(lc, indexes)
	{
		Relation	irel = index_open(lfirst_oid(lc), AccessShareLock);
		int			natts = irel->rd_index->indnatts;

		if (irel->rd_rel->relam == BTREE_AM_OID &&
			irel->rd_index->indnkeyatts >= 1 &&
			irel->rd_index->indkey.values[0] == att &&
			irel->rd_index->indisvalid &&
			heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, NULL) &&
			(!irel->rd_index->indcheckxmin ||
			 TransactionIdPrecedes(HeapTupleHeaderGetXmin(irel->rd_indextuple->t_data),
								   TransactionXmin)) &&
			(widest ? natts > best : natts < best))
		{
			indexoid = lfirst_oid(lc);
			best = natts;
		}
		index_close(irel, AccessShareLock);
	}
	list_free(indexes);
	return indexoid;
}

/*
 * A frontier step looks up "col = ANY($1)": without a btree index whose
 * leading column is col, each step is a full scan and the helper is no
 * better than loading the graph.  Refuse rather than be silently slow.
 */
static Oid
check_index(Relation rel, AttrNumber att, const char *col)
{
	/* the widest one: it may cover the columns a step reads (see direct_scan) */
	Oid			indexoid = find_btree_index(rel, att, true);

	if (!OidIsValid(indexoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("edge table \"%s\" has no btree index on column \"%s\"",
						RelationGetRelationName(rel), col),
				 errdetail("Each frontier step looks edges up by this column."),
				 errhint("CREATE INDEX ON %s (%s);",
						 qualified_name(rel), quote_identifier(col))));
	return indexoid;
}

/*
 * Edge ids are the primary key rendered as text (a row literal when it has
 * several columns).  Without a primary key we fall back to the ctid, which
 * is only stable until the row is updated or the table is rewritten.
 */
static char *
edge_id_expr(Relation rel)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	StringInfoData buf;

	initStringInfo(&buf);
	if (!OidIsValid(pk))
	{
		if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
			appendStringInfoString(&buf, "(e.tableoid::regclass::text || ':' || e.ctid::text)");
		else
			appendStringInfoString(&buf, "e.ctid::text");
	}
	else
	{
		Relation	irel = index_open(pk, AccessShareLock);
		int			n = irel->rd_index->indnkeyatts;

		if (n > 1)
			appendStringInfoString(&buf, "ROW(");
		for (int i = 0; i < n; i++)
		{
			char	   *name = get_attname(RelationGetRelid(rel),
										   irel->rd_index->indkey.values[i], false);

			appendStringInfo(&buf, "%se.%s", i > 0 ? ", " : "", quote_identifier(name));
		}
		appendStringInfoString(&buf, n > 1 ? ")::text" : "::text");
		index_close(irel, AccessShareLock);
	}
	return buf.data;
}

/* (value, vid) pairs of an integer vertex type, for sorting vids by value */
typedef struct VidKey
{
	int64		key;
	Datum		value;
	int32		vid;
} VidKey;

#define ST_SORT sort_vid_keys
#define ST_ELEMENT_TYPE VidKey
#define ST_COMPARE(a, b) ((a)->key < (b)->key ? -1 : (a)->key > (b)->key ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * Sort k by key.  Vertex keys of one call usually span a small range, so an
 * LSD radix sort on key - min (11 bits a pass, stable) beats a comparison
 * sort when there are many; distinct vertices have distinct keys.  Returns
 * the sorted array, k or a new one (the other is freed).
 */
#define VID_RADIX_BITS	11
static VidKey *
radix_sort_vid_keys(GraphCtx *g, VidKey *k, int32 n)
{
	int64		min = k[0].key,
				max = k[0].key;
	uint64		range;
	int			passes = 0;
	VidKey	   *tmp;
	uint32	   *count;

	for (int32 i = 1; i < n; i++)
	{
		if (k[i].key < min)
			min = k[i].key;
		if (k[i].key > max)
			max = k[i].key;
	}
	range = (uint64) max - (uint64) min;
	while (passes < 6 && (passes * VID_RADIX_BITS >= 64 ||
						  (range >> (passes * VID_RADIX_BITS)) != 0))
		passes++;
	if (n < 1024 || passes > 3)
	{
		sort_vid_keys(k, n);
		return k;
	}
	graph_account(g, sizeof(VidKey) * n);
	tmp = MemoryContextAllocHuge(g->scratch, sizeof(VidKey) * n);
	count = palloc(sizeof(uint32) << VID_RADIX_BITS);
	for (int p = 0; p < passes; p++)
	{
		int			shift = p * VID_RADIX_BITS;
		uint32		mask = (1 << VID_RADIX_BITS) - 1;
		uint32		sum = 0;
		VidKey	   *swap;

		memset(count, 0, sizeof(uint32) << VID_RADIX_BITS);
		for (int32 i = 0; i < n; i++)
			count[(((uint64) k[i].key - (uint64) min) >> shift) & mask]++;
		for (uint32 b = 0; b <= mask; b++)
		{
			uint32		c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (int32 i = 0; i < n; i++)
			tmp[count[(((uint64) k[i].key - (uint64) min) >> shift) & mask]++] = k[i];
		swap = k;
		k = tmp;
		tmp = swap;
	}
	pfree(tmp);
	pfree(count);
	g->mem_used -= sizeof(VidKey) * n;
	return k;
}

/*---- Direct index path ----*/

/*
 * When nothing but the table's own rows and privileges decides what the
 * caller sees -- a plain table, no row-level security for this user, a
 * table-level SELECT grant, no edge_filter -- a frontier step reads the
 * btree index and the heap directly instead of running an SQL query:
 * the same rows under the same snapshot, without planner, executor and SPI
 * tuple copies per row.  Anything else (RLS, column grants, partitions,
 * edge_filter, a composite key or one whose text cast is not its output
 * function) goes through SPI.
 */
/* Position (1-based) of heap attribute att among the index's columns. */
static int
index_column_of(Relation irel, AttrNumber att)
{
	for (int i = 0; i < irel->rd_index->indnatts; i++)
		if (irel->rd_index->indkey.values[i] == att)
			return i + 1;
	return 0;
}


static void
direct_setup(GraphCtx *g, Relation rel, Oid vtype)
{
	Oid			pk;

	g->direct = false;
	/* serializable transactions need the predicate locks SQL would take */
	if (IsolationIsSerializable() ||
		rel->rd_rel->relkind != RELKIND_RELATION || g->opt.edge_filter ||
		check_enable_rls(RelationGetRelid(rel), InvalidOid, true) != RLS_NONE ||
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		return;

	pk = RelationGetPrimaryKeyIndex(rel);
	g->eid_att = InvalidAttrNumber;
	if (OidIsValid(pk))
	{
		Relation	irel = index_open(pk, AccessShareLock);
		bool		ok = irel->rd_index->indnkeyatts == 1;
		Oid			pktype = InvalidOid;

		if (ok)
		{
			g->eid_att = irel->rd_index->indkey.values[0];
			pktype = TupleDescAttr(RelationGetDescr(rel), g->eid_att - 1)->atttypid;
		}
		index_close(irel, AccessShareLock);
		/* types whose ::text is their output function */
		if (!ok || !(pktype == INT2OID || pktype == INT4OID || pktype == INT8OID ||
					 pktype == TEXTOID || pktype == VARCHAROID || pktype == UUIDOID ||
					 pktype == OIDOID || pktype == NUMERICOID))
			return;
		getTypeOutputInfo(pktype, &g->eid_out, &g->eid_varlena);
	}
	if (g->watt != InvalidAttrNumber)
		g->wtype = TupleDescAttr(RelationGetDescr(rel), g->watt - 1)->atttypid;

	for (int h = 0; h < 2; h++)
	{
		Relation	irel;
		Oid			opno;

		if (!OidIsValid(g->dindex[h]))
			continue;
		irel = index_open(g->dindex[h], AccessShareLock);
		opno = get_opfamily_member(irel->rd_opfamily[0], vtype, vtype,
								   BTEqualStrategyNumber);
		g->dcoll[h] = irel->rd_indcollation[0];
		g->dopfamily[h] = irel->rd_opfamily[0];
		/* same test as direct_scan's, for graph_fetch_new's choice */
		g->dcover[h] = index_column_of(irel, h == 0 ? g->tatt : g->fatt) > 0 &&
			(g->watt == InvalidAttrNumber || index_column_of(irel, g->watt) > 0) &&
			(!g->need_eid || (g->eid_att != InvalidAttrNumber &&
							  index_column_of(irel, g->eid_att) > 0));
		index_close(irel, AccessShareLock);
		if (!OidIsValid(opno))
			return;
		g->deqproc[h] = get_opcode(opno);
		opno = get_opfamily_member(g->dopfamily[h], vtype, vtype,
								   BTGreaterEqualStrategyNumber);
		g->dgeproc[h] = OidIsValid(opno) ? get_opcode(opno) : InvalidOid;
		opno = get_opfamily_member(g->dopfamily[h], vtype, vtype,
								   BTLessEqualStrategyNumber);
		g->dleproc[h] = OidIsValid(opno) ? get_opcode(opno) : InvalidOid;
		if (vtype == INT8OID || vtype == INT4OID || vtype == INT2OID || vtype == OIDOID)
			g->dpass[h] = find_btree_index(rel, h == 0 ? g->tatt : g->fatt, false);
	}
	g->direct = true;
}

static double
direct_weight(GraphCtx *g, Datum d)
{
	switch (g->wtype)
	{
		case INT2OID:
			return (double) DatumGetInt16(d);
		case INT4OID:
			return (double) DatumGetInt32(d);
		case INT8OID:
			return (double) DatumGetInt64(d);
		case FLOAT4OID:
			return (double) DatumGetFloat4(d);
		case FLOAT8OID:
			return DatumGetFloat8(d);
		default:
			return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
	}
}

/*
 * One edge row for a direct scan's consumer: eid is NULL unless the call
 * wants edge ids, w is meaningful unless wnull.
 */
typedef void (*DirectRowFn) (GraphCtx *g, void *arg, int32 src, Datum nbr,
							 char *eid, bool wnull, double w);

/*
 * Scan half h (0: key = from column, 1: key = to column) for each vertex in
 * kv, calling fn for every visible edge row with a non-null neighbour.
 * When the index also holds the neighbour (and the weight and key column
 * the call needs, e.g. "CREATE INDEX ON edges (source) INCLUDE (target,
 * cost)"), rows on all-visible heap pages are read from the index alone, as
 * an index-only scan would.
 */
static void
direct_scan(GraphCtx *g, int h, const int32 *kv, int nk, bool skip_loops,
			DirectRowFn fn, void *arg)
{
	Relation	irel = index_open(g->dindex[h], AccessShareLock);
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(g->rel, NULL);
	AttrNumber	key_att = h == 0 ? g->fatt : g->tatt;
	AttrNumber	nbr_att = h == 0 ? g->tatt : g->fatt;
	int			ikey = index_column_of(irel, key_att);
	int			inbr = index_column_of(irel, nbr_att);
	int			iw = g->has_weight ? index_column_of(irel, g->watt) : 0;
	int			ieid = 0;
	bool		ionly;
	Buffer		vmbuf = InvalidBuffer;
	ScanKeyData sk;
	uint32		nrows = 0;

	if (g->need_eid && g->eid_att != InvalidAttrNumber)
		ieid = index_column_of(irel, g->eid_att);
	ionly = inbr > 0 && (!g->has_weight || iw > 0) &&
		(!g->need_eid || ieid > 0);

	scan = index_beginscan(g->rel, irel, GetActiveSnapshot(), 1, 0);
	scan->xs_want_itup = ionly;
	g->nfetches++;
	for (int i = 0; i < nk; i++)
	{
		ItemPointer tid;

		if ((i & 255) == 0)
			CHECK_FOR_INTERRUPTS();
		ScanKeyEntryInitialize(&sk, 0, 1, BTEqualStrategyNumber, InvalidOid,
							   g->dcoll[h], g->deqproc[h], g->v[kv[i]].value);
		index_rescan(scan, &sk, 1, NULL, 0);
		while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
		{
			bool		isnull;
			bool		wnull = true;
			double		w = 0;
			char	   *eid = NULL;
			Datum		nbr;
			Datum		key;
			Datum		d;

			if ((++nrows & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
			if (ionly && VM_ALL_VISIBLE(g->rel, ItemPointerGetBlockNumber(tid), &vmbuf))
			{
				IndexTuple	itup = scan->xs_itup;
				TupleDesc	idesc = scan->xs_itupdesc;

				nbr = index_getattr(itup, inbr, idesc, &isnull);
				if (isnull)
					continue;
				key = index_getattr(itup, ikey, idesc, &isnull);
				if (skip_loops && vertex_eq(g, key, nbr))
					continue;
				if (iw)
				{
					d = index_getattr(itup, iw, idesc, &wnull);
					if (!wnull)
						w = direct_weight(g, d);
				}
				if (ieid)
				{
					d = index_getattr(itup, ieid, idesc, &isnull);
					eid = isnull ? "" :
						MemoryContextStrdup(g->scratch, OidOutputFunctionCall(g->eid_out, d));
				}
			}
			else
			{
				if (!index_fetch_heap(scan, slot))
					continue;
				nbr = slot_getattr(slot, nbr_att, &isnull);
				if (isnull)
					continue;
				key = slot_getattr(slot, key_att, &isnull);
				if (skip_loops && vertex_eq(g, key, nbr))
					continue;
				if (g->has_weight)
				{
					d = slot_getattr(slot, g->watt, &wnull);
					if (!wnull)
						w = direct_weight(g, d);
				}
				if (g->need_eid)
				{
					MemoryContext old = MemoryContextSwitchTo(g->scratch);

					if (g->eid_att != InvalidAttrNumber)
					{
						d = slot_getattr(slot, g->eid_att, &isnull);
						eid = isnull ? "" : OidOutputFunctionCall(g->eid_out, d);
					}
					else
						eid = psprintf("(%u,%u)", ItemPointerGetBlockNumber(&slot->tts_tid),
									   ItemPointerGetOffsetNumber(&slot->tts_tid));
					MemoryContextSwitchTo(old);
				}
			}
			fn(g, arg, kv[i], nbr, eid, wnull, w);
		}
	}
	if (BufferIsValid(vmbuf))
		ReleaseBuffer(vmbuf);
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(irel, AccessShareLock);
}

/*
 * How far ahead the heap-order loops prefetch the next tuple and vertex
 * slot: rows of one step are scattered over the table and the vertex hash
 * table, so without it nearly every row waits for two cache misses in turn.
 */
#define GRAPH_PREFETCH_AHEAD	8
#if defined(__GNUC__) || defined(__clang__)
#define graph_prefetch(p)	__builtin_prefetch(p)
#else
#define graph_prefetch(p)	((void) 0)
#endif

typedef struct KeyMapSlot
{
	int64		key;
	int32		vid;			/* -1 = empty */
} KeyMapSlot;

/* One visible edge row of a heap page, copied out before the page is unlocked. */
typedef struct PageRow
{
	Datum		key;
	Datum		nbr;
	Datum		wd;
	Datum		eidd;
	ItemPointerData tid;
	bool		wnull;
	bool		eidnull;
} PageRow;

/*
 * Copy what a step reads from one visible heap tuple into row; false when
 * the neighbour is null.  By-reference values are copied raw (not
 * detoasted: that would read the TOAST table under our buffer lock).
 */
static inline Datum
page_getattr(HeapTuple tup, AttrNumber att, TupleDesc desc, bool *isnull)
{
	Form_pg_attribute a = TupleDescAttr(desc, att - 1);

	/* the common case of heap_getattr, inline: no nulls, offset cached */
	if (!HeapTupleHasNulls(tup) && a->attcacheoff >= 0 &&
		att <= HeapTupleHeaderGetNatts(tup->t_data))
	{
		*isnull = false;
		return fetchatt(a, (char *) tup->t_data + tup->t_data->t_hoff +
						a->attcacheoff);
	}
	return heap_getattr(tup, att, desc, isnull);
}

static bool
page_row(GraphCtx *g, HeapTuple tup, TupleDesc desc, AttrNumber key_att,
		 AttrNumber nbr_att, bool need_key, PageRow *row)
{
	bool		isnull;
	Form_pg_attribute wattr;

	row->nbr = page_getattr(tup, nbr_att, desc, &isnull);
	if (isnull)
		return false;
	if (!g->vtypbyval)
		row->nbr = datumCopy(row->nbr, false, g->vtyplen);
	row->key = (Datum) 0;
	if (need_key)
	{
		row->key = page_getattr(tup, key_att, desc, &isnull);
		if (isnull)
			return false;
		if (!g->vtypbyval)
			row->key = datumCopy(row->key, false, g->vtyplen);
	}
	row->wnull = true;
	if (g->has_weight)
	{
		row->wd = page_getattr(tup, g->watt, desc, &row->wnull);
		wattr = TupleDescAttr(desc, g->watt - 1);
		if (!row->wnull && !wattr->attbyval)
			row->wd = datumCopy(row->wd, false, wattr->attlen);
	}
	row->eidnull = true;
	if (g->need_eid && g->eid_att != InvalidAttrNumber)
	{
		Form_pg_attribute eattr = TupleDescAttr(desc, g->eid_att - 1);

		row->eidd = heap_getattr(tup, g->eid_att, desc, &row->eidnull);
		if (!row->eidnull && !eattr->attbyval)
			row->eidd = datumCopy(row->eidd, false, eattr->attlen);
	}
	row->tid = tup->t_self;
	return true;
}

/*
 * Largest gap, in key values, between two keys of a frontier that an
 * integer-key walk reads across instead of descending the btree again; and
 * how many entries of other keys in a row it reads before it gives up on a
 * gap and descends anyway.  A descent costs about as much as reading a few
 * dozen entries in order.
 */
#define GRAPH_WALK_GAP		8
#define GRAPH_WALK_SKIP		16

/*
 * TIDs a heap-order reader sorts and reads at a time: its arrays grow up to
 * this many, or a quarter of what graph_work_mem has left; a frontier with
 * more edges is read in several rounds (pages may then be read again).
 */
#define GRAPH_TID_CHUNK		(4 * 1024 * 1024)

/*
 * State of one heap-order read (direct_bitmap_scan): TIDs collected from
 * the index as block << 16 | offset, flushed in block order.
 */
typedef struct HeapReader
{
	GraphCtx   *g;
	int			h;
	bool		skip_loops;
	bool		need_src;
	DirectRowFn fn;
	void	   *arg;
	KeyMapSlot *kmap;			/* key -> vid of the keys, integer types */
	uint32		kmask;
	uint64	   *tids;
	int32		n;
	int32		chunk;			/* room in tids */
	int32		maxchunk;		/* flush rather than grow beyond this */
	Size		bytes;			/* counted against the budget */
	PageRow    *rows;
	MemoryContext pagecxt;
	MemoryContext caller;
	Buffer		buf;
	BlockNumber nblocks;
	bool		intkey;
	int32		seqlimit;		/* more TIDs than this: read the heap in order */
	bool		seq;			/* ... which this step does */
	bool		seen_filter;	/* drop rows to vertices in g->seen on the page */
	/* the frontier's keys as a bitmap over [kmin, kmin + krange] */
	uint8	   *kbits;
	int64		kmin;
	uint64		krange;
	/* index-pass steps (reader_pass): a bit per heap TID the step reads */
	uint8	   *tidbits;
	uint8	   *heapbits;		/* ... on pages that are not all-visible */
	Buffer		vmbuf;
} HeapReader;

/*
 * Most edges of a reachability step (fetch_new_row) lead to a vertex its
 * seen bitmap already has, and fetch_new_row would drop them: test that on
 * the page, before the row is copied out and handed over.  True for a null
 * neighbour too (page_row drops those).
 */
static inline bool
reader_seen(HeapReader *r, HeapTuple tup, TupleDesc desc, AttrNumber nbr_att)
{
	GraphCtx   *g = r->g;
	bool		isnull;
	Datum		nbr = page_getattr(tup, nbr_att, desc, &isnull);
	uint64		bit;

	if (isnull)
		return true;
	bit = (uint64) DatumGetInt64(vertex_norm(g, nbr)) - (uint64) g->seen_base;
	return bit < GRAPH_SEEN_BITS && (g->seen[bit / 8] & (1 << (bit % 8))) != 0;
}

static void reader_flush(HeapReader *r);

static void reader_build_kmap(HeapReader *r, const int32 *kv, int nk);

/* The vid of integer key kk in the frontier's key map, -1 when absent. */
static inline int32
reader_kmap_find(HeapReader *r, int64 kk, uint32 hash)
{
	uint32		s = hash & r->kmask;

	while (r->kmap[s].vid >= 0 && r->kmap[s].key != kk)
		s = (s + 1) & r->kmask;
	return r->kmap[s].vid;
}

/*
 * Key values a step covers with a bitmap of the frontier's keys (2 MB at
 * most); a frontier spread wider uses its key map.
 */
#define GRAPH_SEQ_KEY_BITS	(1 << 24)

/* The frontier's keys as a set, for reader_has_key (integer types). */
static void
reader_build_keyset(HeapReader *r, const int32 *kv, int nk)
{
	GraphCtx   *g = r->g;
	int64		kmin,
				kmax;

	kmin = kmax = DatumGetInt64(vertex_norm(g, g->v[kv[0]].value));
	for (int i = 1; i < nk; i++)
	{
		int64		k = DatumGetInt64(vertex_norm(g, g->v[kv[i]].value));

		if (k < kmin)
			kmin = k;
		if (k > kmax)
			kmax = k;
	}
	r->kmin = kmin;
	r->krange = (uint64) kmax - (uint64) kmin;
	if (r->krange < GRAPH_SEQ_KEY_BITS)
	{
		Size		kbytes = r->krange / 8 + 1;

		graph_account(g, kbytes);
		r->bytes += kbytes;
		r->kbits = MemoryContextAllocZero(g->scratch, kbytes);
		for (int i = 0; i < nk; i++)
		{
			uint64		b = (uint64) DatumGetInt64(vertex_norm(g, g->v[kv[i]].value)) -
				(uint64) kmin;

			r->kbits[b / 8] |= 1 << (b % 8);
		}
	}
	else if (r->kmap == NULL)
		reader_build_kmap(r, kv, nk);
}

static inline bool
reader_has_key(HeapReader *r, Datum key)
{
	GraphCtx   *g = r->g;

	if (r->kbits)
	{
		uint64		b = (uint64) DatumGetInt64(vertex_norm(g, key)) - (uint64) r->kmin;

		return b <= r->krange && (r->kbits[b / 8] & (1 << (b % 8))) != 0;
	}
	return reader_kmap_find(r, DatumGetInt64(vertex_norm(g, key)),
							vertex_hash(g, key)) >= 0;
}

/* key -> vid of the frontier's keys (integer types), in r->kmap */
static void
reader_build_kmap(HeapReader *r, const int32 *kv, int nk)
{
	GraphCtx   *g = r->g;
	uint32		nslots = 2;

	while (nslots < (uint32) nk * 2)
		nslots <<= 1;
	graph_account(g, sizeof(KeyMapSlot) * nslots);
	r->bytes += sizeof(KeyMapSlot) * nslots;
	r->kmap = MemoryContextAlloc(g->scratch, sizeof(KeyMapSlot) * nslots);
	r->kmask = nslots - 1;
	for (uint32 s = 0; s <= r->kmask; s++)
		r->kmap[s].vid = -1;
	for (int i = 0; i < nk; i++)
	{
		uint32		s = g->v[kv[i]].hash & r->kmask;

		while (r->kmap[s].vid >= 0)
			s = (s + 1) & r->kmask;
		r->kmap[s].key = DatumGetInt64(vertex_norm(g, g->v[kv[i]].value));
		r->kmap[s].vid = kv[i];
	}
}

static inline void
reader_add(HeapReader *r, ItemPointer tid)
{
	if (r->n >= r->chunk)
	{
		if (r->chunk < r->maxchunk)
		{
			int32		grow = Min(r->chunk, r->maxchunk - r->chunk);

			graph_account(r->g, sizeof(uint64) * grow);
			r->bytes += sizeof(uint64) * grow;
			r->chunk += grow;
			r->tids = repalloc_huge(r->tids, sizeof(uint64) * r->chunk);
		}
		else
		{
			/* rows are about to reach fn: too late to change plans */
			r->seqlimit = PG_INT32_MAX;
			reader_flush(r);
		}
	}
	r->tids[r->n++] = ((uint64) ItemPointerGetBlockNumber(tid) << 16) |
		ItemPointerGetOffsetNumber(tid);
}

/* LSD radix sort of r->tids[0..n) (11 bits a pass over value - min) */
static void
reader_sort(HeapReader *r)
{
	uint64		min = r->tids[0],
				max = r->tids[0];
	uint32		count[1 << VID_RADIX_BITS];
	int32		n = r->n;
	uint64	   *orig = r->tids;
	uint64	   *from = r->tids;
	uint64	   *to = NULL;

	for (int32 i = 1; i < n; i++)
	{
		if (r->tids[i] < min)
			min = r->tids[i];
		if (r->tids[i] > max)
			max = r->tids[i];
	}
	for (int shift = 0; shift < 64 && ((max - min) >> shift) != 0; shift += VID_RADIX_BITS)
	{
		uint32		mask = (1 << VID_RADIX_BITS) - 1;
		uint32		sum = 0;
		uint64	   *swap;

		if (to == NULL)
		{
			graph_account(r->g, sizeof(uint64) * n);
			to = MemoryContextAllocHuge(r->g->scratch, sizeof(uint64) * n);
		}
		memset(count, 0, sizeof(count));
		for (int32 i = 0; i < n; i++)
			count[((from[i] - min) >> shift) & mask]++;
		for (uint32 b = 0; b <= mask; b++)
		{
			uint32		c = count[b];

			count[b] = sum;
			sum += c;
		}
		for (int32 i = 0; i < n; i++)
			to[count[((from[i] - min) >> shift) & mask]++] = from[i];
		swap = from;
		from = to;
		to = swap;
	}
	if (from != orig)
		memcpy(orig, from, sizeof(uint64) * n);
	if (from != orig || to != NULL)
	{
		pfree(from == orig ? to : from);
		r->g->mem_used -= sizeof(uint64) * n;
	}
}

/*
 * Hand the nrows rows of r->rows, copied out of one page (now unlocked), to
 * r->fn; called in r->pagecxt, which it resets.
 */
static void
reader_deliver(HeapReader *r, int nrows)
{
	GraphCtx   *g = r->g;

	for (int k = 0; k < nrows; k++)
	{
		PageRow    *row = &r->rows[k];
		int32		src = -1;
		double		w = 0;
		char	   *eid = NULL;

		/* (a reachability step mostly needs only its seen bitmap) */
		if (r->intkey && g->seen == NULL && k + GRAPH_PREFETCH_AHEAD < nrows)
			graph_prefetch(&g->vslots[vertex_hash(g, r->rows[k + GRAPH_PREFETCH_AHEAD].nbr) &
									  g->vslotmask]);
		if (r->need_src && r->kmap)
		{
			/* the frontier's own small table, not the whole vertex table */
			src = reader_kmap_find(r, DatumGetInt64(vertex_norm(g, row->key)),
								   vertex_hash(g, row->key));
			if (src < 0)
				continue;
		}
		else if (r->need_src)
		{
			src = graph_vertex_lookup(g, row->key);
			if (src < 0)
				continue;
		}
		if (r->skip_loops && vertex_eq(g, row->key, row->nbr))
			continue;
		if (!row->wnull)
			w = direct_weight(g, row->wd);
		if (g->need_eid)
		{
			MemoryContextSwitchTo(g->scratch);
			if (g->eid_att != InvalidAttrNumber)
				eid = row->eidnull ? "" : OidOutputFunctionCall(g->eid_out, row->eidd);
			else
				eid = psprintf("(%u,%u)", ItemPointerGetBlockNumber(&row->tid),
							   ItemPointerGetOffsetNumber(&row->tid));
		}
		MemoryContextSwitchTo(r->caller);
		r->fn(g, r->arg, src, row->nbr, eid, row->wnull, w);
		MemoryContextSwitchTo(r->pagecxt);
	}
	MemoryContextReset(r->pagecxt);
}

/* Read the rows r->tids point at, page by page, and hand them to r->fn. */
static void
reader_flush(HeapReader *r)
{
	GraphCtx   *g = r->g;
	Relation	rel = g->rel;
	TupleDesc	desc = RelationGetDescr(rel);
	Snapshot	snapshot = GetActiveSnapshot();
	AttrNumber	key_att = r->h == 0 ? g->fatt : g->tatt;
	AttrNumber	nbr_att = r->h == 0 ? g->tatt : g->fatt;
	bool		need_key = r->need_src || r->skip_loops;
	MemoryContext old = CurrentMemoryContext;

	if (r->n == 0)
		return;
	reader_sort(r);
	for (int32 i = 0; i < r->n;)
	{
		BlockNumber blkno = (BlockNumber) (r->tids[i] >> 16);
		int32		j = i;
		Page		page;
		bool		all_visible;
		int			nrows = 0;
		OffsetNumber maxoff;

		while (j < r->n && (BlockNumber) (r->tids[j] >> 16) == blkno)
			j++;
		CHECK_FOR_INTERRUPTS();
		/* pages added after the index scan hold only rows our snapshot cannot see */
		if (blkno >= r->nblocks)
		{
			i = j;
			continue;
		}
		r->buf = ReleaseAndReadBuffer(r->buf, rel, blkno);
		heap_page_prune_opt(rel, r->buf);
		LockBuffer(r->buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(r->buf);
		maxoff = PageGetMaxOffsetNumber(page);
		all_visible = PageIsAllVisible(page) && !snapshot->takenDuringRecovery;
		MemoryContextSwitchTo(r->pagecxt);
		for (int32 k = i; k < Min(j, i + GRAPH_PREFETCH_AHEAD); k++)
		{
			OffsetNumber off = (OffsetNumber) (r->tids[k] & 0xffff);

			if (off <= maxoff && ItemIdIsNormal(PageGetItemId(page, off)))
				graph_prefetch(PageGetItem(page, PageGetItemId(page, off)));
		}
		for (int32 k = i; k < j; k++)
		{
			OffsetNumber off = (OffsetNumber) (r->tids[k] & 0xffff);
			ItemId		lp;
			HeapTupleData tup;

			if (k + GRAPH_PREFETCH_AHEAD < j)
			{
				OffsetNumber poff = (OffsetNumber) (r->tids[k + GRAPH_PREFETCH_AHEAD] & 0xffff);

				if (poff <= maxoff && ItemIdIsNormal(PageGetItemId(page, poff)))
					graph_prefetch(PageGetItem(page, PageGetItemId(page, poff)));
			}
			if (off < FirstOffsetNumber || off > maxoff)
				continue;
			lp = PageGetItemId(page, off);
			ItemPointerSet(&tup.t_self, blkno, off);
			if (all_visible && ItemIdIsNormal(lp))
			{
				/* visible to everyone, and the row the index entry is for */
				tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
				tup.t_len = ItemIdGetLength(lp);
				tup.t_tableOid = RelationGetRelid(rel);
			}
			else
			{
				ItemPointerData tid = tup.t_self;

				if (!heap_hot_search_buffer(&tid, rel, r->buf, snapshot, &tup,
											NULL, true))
					continue;
			}
			if (r->seen_filter && reader_seen(r, &tup, desc, nbr_att))
				continue;
			if (page_row(g, &tup, desc, key_att, nbr_att, need_key, &r->rows[nrows]))
				nrows++;
		}
		LockBuffer(r->buf, BUFFER_LOCK_UNLOCK);
		reader_deliver(r, nrows);
		i = j;
	}
	MemoryContextSwitchTo(old);
	r->n = 0;
}

/*
 * A whole-table read costs about as much as GRAPH_SEQ_FACTOR index passes:
 * a step that cannot pass over indexes switches to it only past this many
 * times edge_crdt.graph_scan_fraction of the table.
 */
#define GRAPH_SEQ_FACTOR	10

/* how many tuples ahead a sequential step prefetches */
#define GRAPH_SEQ_PREFETCH	16

/*
 * The rows of a frontier step whose edges turned out to be a large share of
 * the table (more than reader_add's seqlimit), read the way a sequential
 * scan reads them: every page in block order, every tuple whose key is a
 * frontier key and that our snapshot sees (on an all-visible page, every
 * normal tuple; else HeapTupleSatisfiesVisibility, tuple by tuple as a
 * sequential scan checks them, so each HOT chain yields its visible version
 * at most).  Past a few percent of the table this costs less than
 * collecting TIDs from the index, sorting them and reading the pages they
 * point at, which are then most of the pages anyway.  Integer keys only.
 */
static void
reader_seqscan(HeapReader *r, const int32 *kv, int nk)
{
	GraphCtx   *g = r->g;
	Relation	rel = g->rel;
	TupleDesc	desc = RelationGetDescr(rel);
	Snapshot	snapshot = GetActiveSnapshot();
	AttrNumber	key_att = r->h == 0 ? g->fatt : g->tatt;
	AttrNumber	nbr_att = r->h == 0 ? g->tatt : g->fatt;
	bool		need_key = r->need_src || r->skip_loops;
	MemoryContext old = CurrentMemoryContext;
	BufferAccessStrategy strategy = NULL;

	reader_build_keyset(r, kv, nk);

	/* a ring of buffers, as heapam's own scans use on a large table */
	if (r->nblocks > (BlockNumber) (NBuffers / 4))
		strategy = GetAccessStrategy(BAS_BULKREAD);

	/* pages added later hold only rows our snapshot cannot see */
	for (BlockNumber blkno = 0; blkno < r->nblocks; blkno++)
	{
		Page		page;
		bool		all_visible;
		int			nrows = 0;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		if (BufferIsValid(r->buf))
			ReleaseBuffer(r->buf);
		r->buf = ReadBufferExtended(rel, MAIN_FORKNUM, blkno, RBM_NORMAL, strategy);
		heap_page_prune_opt(rel, r->buf);
		LockBuffer(r->buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(r->buf);
		maxoff = PageGetMaxOffsetNumber(page);
		all_visible = PageIsAllVisible(page) && !snapshot->takenDuringRecovery;
		MemoryContextSwitchTo(r->pagecxt);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleData tup;
			Datum		key;
			bool		isnull;

			/* tuples lie back to front: help the cache along */
			if (off + GRAPH_SEQ_PREFETCH <= maxoff)
			{
				ItemId		plp = PageGetItemId(page, off + GRAPH_SEQ_PREFETCH);

				if (ItemIdIsNormal(plp))
					graph_prefetch(PageGetItem(page, plp));
			}
			if (!ItemIdIsNormal(lp))
				continue;
			tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tup.t_len = ItemIdGetLength(lp);
			tup.t_tableOid = RelationGetRelid(rel);
			ItemPointerSet(&tup.t_self, blkno, off);
			/* the key first: most rows are not the frontier's */
			key = page_getattr(&tup, key_att, desc, &isnull);
			if (isnull || !reader_has_key(r, key))
				continue;
			/* (whether or not we see the row, it adds nothing then) */
			if (r->seen_filter && reader_seen(r, &tup, desc, nbr_att))
				continue;
			if (!all_visible &&
				!HeapTupleSatisfiesVisibility(&tup, snapshot, r->buf))
				continue;
			if (page_row(g, &tup, desc, key_att, nbr_att, need_key, &r->rows[nrows]))
				nrows++;
		}
		LockBuffer(r->buf, BUFFER_LOCK_UNLOCK);
		reader_deliver(r, nrows);
	}
	MemoryContextSwitchTo(old);
	if (strategy)
		FreeAccessStrategy(strategy);
}

/*
 * Index-pass steps.  A reachability step (fetch_new_row: only the
 * neighbour values matter) whose frontier holds a large share of the table
 * is answered from two btree indexes alone, the way index-only scans
 * answer queries: one pass over the leaf pages of the key column's index
 * marks the heap TIDs of the frontier's edges in a bitmap, and one pass over
 * the leaf pages of an index led by the neighbour column reports every
 * neighbour with a marked TID.  Both passes read the pages in order with
 * their posting lists, without the per-tuple index AM interface, and touch
 * no heap page: a TID is marked only when the visibility map says its heap
 * page is all-visible, checked after its index entry was read (as an
 * index-only scan checks it, so a concurrent change that clears the bit is
 * seen), which makes the row visible to every snapshot, and its two index
 * entries -- the only entries with that TID while our snapshot holds back
 * VACUUM -- carry its key and its neighbour.  TIDs on other pages take the
 * heap path (reader_flush).  Deleted and half-dead leaf pages are skipped;
 * a page split behind us only moves entries we have read, or entries of
 * rows too new for our snapshot.  Integer vertex types only.
 */
typedef void (*LeafEntryFn) (HeapReader *r, Datum key, ItemPointer tids, int ntids);

/*
 * Ask for every cache line of a page's tuple space at once: a pass reads
 * them all, and one miss after another would leave it waiting on memory
 * most of the time.
 */
static inline void
graph_prefetch_page(Page page)
{
	char	   *p = (char *) page + ((PageHeader) page)->pd_upper;
	char	   *end = (char *) page + ((PageHeader) page)->pd_special;

	for (; p < end; p += 64)
		graph_prefetch(p);
}

/*
 * Whether the frontier may have a key in [lo, hi] (a cheap test: false
 * only when the key bitmap says so over a short range).
 */
static bool
reader_keys_in_range(HeapReader *r, int64 lo, int64 hi)
{
	int64		kmax;

	if (r->kbits == NULL)
		return true;
	kmax = (int64) ((uint64) r->kmin + r->krange);
	if (hi < r->kmin || lo > kmax)
		return false;
	lo = Max(lo, r->kmin);
	hi = Min(hi, kmax);
	if ((uint64) hi - (uint64) lo > 4096)
		return true;
	for (uint64 b = (uint64) lo - (uint64) r->kmin; b <= (uint64) hi - (uint64) r->kmin; b++)
		if (r->kbits[b / 8] & (1 << (b % 8)))
			return true;
	return false;
}

/*
 * With only_keys, a page whose key range (from the high key of the page
 * before it to its own, both inclusive: equal keys may straddle) holds no
 * frontier key is passed over unread.
 */
static pg_attribute_always_inline void
reader_leaf_pass(HeapReader *r, Relation irel, LeafEntryFn fn, bool only_keys)
{
	Snapshot	snapshot = GetActiveSnapshot();
	TupleDesc	idesc = RelationGetDescr(irel);
	Buffer		buf = _bt_get_endpoint(irel, 0, false, snapshot);
	int64		lo = PG_INT64_MIN;

	/* page ranges follow the integers' own order only in these */
	if (irel->rd_indoption[0] != 0 ||
		(irel->rd_opfamily[0] != INTEGER_BTREE_FAM_OID &&
		 irel->rd_opfamily[0] != OID_BTREE_FAM_OID))
		only_keys = false;

	while (BufferIsValid(buf))
	{
		Page		page = BufferGetPage(buf);
		BTPageOpaque opaque = BTPageGetOpaque(page);
		BlockNumber next;
		bool		skip = false;

		if (only_keys && !P_IGNORE(opaque) && !P_RIGHTMOST(opaque))
		{
			IndexTuple	hikey = (IndexTuple) PageGetItem(page, PageGetItemId(page, P_HIKEY));
			bool		isnull;
			Datum		hk;

			if (BTreeTupleGetNAtts(hikey, irel) >= 1)
			{
				hk = index_getattr(hikey, 1, idesc, &isnull);
				if (!isnull)
				{
					int64		hi = DatumGetInt64(vertex_norm(r->g, hk));

					skip = !reader_keys_in_range(r, lo, hi);
					lo = hi;
				}
				else
					lo = PG_INT64_MAX;	/* nulls sort last: no more keys */
			}
		}
		if (!P_IGNORE(opaque) && !skip)
		{
			OffsetNumber maxoff = PageGetMaxOffsetNumber(page);

			graph_prefetch_page(page);

			for (OffsetNumber off = P_FIRSTDATAKEY(opaque); off <= maxoff; off++)
			{
				ItemId		iid = PageGetItemId(page, off);
				IndexTuple	itup;
				Datum		key;
				bool		isnull;

				/* (a killed entry's row is dead to everyone) */
				if (ItemIdIsDead(iid))
					continue;
				itup = (IndexTuple) PageGetItem(page, iid);
				key = index_getattr(itup, 1, idesc, &isnull);
				if (isnull)
					continue;
				if (BTreeTupleIsPosting(itup))
					fn(r, key, BTreeTupleGetPosting(itup), BTreeTupleGetNPosting(itup));
				else
					fn(r, key, &itup->t_tid, 1);
			}
		}
		next = opaque->btpo_next;
		if (P_RIGHTMOST(opaque))
		{
			_bt_relbuf(irel, buf);
			break;
		}
		buf = _bt_relandgetbuf(irel, buf, next, BT_READ);
		CHECK_FOR_INTERRUPTS();
	}
}

static inline uint64
reader_tid_bit(ItemPointer tid)
{
	return (uint64) ItemPointerGetBlockNumber(tid) * MaxHeapTuplesPerPage +
		ItemPointerGetOffsetNumber(tid) - 1;
}

/* key pass: mark (or queue for the heap) the TIDs of the frontier's edges */
static void
pass_mark(HeapReader *r, Datum key, ItemPointer tids, int ntids)
{
	if (!reader_has_key(r, key))
		return;
	for (int i = 0; i < ntids; i++)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&tids[i]);
		OffsetNumber off = ItemPointerGetOffsetNumber(&tids[i]);
		uint64		bit;

		/* pages added later hold only rows our snapshot cannot see */
		if (blkno >= r->nblocks || off < FirstOffsetNumber || off > MaxHeapTuplesPerPage)
			continue;
		bit = reader_tid_bit(&tids[i]);
		/* (the heap is read later: not while we hold an index page lock) */
		if (VM_ALL_VISIBLE(r->g->rel, blkno, &r->vmbuf))
			r->tidbits[bit / 8] |= 1 << (bit % 8);
		else
			r->heapbits[bit / 8] |= 1 << (bit % 8);
	}
}

/* neighbour pass: report a neighbour not seen yet with a marked TID */
static void
pass_report(HeapReader *r, Datum nbr, ItemPointer tids, int ntids)
{
	GraphCtx   *g = r->g;
	uint64		bit = (uint64) DatumGetInt64(vertex_norm(g, nbr)) - (uint64) g->seen_base;

	if (bit < GRAPH_SEEN_BITS && (g->seen[bit / 8] & (1 << (bit % 8))))
		return;
	for (int i = 0; i < ntids; i++)
	{
		BlockNumber blkno = ItemPointerGetBlockNumber(&tids[i]);
		uint64		tbit;

		if (blkno >= r->nblocks)
			continue;
		tbit = reader_tid_bit(&tids[i]);
		if (r->tidbits[tbit / 8] & (1 << (tbit % 8)))
		{
			/* once is enough: fetch_new_row ignores repeats */
			r->fn(g, r->arg, -1, nbr, NULL, true, 0);
			return;
		}
	}
}

static void
reader_pass(HeapReader *r, Relation kirel, const int32 *kv, int nk)
{
	GraphCtx   *g = r->g;
	Size		tbytes = (Size) r->nblocks * MaxHeapTuplesPerPage / 8 + 1;
	Relation	nirel;

	reader_build_keyset(r, kv, nk);
	graph_account(g, 2 * tbytes);
	r->tidbits = MemoryContextAllocExtended(g->scratch, tbytes,
											MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	r->heapbits = MemoryContextAllocExtended(g->scratch, tbytes,
											 MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	reader_leaf_pass(r, kirel, pass_mark, true);

	/* rows on pages that are not all-visible: from the heap, as usual */
	for (Size i = 0; i < tbytes; i++)
	{
		if (r->heapbits[i] == 0)
			continue;
		for (int b = 0; b < 8; b++)
		{
			uint64		bit = (uint64) i * 8 + b;
			ItemPointerData tid;

			if (!(r->heapbits[i] & (1 << b)))
				continue;
			ItemPointerSet(&tid, (BlockNumber) (bit / MaxHeapTuplesPerPage),
						   (OffsetNumber) (bit % MaxHeapTuplesPerPage + 1));
			reader_add(r, &tid);
		}
	}
	reader_flush(r);

	nirel = index_open(g->dpass[r->h], AccessShareLock);
	reader_leaf_pass(r, nirel, pass_report, false);
	index_close(nirel, AccessShareLock);
	pfree(r->tidbits);
	pfree(r->heapbits);
	r->tidbits = r->heapbits = NULL;
	g->mem_used -= 2 * tbytes;
}

/* Equality scan for one key, TIDs into r. */
static void
reader_scan_key(HeapReader *r, IndexScanDesc scan, Datum key)
{
	GraphCtx   *g = r->g;
	ScanKeyData sk;
	ItemPointer tid;
	uint32		nread = 0;

	ScanKeyEntryInitialize(&sk, 0, 1, BTEqualStrategyNumber, InvalidOid,
						   g->dcoll[r->h], g->deqproc[r->h], key);
	index_rescan(scan, &sk, 1, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		if ((++nread & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		reader_add(r, tid);
		if (r->n > r->seqlimit)
		{
			r->seq = true;
			return;
		}
	}
}

/*
 * TIDs of every edge whose key (column h) is a vertex of kv, for an integer
 * vertex type.  Keys are taken in ascending order; a run of keys no more
 * than GRAPH_WALK_GAP apart is read with one range scan "key >= first AND
 * key <= last" that walks the leaf pages and keeps the entries whose key is
 * in the run, so a dense frontier costs a walk along the leaves rather than
 * a root-to-leaf descent per vertex (more than GRAPH_WALK_SKIP entries of
 * other keys in a row end the walk: the rest of the run starts over with a
 * descent).  A key on its own is an equality scan.
 */
static void
reader_walk_keys(HeapReader *r, Relation irel, const int32 *kv, int nk)
{
	GraphCtx   *g = r->g;
	int			h = r->h;
	VidKey	   *k;
	IndexScanDesc scan = NULL;
	IndexScanDesc escan = NULL;
	ScanKeyData sk[2];
	uint32		nread = 0;
	int			skipped;
	int			restart;

	graph_account(g, sizeof(VidKey) * nk);
	k = palloc(sizeof(VidKey) * nk);
	for (int j = 0; j < nk; j++)
	{
		k[j].value = g->v[kv[j]].value;
		k[j].key = DatumGetInt64(vertex_norm(g, k[j].value));
		k[j].vid = kv[j];
	}
	k = radix_sort_vid_keys(g, k, nk);

	for (int i = 0; i < nk;)
	{
		int			j = i;

		CHECK_FOR_INTERRUPTS();
		while (j + 1 < nk && (uint64) k[j + 1].key - (uint64) k[j].key <= GRAPH_WALK_GAP)
			j++;
		if (j == i)
		{
			if (escan == NULL)
				escan = index_beginscan(g->rel, irel, GetActiveSnapshot(), 1, 0);
			reader_scan_key(r, escan, k[i].value);
			if (r->seq)
				break;
			i++;
			continue;
		}
		if (scan == NULL)
		{
			scan = index_beginscan(g->rel, irel, GetActiveSnapshot(), 2, 0);
			scan->xs_want_itup = true;
		}
		ScanKeyEntryInitialize(&sk[0], 0, 1, BTGreaterEqualStrategyNumber,
							   InvalidOid, g->dcoll[h], g->dgeproc[h], k[i].value);
		ScanKeyEntryInitialize(&sk[1], 0, 1, BTLessEqualStrategyNumber,
							   InvalidOid, g->dcoll[h], g->dleproc[h], k[j].value);
		index_rescan(scan, sk, 2, NULL, 0);
		skipped = 0;
		restart = -1;
		for (;;)
		{
			ItemPointer tid = index_getnext_tid(scan, ForwardScanDirection);
			bool		isnull;
			int64		x;

			if (tid == NULL)
				break;
			if ((++nread & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
			x = DatumGetInt64(vertex_norm(g, index_getattr(scan->xs_itup, 1,
														  scan->xs_itupdesc,
														  &isnull)));
			if (isnull)
				break;
			while (i < j && k[i].key < x)
				i++;
			if (x == k[i].key)
			{
				reader_add(r, tid);
				skipped = 0;
				if (r->n > r->seqlimit)
				{
					r->seq = true;
					break;
				}
			}
			else if (++skipped > GRAPH_WALK_SKIP)
			{
				/* a crowded gap (x < k[i]): descend again at k[i] */
				restart = i;
				break;
			}
		}
		if (r->seq)
			break;
		i = restart >= 0 ? restart : j + 1;
	}
	if (scan)
		index_endscan(scan);
	if (escan)
		index_endscan(escan);
	pfree(k);
	g->mem_used -= sizeof(VidKey) * nk;
}

/*
 * Like direct_scan without a covering index, but the heap is read the way a
 * bitmap heap scan reads it: first the matching TIDs of the keys from the
 * index (no heap access), then, sorted, the heap pages in block order, each
 * pinned and locked once for all the rows it holds (in chunks of at most
 * GRAPH_TID_CHUNK TIDs, so memory stays bounded).  On an all-visible page a
 * row the index points at directly is visible to every snapshot and is read
 * from its line pointer; anything else (a HOT chain, a page with recent
 * changes) goes through heap_hot_search_buffer under our snapshot, as an
 * index or bitmap scan would.
 *
 * Rows reach fn in heap order, not key by key; src is the key's vid when
 * need_src, else -1.
 */
static void
direct_bitmap_scan(GraphCtx *g, int h, const int32 *kv, int nk, bool skip_loops,
				   bool need_src, DirectRowFn fn, void *arg)
{
	Relation	irel = index_open(g->dindex[h], AccessShareLock);
	HeapReader	r;
	MemoryContext old;
	Size		remaining = g->mem_limit > g->mem_used ? g->mem_limit - g->mem_used : 0;
	Size		bytes;
	bool		use_pass;

	memset(&r, 0, sizeof(r));
	r.maxchunk = Max(Min(remaining / 4 / (2 * sizeof(uint64)), GRAPH_TID_CHUNK), 256);
	/* a guess at the step's edges, to spare most of the doubling */
	r.chunk = Min(Max(1024, nk * 8), r.maxchunk);
	bytes = sizeof(uint64) * r.chunk + sizeof(PageRow) * MaxHeapTuplesPerPage;
	r.g = g;
	r.h = h;
	r.skip_loops = skip_loops;
	r.need_src = need_src;
	r.fn = fn;
	r.arg = arg;
	r.caller = CurrentMemoryContext;
	r.buf = InvalidBuffer;
	r.vmbuf = InvalidBuffer;
	r.intkey = vertex_int_key(g);
	r.seen_filter = r.intkey && g->seen != NULL && fn == fetch_new_row;
	/* a large reachability step can be answered from two indexes */
	use_pass = r.seen_filter && !need_src && !skip_loops &&
		OidIsValid(g->dpass[h]) && !GetActiveSnapshot()->takenDuringRecovery &&
		(Size) r.nblocks * MaxHeapTuplesPerPage / 8 < remaining / 8;
	/* index entries added later than this point to rows we cannot see */
	r.nblocks = RelationGetNumberOfBlocks(g->rel);

	graph_account(g, bytes);
	r.pagecxt = AllocSetContextCreate(g->scratch, "edge_crdt graph page",
									  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(g->scratch);
	r.tids = MemoryContextAllocHuge(g->scratch, sizeof(uint64) * r.chunk);
	r.rows = palloc(sizeof(PageRow) * MaxHeapTuplesPerPage);

	if (need_src && r.intkey)
		reader_build_kmap(&r, kv, nk);
	MemoryContextSwitchTo(old);

	/*
	 * Integer keys can switch to scanning whole indexes (reader_pass) or the
	 * whole table (reader_seqscan) once the TIDs collected show that the step
	 * reads a large share of the table (the index work done until then is
	 * the price of not knowing in advance).  Without statistics, guess a
	 * quarter of the most rows a page can hold.
	 */
	r.seqlimit = PG_INT32_MAX;
	if (r.intkey && graph_scan_fraction < 1.0)
	{
		double		rows = (double) r.nblocks * (MaxHeapTuplesPerPage / 4);

		if (g->rel->rd_rel->relpages > 0 && g->rel->rd_rel->reltuples >= 0)
			rows = g->rel->rd_rel->reltuples / g->rel->rd_rel->relpages * r.nblocks;
		rows *= Min(graph_scan_fraction * (use_pass ? 1 : GRAPH_SEQ_FACTOR), 1.0);
		r.seqlimit = rows < PG_INT32_MAX - 1 ? (int32) rows : PG_INT32_MAX - 1;
	}

	g->nfetches++;
	/* the walk reads entries in ascending integer order */
	if (r.intkey && OidIsValid(g->dgeproc[h]) && OidIsValid(g->dleproc[h]) &&
		(irel->rd_indoption[0] & INDOPTION_DESC) == 0 &&
		(irel->rd_opfamily[0] == INTEGER_BTREE_FAM_OID ||
		 irel->rd_opfamily[0] == OID_BTREE_FAM_OID))
		reader_walk_keys(&r, irel, kv, nk);
	else
	{
		IndexScanDesc scan = index_beginscan(g->rel, irel, GetActiveSnapshot(), 1, 0);

		for (int i = 0; i < nk && !r.seq; i++)
		{
			if ((i & 255) == 0)
				CHECK_FOR_INTERRUPTS();
			reader_scan_key(&r, scan, g->v[kv[i]].value);
		}
		index_endscan(scan);
	}
	if (r.seq)
	{
		r.n = 0;
		if (use_pass)
			reader_pass(&r, irel, kv, nk);
		else
			reader_seqscan(&r, kv, nk);
	}
	else
		reader_flush(&r);
	index_close(irel, AccessShareLock);

	if (BufferIsValid(r.buf))
		ReleaseBuffer(r.buf);
	if (BufferIsValid(r.vmbuf))
		ReleaseBuffer(r.vmbuf);
	if (r.kbits)
		pfree(r.kbits);
	pfree(r.tids);
	pfree(r.rows);
	if (r.kmap)
		pfree(r.kmap);
	MemoryContextDelete(r.pagecxt);
	g->mem_used -= bytes + r.bytes;
}

/*
 * A frontier step's rows for half h: from a covering index key by key, or
 * for a single key (direct_scan); else the keys' TIDs first, then the heap
 * in block order (direct_bitmap_scan).
 */
static void
direct_read(GraphCtx *g, int h, const int32 *kv, int nk, bool skip_loops,
			bool need_src, DirectRowFn fn, void *arg)
{
	if (g->dcover[h] || nk == 1)
		direct_scan(g, h, kv, nk, skip_loops, fn, arg);
	else
		direct_bitmap_scan(g, h, kv, nk, skip_loops, need_src, fn, arg);
}

static int
side_direction(int direction, int side)
{
	if (side == 0 || direction == GRAPH_ANY)
		return direction;
	return direction == GRAPH_OUT ? GRAPH_IN : GRAPH_OUT;
}

/*
 * Set up a call: validate, connect to SPI, prepare the half-queries.
 * sides is 1 for one-directional searches, 2 when a backward search runs
 * too.  argname names the vertex argument in messages.
 */
GraphCtx *
graph_begin(Oid relid, Oid vtype, const char *argname, int direction,
			Jsonb *options, int allowed, bool need_eid, int sides,
			const GraphOptions *named)
{
	MemoryContext cxt;
	GraphCtx   *g;
	Relation	rel;
	AttrNumber	fatt,
				tatt,
				watt = InvalidAttrNumber;
	Oid			ftype,
				ttype;
	char	   *relname;
	char	   *eidexpr = NULL;
	char	   *qfrom,
			   *qto;
	char	   *wexpr = NULL;
	int			need_halves = 0;
	Oid			arraytype;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "edge_crdt graph",
								ALLOCSET_DEFAULT_SIZES);
	g = MemoryContextAllocZero(cxt, sizeof(GraphCtx));
	g->cxt = cxt;
	g->caller = CurrentMemoryContext;
	g->scratch = AllocSetContextCreate(cxt, "edge_crdt graph step",
									   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);

	parse_options(options, allowed, &g->opt, named);
	g->relid = relid;
	g->direction = direction;
	g->need_eid = need_eid;
	g->mem_limit = (Size) graph_work_mem * 1024;

	/*
	 * The queries check privileges anyway; checking first keeps callers who
	 * may not read the table from learning its columns and indexes here.
	 */
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck_all(relid, GetUserId(), ACL_SELECT,
								  ACLMASK_ANY) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));

	rel = relation_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE &&
		rel->rd_rel->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("argument \"edges\" must be a table, but \"%s\" is not",
						RelationGetRelationName(rel))));
	relname = qualified_name(rel);

	fatt = check_column(rel, g->opt.from_col, "from_col");
	tatt = check_column(rel, g->opt.to_col, "to_col");
	ftype = TupleDescAttr(RelationGetDescr(rel), fatt - 1)->atttypid;
	ttype = TupleDescAttr(RelationGetDescr(rel), tatt - 1)->atttypid;
	if (ftype != vtype || ttype != vtype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("argument \"%s\" has type %s but column \"%s\" has type %s",
						argname, format_type_be(vtype),
						ftype != vtype ? g->opt.from_col : g->opt.to_col,
						format_type_be(ftype != vtype ? ftype : ttype)),
				 errhint("Vertex arguments must have the type of the from and to columns; cast the argument.")));
	g->vcoll = TupleDescAttr(RelationGetDescr(rel), fatt - 1)->attcollation;

	if (g->opt.weight_col)
	{
		Oid			wtype;

		watt = check_column(rel, g->opt.weight_col, "weight_col");
		wtype = TupleDescAttr(RelationGetDescr(rel), watt - 1)->atttypid;
		if (wtype != INT2OID && wtype != INT4OID && wtype != INT8OID &&
			wtype != FLOAT4OID && wtype != FLOAT8OID && wtype != NUMERICOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("weight column \"%s\" has type %s, which is not numeric",
							g->opt.weight_col, format_type_be(wtype)),
					 errdetail("Option \"weight_col\" names it.")));
		g->has_weight = true;
		wexpr = psprintf("(e.%s)::float8", quote_identifier(g->opt.weight_col));
	}

	for (int s = 0; s < sides; s++)
		need_halves |= side_direction(direction, s);
	if (need_halves & GRAPH_OUT)
		g->dindex[0] = check_index(rel, fatt, g->opt.from_col);
	if (need_halves & GRAPH_IN)
		g->dindex[1] = check_index(rel, tatt, g->opt.to_col);
	g->eidexpr = edge_id_expr(rel);
	if (need_eid)
		eidexpr = g->eidexpr;
	g->fatt = fatt;
	g->tatt = tatt;
	g->watt = watt;
	direct_setup(g, rel, vtype);
	/* the direct path reads through rel until graph_end */
	if (g->direct)
		g->rel = rel;
	else
		relation_close(rel, AccessShareLock);

	g->vtype = vtype;
	get_typlenbyvalalign(vtype, &g->vtyplen, &g->vtypbyval, &g->vtypalign);
	g->tc = lookup_type_cache(vtype, TYPECACHE_HASH_PROC_FINFO |
							  TYPECACHE_EQ_OPR_FINFO | TYPECACHE_CMP_PROC_FINFO);
	if (!OidIsValid(g->tc->hash_proc) || !OidIsValid(g->tc->eq_opr) ||
		!OidIsValid(g->tc->cmp_proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("vertex type %s has no default hash and btree operator classes",
						format_type_be(vtype)),
				 errdetail("Vertices are kept in a hash table and ordered for deterministic output.")));
	arraytype = get_array_type(vtype);
	g->plan_argtype = arraytype;
	if (!OidIsValid(arraytype))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("vertex type %s has no array type", format_type_be(vtype))));

	/* SPI_finish returns to the context current here: not ours, we delete it */
	MemoryContextSwitchTo(g->caller);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	MemoryContextSwitchTo(cxt);

	qfrom = pstrdup(quote_identifier(g->opt.from_col));
	qto = pstrdup(quote_identifier(g->opt.to_col));
	g->relname = relname;
	g->qfrom = qfrom;
	g->qto = qto;
	g->wexpr = wexpr;
	for (int s = 0; s < sides; s++)
	{
		int			dir = side_direction(direction, s);

		for (int h = 0; h < 2; h++)
		{
			StringInfoData q;

			if (!(dir & (h == 0 ? GRAPH_OUT : GRAPH_IN)))
				continue;
			initStringInfo(&q);
			appendStringInfo(&q, "SELECT e.%s, e.%s", h == 0 ? qfrom : qto,
							 h == 0 ? qto : qfrom);
			if (eidexpr)
				appendStringInfo(&q, ", %s", eidexpr);
			if (wexpr)
				appendStringInfo(&q, ", %s", wexpr);
			appendStringInfo(&q, " FROM %s AS e WHERE e.%s = ANY ($1)",
							 relname, h == 0 ? qfrom : qto);
			/* in "any" a self-loop is found by the outbound half already */
			if (h == 1 && dir == GRAPH_ANY)
				appendStringInfo(&q, " AND e.%s IS DISTINCT FROM e.%s", qfrom, qto);
			if (g->opt.edge_filter)
				appendStringInfo(&q, " AND (%s)", g->opt.edge_filter);
			/*
			 * Generic plan: a custom plan would estimate the selectivity of
			 * every array element at every step, which for frontiers of
			 * tens of thousands of vertices costs more than the scan.
			 */
			g->plan[s][h] = SPI_prepare_cursor(q.data, 1, &arraytype,
												CURSOR_OPT_GENERIC_PLAN);
			if (g->plan[s][h] == NULL)
				elog(ERROR, "SPI_prepare failed for \"%s\": %s", q.data,
					 SPI_result_code_string(SPI_result));
		}
	}

	/* start small: the tables double as needed, counted as they grow */
	g->maxv = 64;
	g->v = palloc(sizeof(GraphVertex) * g->maxv);
	g->vslotmask = 128 - 1;
	g->vslots = palloc(sizeof(GraphSlot) * 128);
	for (int i = 0; i < 128; i++)
		g->vslots[i].id = -1;
	g->maxe = 64;
	g->e = palloc(sizeof(char *) * g->maxe);
	g->eslotmask = 128 - 1;
	g->eslots = palloc(sizeof(int32) * 128);
	memset(g->eslots, 0xff, sizeof(int32) * 128);
	graph_account(g, (sizeof(GraphVertex) + sizeof(char *) + 4 * sizeof(int32)) * 64);
	return g;
}

void
graph_end(GraphCtx *g)
{
	MemoryContext caller = g->caller;

	if (g->rel)
		relation_close(g->rel, NoLock);
	SPI_finish();
	MemoryContextSwitchTo(caller);
	MemoryContextDelete(g->cxt);
}

void
graph_account(GraphCtx *g, Size bytes)
{
	g->mem_used += bytes;
	if (g->mem_used > g->mem_limit)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("graph query needs more than edge_crdt.graph_work_mem (%d kB)",
						graph_work_mem),
				 errhint("Raise edge_crdt.graph_work_mem, or narrow the query (max_depth, unique_vertices, edge_filter, max_rows).")));
}

/*---- Vertex table ----*/

/*
 * Open addressing over (key, hash, vid) slots.  For integer vertex types the
 * slot holds the value itself and equality is equality of the normalized
 * Datum, so a probe touches one cache line and calls no function; other
 * types hash and compare through their default operator classes.
 */
static inline bool
vertex_int_key(GraphCtx *g)
{
	return g->vtype == INT8OID || g->vtype == INT4OID ||
		g->vtype == INT2OID || g->vtype == OIDOID;
}

static inline Datum
vertex_norm(GraphCtx *g, Datum value)
{
	switch (g->vtype)
	{
		case INT4OID:
			return Int64GetDatum((int64) DatumGetInt32(value));
		case INT2OID:
			return Int64GetDatum((int64) DatumGetInt16(value));
		case OIDOID:
			return Int64GetDatum((int64) DatumGetObjectId(value));
		default:
			return value;
	}
}

static uint32
vertex_hash(GraphCtx *g, Datum value)
{
	if (vertex_int_key(g))
	{
		uint64		k = (uint64) vertex_norm(g, value);

		/* murmur3 finalizer */
		k ^= k >> 33;
		k *= UINT64CONST(0xff51afd7ed558ccd);
		k ^= k >> 33;
		k *= UINT64CONST(0xc4ceb9fe1a85ec53);
		k ^= k >> 33;
		return (uint32) k;
	}
	return DatumGetUInt32(FunctionCall1Coll(&g->tc->hash_proc_finfo,
											g->vcoll, value));
}

static bool
vertex_eq(GraphCtx *g, Datum a, Datum b)
{
	return DatumGetBool(FunctionCall2Coll(&g->tc->eq_opr_finfo,
										  g->vcoll, a, b));
}

int
graph_compare_vertices(GraphCtx *g, int32 a, int32 b)
{
	return DatumGetInt32(FunctionCall2Coll(&g->tc->cmp_proc_finfo, g->vcoll,
										   g->v[a].value, g->v[b].value));
}

static void
vertex_grow_slots(GraphCtx *g)
{
	uint32		nslots = (g->vslotmask + 1) * 2;
	GraphSlot  *old = g->vslots;
	uint32		oldn = g->vslotmask + 1;

	graph_account(g, sizeof(GraphSlot) * (g->vslotmask + 1));
	g->vslots = MemoryContextAllocHuge(g->cxt, sizeof(GraphSlot) * nslots);
	for (uint32 i = 0; i < nslots; i++)
		g->vslots[i].id = -1;
	g->vslotmask = nslots - 1;
	for (uint32 i = 0; i < oldn; i++)
	{
		uint32		s;

		if (old[i].id < 0)
			continue;
		s = old[i].hash & g->vslotmask;
		while (g->vslots[s].id >= 0)
			s = (s + 1) & g->vslotmask;
		g->vslots[s] = old[i];
	}
	pfree(old);
}

static int32
vertex_find(GraphCtx *g, Datum value, uint32 h, uint32 *slot)
{
	uint32		s = h & g->vslotmask;

	if (vertex_int_key(g))
	{
		Datum		k = vertex_norm(g, value);

		while (g->vslots[s].id >= 0)
		{
			if (g->vslots[s].key == k)
				return g->vslots[s].id;
			s = (s + 1) & g->vslotmask;
		}
	}
	else
	{
		while (g->vslots[s].id >= 0)
		{
			if (g->vslots[s].hash == h &&
				vertex_eq(g, g->v[g->vslots[s].id].value, value))
				return g->vslots[s].id;
			s = (s + 1) & g->vslotmask;
		}
	}
	*slot = s;
	return -1;
}

int32
graph_vertex_lookup(GraphCtx *g, Datum value)
{
	uint32		slot;

	return vertex_find(g, value, vertex_hash(g, value), &slot);
}

/* The vid of value, numbering it (and copying it) when new. */
int32
graph_vertex(GraphCtx *g, Datum value, bool *found)
{
	uint32		h = vertex_hash(g, value);
	uint32		slot;
	int32		id = vertex_find(g, value, h, &slot);
	GraphVertex *v;
	MemoryContext old;

	if (found)
		*found = id >= 0;
	if (id >= 0)
		return id;

	if (g->nv >= g->maxv)
	{
		graph_account(g, sizeof(GraphVertex) * g->maxv);
		g->maxv *= 2;
		g->v = repalloc_huge(g->v, sizeof(GraphVertex) * g->maxv);
	}
	id = g->nv++;
	v = &g->v[id];
	memset(v, 0, sizeof(GraphVertex));
	old = MemoryContextSwitchTo(g->cxt);
	if (g->vtyplen == -1)
		value = PointerGetDatum(PG_DETOAST_DATUM_PACKED(value));
	v->value = datumCopy(value, g->vtypbyval, g->vtyplen);
	MemoryContextSwitchTo(old);
	if (!g->vtypbyval)
		graph_account(g, datumGetSize(v->value, false, g->vtyplen) + 16);
	v->hash = h;
	v->cost[0] = v->cost[1] = get_float8_infinity();
	v->depth[0] = v->depth[1] = -1;
	v->parent[0] = v->parent[1] = -1;
	v->peid[0] = v->peid[1] = -1;
	v->stamp = -1;
	g->vslots[slot].id = id;
	g->vslots[slot].hash = h;
	g->vslots[slot].key = vertex_int_key(g) ? vertex_norm(g, value) : (Datum) 0;
	if ((uint32) g->nv * 2 > g->vslotmask)
		vertex_grow_slots(g);
	return id;
}

/*---- Edge ids ----*/

static int32
edge_intern(GraphCtx *g, const char *s)
{
	int			len = strlen(s);
	uint32		h = hash_bytes((const unsigned char *) s, len);
	uint32		slot = h & g->eslotmask;
	int32		id;

	while (g->eslots[slot] >= 0)
	{
		if (strcmp(g->e[g->eslots[slot]], s) == 0)
			return g->eslots[slot];
		slot = (slot + 1) & g->eslotmask;
	}
	if (g->ne >= g->maxe)
	{
		graph_account(g, sizeof(char *) * g->maxe);
		g->maxe *= 2;
		g->e = repalloc_huge(g->e, sizeof(char *) * g->maxe);
	}
	id = g->ne++;
	g->e[id] = MemoryContextStrdup(g->cxt, s);
	graph_account(g, len + 1 + 16);
	g->eslots[slot] = id;
	if ((uint32) g->ne * 2 > g->eslotmask)
	{
		uint32		nslots = (g->eslotmask + 1) * 2;

		graph_account(g, sizeof(int32) * (g->eslotmask + 1));
		pfree(g->eslots);
		g->eslots = MemoryContextAlloc(g->cxt, sizeof(int32) * nslots);
		memset(g->eslots, 0xff, sizeof(int32) * nslots);
		g->eslotmask = nslots - 1;
		for (int32 i = 0; i < g->ne; i++)
		{
			int			l = strlen(g->e[i]);
			uint32		s2 = hash_bytes((const unsigned char *) g->e[i], l) & g->eslotmask;

			while (g->eslots[s2] >= 0)
				s2 = (s2 + 1) & g->eslotmask;
			g->eslots[s2] = i;
		}
	}
	return id;
}

Datum
graph_edge_text(GraphCtx *g, int32 eid)
{
	return CStringGetTextDatum(g->e[eid]);
}

Datum
graph_vertex_array(GraphCtx *g, const int32 *vids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = g->v[vids[i]].value;
	return PointerGetDatum(construct_array(d, n, g->vtype, g->vtyplen,
										   g->vtypbyval, g->vtypalign));
}

Datum
graph_edge_array(GraphCtx *g, const int32 *eids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		d[i] = CStringGetTextDatum(g->e[eids[i]]);
	return PointerGetDatum(construct_array(d, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*---- Frontier fetch ----*/

static char *
vertex_text(GraphCtx *g, Datum value)
{
	Oid			outfn;
	bool		isvarlena;

	getTypeOutputInfo(g->vtype, &outfn, &isvarlena);
	return OidOutputFunctionCall(outfn, value);
}

/* Rows fetched per cursor batch: bounds SPI's own tuple copies. */
#define GRAPH_FETCH_BATCH	8192

/*
 * Keys per execution of a frontier query.  The generic plan cannot hash
 * the "= ANY($1)" array, and a bitmap heap scan that goes lossy rechecks
 * every row against it linearly; bounded chunks keep both cheap.
 */
#define GRAPH_KEYS_PER_QUERY	8192

typedef struct FetchRow
{
	int32		src;
	Datum		dst;
	char	   *eid;
	double		w;
	bool		wnull;
} FetchRow;

static inline int
fetch_dst_cmp(GraphCtx *g, Datum a, Datum b)
{
	/* integer keys are by far the common case: skip the fmgr call */
	switch (g->vtype)
	{
		case INT8OID:
			return DatumGetInt64(a) < DatumGetInt64(b) ? -1 :
				DatumGetInt64(a) > DatumGetInt64(b) ? 1 : 0;
		case INT4OID:
			return DatumGetInt32(a) < DatumGetInt32(b) ? -1 :
				DatumGetInt32(a) > DatumGetInt32(b) ? 1 : 0;
		case INT2OID:
			return DatumGetInt16(a) < DatumGetInt16(b) ? -1 :
				DatumGetInt16(a) > DatumGetInt16(b) ? 1 : 0;
		default:
			return DatumGetInt32(FunctionCall2Coll(&g->tc->cmp_proc_finfo,
												   g->vcoll, a, b));
	}
}

static int
fetch_row_cmp(const void *a, const void *b, void *arg)
{
	const FetchRow *x = a;
	const FetchRow *y = b;
	GraphCtx   *g = arg;
	int			c;

	if (x->src != y->src)
		return x->src < y->src ? -1 : 1;
	c = fetch_dst_cmp(g, x->dst, y->dst);
	if (c != 0)
		return c;
	if (x->eid && y->eid)
	{
		c = strcmp(x->eid, y->eid);
		if (c != 0)
			return c;
	}
	if (x->wnull != y->wnull)
		return x->wnull ? 1 : -1;
	if (x->w != y->w)
		return x->w < y->w ? -1 : 1;
	return 0;
}

/* Rows of one graph_fetch, counted against the budget as they arrive. */
typedef struct FetchBuf
{
	FetchRow   *rows;
	int64		nrows;
	int64		maxrows;
	Size		accounted;
} FetchBuf;

static void
fetch_add(GraphCtx *g, FetchBuf *b, int32 src, Datum dst, char *eid,
		  bool wnull, double w)
{
	FetchRow   *row;
	MemoryContext old = MemoryContextSwitchTo(g->scratch);

	if (b->nrows >= b->maxrows)
	{
		int64		newmax = Max(b->maxrows * 2, 64);

		graph_account(g, sizeof(FetchRow) * (newmax - b->maxrows));
		b->accounted += sizeof(FetchRow) * (newmax - b->maxrows);
		if (b->rows == NULL)
			b->rows = palloc_extended(sizeof(FetchRow) * newmax, MCXT_ALLOC_HUGE);
		else
			b->rows = repalloc_huge(b->rows, sizeof(FetchRow) * newmax);
		b->maxrows = newmax;
	}
	row = &b->rows[b->nrows];
	row->src = src;
	if (!g->vtypbyval)
	{
		Size		sz;

		if (g->vtyplen == -1)
			dst = PointerGetDatum(PG_DETOAST_DATUM_PACKED(dst));
		dst = datumCopy(dst, false, g->vtyplen);
		sz = datumGetSize(dst, false, g->vtyplen);
		graph_account(g, sz);
		b->accounted += sz;
	}
	row->dst = dst;
	row->eid = eid;
	if (eid)
	{
		graph_account(g, strlen(eid) + 1);
		b->accounted += strlen(eid) + 1;
	}
	row->wnull = wnull;
	row->w = wnull ? g->opt.default_weight : w;
	if (!wnull && (!(w >= 0) || isinf(w)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("edge weight %g in column \"%s\" is not a finite number >= 0",
						w, g->opt.weight_col),
				 eid ? errdetail("The edge is %s.", eid) :
				 errdetail("The edge is at vertex %s.", vertex_text(g, g->v[src].value)),
				 errhint("Weights must be non-negative; exclude such edges with edge_filter.")));
	b->nrows++;
	MemoryContextSwitchTo(old);
}

static void
fetch_direct_row(GraphCtx *g, void *arg, int32 src, Datum nbr, char *eid,
				 bool wnull, double w)
{
	fetch_add(g, (FetchBuf *) arg, src, nbr, eid, wnull, w);
}

static int
vid_cmp(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/*
 * Put the rows of one fetch in adjacency order: grouped by frontier vertex
 * (in kvids order, or by vid when by_vid), each group by neighbour value,
 * edge id, weight.  A counting pass groups them (v->nadj[side] serves as
 * counter, then cursor; it is 0 again on return), so only the small groups
 * are sorted: a bitmap heap read returns a frontier's rows in heap order.
 */
static void
group_rows(GraphCtx *g, FetchBuf *b, const int32 *kvids, int nkeys, int side,
		   bool by_vid)
{
	int32	   *order = (int32 *) kvids;
	FetchRow   *tmp;
	int64		pos = 0;

	if (b->nrows <= 1)
		return;
	if (by_vid)
	{
		order = palloc(sizeof(int32) * nkeys);
		memcpy(order, kvids, sizeof(int32) * nkeys);
		qsort(order, nkeys, sizeof(int32), vid_cmp);
	}
	for (int i = 0; i < nkeys; i++)
	{
		g->v[order[i]].nadj[side] = 0;
		g->v[order[i]].flags |= GV_INFETCH;
	}
	for (int64 i = 0; i < b->nrows; i++)
	{
		GraphVertex *v = &g->v[b->rows[i].src];

		if (!(v->flags & GV_INFETCH))
			elog(ERROR, "edge row for a vertex that was not asked for");
		v->nadj[side]++;
	}
	for (int i = 0; i < nkeys; i++)
	{
		GraphVertex *v = &g->v[order[i]];
		int32		cnt = v->nadj[side];

		v->nadj[side] = pos;
		pos += cnt;
	}
	graph_account(g, sizeof(FetchRow) * b->nrows);
	b->accounted += sizeof(FetchRow) * b->nrows;
	tmp = palloc_extended(sizeof(FetchRow) * b->nrows, MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < b->nrows; i++)
		tmp[g->v[b->rows[i].src].nadj[side]++] = b->rows[i];
	pos = 0;
	for (int i = 0; i < nkeys; i++)
	{
		GraphVertex *v = &g->v[order[i]];
		int64		end = v->nadj[side];

		if (end - pos > 8)
			qsort_arg(tmp + pos, end - pos, sizeof(FetchRow), fetch_row_cmp, g);
		else
		{
			/* the usual few rows of a vertex: insertion sort */
			for (int64 a = pos + 1; a < end; a++)
			{
				FetchRow	x = tmp[a];
				int64		b = a;

				while (b > pos && fetch_row_cmp(&tmp[b - 1], &x, g) > 0)
				{
					tmp[b] = tmp[b - 1];
					b--;
				}
				tmp[b] = x;
			}
		}
		pos = end;
		v->nadj[side] = 0;
		v->flags &= ~GV_INFETCH;
	}
	pfree(b->rows);
	b->rows = tmp;
	if (by_vid)
		pfree(order);
}

/*
 * Load the adjacency (for search side "side") of every vid in vids that
 * does not have it yet: one execution of each prepared half-query per chunk
 * of keys, read through a cursor in batches so that SPI never holds more
 * than a batch of tuples (or the direct index path); the rows we keep are
 * counted against the budget.
 */
void
graph_fetch(GraphCtx *g, const int32 *vids, int n, int side)
{
	MemoryContext old;
	Datum	   *keys;
	int32	   *kvids;
	int			nkeys = 0;
	Datum		arr;
	FetchBuf	b = {NULL, 0, 0, 0};
	int			wcol = g->need_eid ? 4 : 3;
	int			dir = side_direction(g->direction, side);
	bool		intkey = vertex_int_key(g);

	CHECK_FOR_INTERRUPTS();
	old = MemoryContextSwitchTo(g->scratch);
	keys = palloc(sizeof(Datum) * Max(n, 1));
	kvids = palloc(sizeof(int32) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		GraphVertex *v = &g->v[vids[i]];

		if (v->fetched[side])
			continue;
		/* mark now so duplicates in vids are sent once */
		v->fetched[side] = true;
		v->nadj[side] = 0;
		v->adj[side] = NULL;
		kvids[nkeys] = vids[i];
		keys[nkeys++] = v->value;
	}
	if (nkeys == 0)
	{
		MemoryContextSwitchTo(old);
		MemoryContextReset(g->scratch);
		return;
	}

	if (g->direct)
	{
		for (int h = 0; h < 2; h++)
			if (g->plan[side][h])
				direct_read(g, h, kvids, nkeys, h == 1 && dir == GRAPH_ANY,
							true, fetch_direct_row, &b);
	}
	else
	{
		for (int off = 0; off < nkeys; off += GRAPH_KEYS_PER_QUERY)
		for (int h = 0; h < 2; h++)
		{
			Portal		portal;

			if (g->plan[side][h] == NULL)
				continue;
			MemoryContextSwitchTo(g->scratch);
			arr = PointerGetDatum(construct_array(keys + off,
												  Min(nkeys - off, GRAPH_KEYS_PER_QUERY),
												  g->vtype, g->vtyplen,
												  g->vtypbyval, g->vtypalign));
			portal = SPI_cursor_open(NULL, g->plan[side][h], &arr, NULL, true);
			g->nfetches++;
			for (;;)
			{
				SPITupleTable *tt;
				uint64		got;

				CHECK_FOR_INTERRUPTS();
				SPI_cursor_fetch(portal, true, GRAPH_FETCH_BATCH);
				tt = SPI_tuptable;
				got = SPI_processed;
				for (uint64 r = 0; r < got; r++)
				{
					HeapTuple	tup = tt->vals[r];
					bool		isnull;
					bool		wnull = true;
					Datum		key;
					Datum		dst;
					int32		src;
					char	   *eid = NULL;
					double		w = 0;

					key = SPI_getbinval(tup, tt->tupdesc, 1, &isnull);
					if (isnull)
						continue;
					dst = SPI_getbinval(tup, tt->tupdesc, 2, &isnull);
					if (isnull)
						continue;
					src = graph_vertex_lookup(g, key);
					if (src < 0)
						elog(ERROR, "edge query returned a vertex that was not asked for");
					if (g->need_eid)
					{
						Datum		e = SPI_getbinval(tup, tt->tupdesc, 3, &isnull);

						MemoryContextSwitchTo(g->scratch);
						eid = isnull ? "" : TextDatumGetCString(e);
					}
					if (g->has_weight)
					{
						Datum		wd = SPI_getbinval(tup, tt->tupdesc, wcol, &wnull);

						if (!wnull)
							w = DatumGetFloat8(wd);
					}
					fetch_add(g, &b, src, dst, eid, wnull, w);
				}
				SPI_freetuptable(tt);
				if (got == 0)
					break;
			}
			SPI_cursor_close(portal);
		}
	}

	MemoryContextSwitchTo(g->scratch);
	group_rows(g, &b, kvids, nkeys, side, !(g->direct && dir != GRAPH_ANY));

	for (int64 i = 0; i < b.nrows;)
	{
		int64		j = i;
		int32		src = b.rows[i].src;
		GraphAdj   *adj;

		while (j < b.nrows && b.rows[j].src == src)
			j++;
		graph_account(g, sizeof(GraphAdj) * (j - i) + 16);
		adj = MemoryContextAllocHuge(g->cxt, sizeof(GraphAdj) * (j - i));
		for (int64 k = i; k < j; k++)
		{
			GraphAdj   *a = &adj[k - i];

			if ((k & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
			if (intkey && k + GRAPH_PREFETCH_AHEAD < b.nrows)
				graph_prefetch(&g->vslots[vertex_hash(g, b.rows[k + GRAPH_PREFETCH_AHEAD].dst) &
										  g->vslotmask]);
			a->dst = graph_vertex(g, b.rows[k].dst, NULL);
			a->eid = g->need_eid ? edge_intern(g, b.rows[k].eid) : -1;
			a->w = b.rows[k].w;
		}
		g->v[src].adj[side] = adj;
		g->v[src].nadj[side] = j - i;
		i = j;
	}

	MemoryContextSwitchTo(old);
	MemoryContextReset(g->scratch);
	g->mem_used -= b.accounted;
}

static int
vid_value_cmp(const void *a, const void *b, void *arg)
{
	GraphCtx   *g = arg;

	return fetch_dst_cmp(g, g->v[*(const int32 *) a].value,
						 g->v[*(const int32 *) b].value);
}

/*
 * Order vids by vertex value (btree order), and set vals[i] to the value of
 * vids[i].  Integer types sort (value, vid) pairs with an inlined
 * comparison: a reachability step can return tens of thousands of new
 * vertices, and comparing through the vertex array misses the cache on
 * every probe (as would the caller reading the values back in that order).
 */
static void
sort_vids_by_value(GraphCtx *g, int32 *vids, int32 n, Datum *vals)
{
	VidKey	   *k;

	if (n >= 2 && !vertex_int_key(g))
		qsort_arg(vids, n, sizeof(int32), vid_value_cmp, g);
	if (n < 2 || !vertex_int_key(g))
	{
		for (int32 i = 0; i < n; i++)
			vals[i] = g->v[vids[i]].value;
		return;
	}
	graph_account(g, sizeof(VidKey) * n);
	k = MemoryContextAllocHuge(g->scratch, sizeof(VidKey) * n);
	for (int32 i = 0; i < n; i++)
	{
		k[i].value = g->v[vids[i]].value;
		k[i].key = DatumGetInt64(vertex_norm(g, k[i].value));
		k[i].vid = vids[i];
	}
	k = radix_sort_vid_keys(g, k, n);
	for (int32 i = 0; i < n; i++)
	{
		vids[i] = k[i].vid;
		vals[i] = k[i].value;
	}
	pfree(k);
	g->mem_used -= sizeof(VidKey) * n;
}

typedef struct NewBuf
{
	int32	   *out;
	int32		n;
	int32		max;
	bool		last;			/* no vids wanted: values may go to lv */
	Datum	   *lv;
	int32		nlv;
	int32		maxlv;
} NewBuf;

static void
fetch_new_row(GraphCtx *g, void *arg, int32 src, Datum nbr, char *eid,
			  bool wnull, double w)
{
	NewBuf	   *nb = arg;
	bool		found;
	int32		vid;
	uint64		bit = PG_UINT64_MAX;

	if (g->seen)
	{
		/* most edges lead to a vertex seen before: one bit says so */
		bit = (uint64) DatumGetInt64(vertex_norm(g, nbr)) - (uint64) g->seen_base;
		if (bit < GRAPH_SEEN_BITS && (g->seen[bit / 8] & (1 << (bit % 8))))
			return;
	}
	if (nb->last && bit < GRAPH_SEEN_BITS)
	{
		/*
		 * The last step of a reachability search: a new vertex is only
		 * reported, never expanded, so the bit is all the state it needs.
		 * (Every numbered vertex in the window has its bit: see
		 * graph_fetch_new.)
		 */
		g->seen[bit / 8] |= 1 << (bit % 8);
		if (nb->nlv >= nb->maxlv)
		{
			graph_account(g, sizeof(Datum) * nb->maxlv);
			nb->maxlv *= 2;
			nb->lv = repalloc_huge(nb->lv, sizeof(Datum) * nb->maxlv);
		}
		nb->lv[nb->nlv++] = nbr;
		return;
	}
	vid = graph_vertex(g, nbr, &found);
	if (bit < GRAPH_SEEN_BITS)
		g->seen[bit / 8] |= 1 << (bit % 8);
	if (found)
		return;
	if (nb->n >= nb->max)
	{
		graph_account(g, sizeof(int32) * nb->max);
		nb->max *= 2;
		nb->out = repalloc_huge(nb->out, sizeof(int32) * nb->max);
	}
	nb->out[nb->n++] = vid;
}

/*
 * Reachability step: number the neighbours of vids (side 0) that this call
 * has not seen before and return them sorted by value, with their values
 * in *newvals (both arrays counted against the budget).  When last (no
 * further step will expand them), *newv may be NULL instead: new vertices
 * then need not be numbered at all.  Nothing else is
 * kept: a step costs the index and heap reads of the frontier's edges and
 * one hash probe per edge (per distinct neighbour through SQL, whose SELECT
 * DISTINCT removes duplicates first).
 */
int32
graph_fetch_new(GraphCtx *g, const int32 *vids, int n, bool last,
				int32 **newv, Datum **newvals)
{
	MemoryContext old;
	Datum	   *keys;
	Datum		arr;
	int32	   *out;
	int32		nout = 0,
				maxout = 64;

	CHECK_FOR_INTERRUPTS();
	for (int h = 0; h < 2 && !g->direct; h++)
	{
		StringInfoData q;

		if (g->tplan[h] || !(g->direction & (h == 0 ? GRAPH_OUT : GRAPH_IN)))
			continue;
		initStringInfo(&q);
		appendStringInfo(&q, "SELECT DISTINCT e.%s FROM %s AS e WHERE e.%s = ANY ($1)",
						 h == 0 ? g->qto : g->qfrom, g->relname,
						 h == 0 ? g->qfrom : g->qto);
		if (g->opt.edge_filter)
			appendStringInfo(&q, " AND (%s)", g->opt.edge_filter);
		g->tplan[h] = SPI_prepare_cursor(q.data, 1, &g->plan_argtype,
									   CURSOR_OPT_GENERIC_PLAN);
		if (g->tplan[h] == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", q.data,
				 SPI_result_code_string(SPI_result));
	}

	out = MemoryContextAllocHuge(g->cxt, sizeof(int32) * maxout);
	if (g->direct && g->seen == NULL && vertex_int_key(g) && n > 0 &&
		g->mem_limit > g->mem_used + 4 * (GRAPH_SEEN_BITS / 8))
	{
		/*
		 * A window of keys around the first frontier's, for fetch_new_row;
		 * only when it takes no more than a quarter of what the budget has
		 * left (a small graph_work_mem does without it).
		 */
		int64		first = DatumGetInt64(vertex_norm(g, g->v[vids[0]].value));

		graph_account(g, GRAPH_SEEN_BITS / 8);
		g->seen = MemoryContextAllocZero(g->cxt, GRAPH_SEEN_BITS / 8);
		g->seen_base = first >= 0 && first < GRAPH_SEEN_BITS / 2 ? 0 :
			first - GRAPH_SEEN_BITS / 2;
		g->seen_nv = 0;
	}
	if (g->seen)
	{
		/*
		 * Vertices numbered elsewhere (the sources) get their bits too, so
		 * that a clear bit means "no vid" and the last step need not look.
		 */
		for (int32 i = g->seen_nv; i < g->nv; i++)
		{
			uint64		bit = (uint64) DatumGetInt64(vertex_norm(g, g->v[i].value)) -
				(uint64) g->seen_base;

			if (bit < GRAPH_SEEN_BITS)
				g->seen[bit / 8] |= 1 << (bit % 8);
		}
		g->seen_nv = g->nv;
	}
	if (g->direct)
	{
		NewBuf		nb = {out, 0, maxout, last && g->seen != NULL, NULL, 0, 64};
		VidKey	   *k;
		int32		nk;

		if (nb.last)
		{
			graph_account(g, sizeof(Datum) * nb.maxlv);
			nb.lv = MemoryContextAllocHuge(g->cxt, sizeof(Datum) * nb.maxlv);
		}
		for (int h = 0; h < 2; h++)
			if (g->direction & (h == 0 ? GRAPH_OUT : GRAPH_IN))
				direct_read(g, h, vids, n, false, false, fetch_new_row, &nb);
		graph_account(g, sizeof(Datum) * Max(nb.n + nb.nlv, 1));
		*newvals = MemoryContextAllocHuge(g->cxt, sizeof(Datum) * Max(nb.n + nb.nlv, 1));
		if (!nb.last)
		{
			sort_vids_by_value(g, nb.out, nb.n, *newvals);
			*newv = nb.out;
			return nb.n;
		}
		/* values only (an integer type): sort them, with or without vids */
		nk = nb.n + nb.nlv;
		graph_account(g, sizeof(VidKey) * Max(nk, 1));
		k = MemoryContextAllocHuge(g->scratch, sizeof(VidKey) * Max(nk, 1));
		for (int32 i = 0; i < nb.n; i++)
			k[i].value = g->v[nb.out[i]].value;
		for (int32 i = 0; i < nb.nlv; i++)
			k[nb.n + i].value = nb.lv[i];
		for (int32 i = 0; i < nk; i++)
		{
			k[i].key = DatumGetInt64(vertex_norm(g, k[i].value));
			k[i].vid = -1;
		}
		if (nk > 1)
			k = radix_sort_vid_keys(g, k, nk);
		for (int32 i = 0; i < nk; i++)
			(*newvals)[i] = k[i].value;
		pfree(k);
		g->mem_used -= sizeof(VidKey) * Max(nk, 1);
		pfree(nb.lv);
		pfree(nb.out);
		*newv = NULL;
		return nk;
	}
	old = MemoryContextSwitchTo(g->scratch);
	keys = palloc(sizeof(Datum) * Max(n, 1));
	for (int i = 0; i < n; i++)
		keys[i] = g->v[vids[i]].value;
	for (int off = 0; off < n; off += GRAPH_KEYS_PER_QUERY)
	for (int h = 0; h < 2; h++)
	{
		Portal		portal;

		if (g->tplan[h] == NULL)
			continue;
		MemoryContextSwitchTo(g->scratch);
		arr = PointerGetDatum(construct_array(keys + off,
											  Min(n - off, GRAPH_KEYS_PER_QUERY),
											  g->vtype, g->vtyplen,
											  g->vtypbyval, g->vtypalign));
		portal = SPI_cursor_open(NULL, g->tplan[h], &arr, NULL, true);
		g->nfetches++;
		for (;;)
		{
			SPITupleTable *tt;
			uint64		got;

			CHECK_FOR_INTERRUPTS();
			SPI_cursor_fetch(portal, true, GRAPH_FETCH_BATCH);
			tt = SPI_tuptable;
			got = SPI_processed;
			for (uint64 r = 0; r < got; r++)
			{
				bool		isnull;
				bool		found;
				Datum		d = SPI_getbinval(tt->vals[r], tt->tupdesc, 1, &isnull);
				int32		vid;

				if (isnull)
					continue;
				vid = graph_vertex(g, d, &found);
				if (found)
					continue;
				if (nout >= maxout)
				{
					graph_account(g, sizeof(int32) * maxout);
					maxout *= 2;
					out = repalloc_huge(out, sizeof(int32) * maxout);
				}
				out[nout++] = vid;
			}
			SPI_freetuptable(tt);
			if (got == 0)
				break;
		}
		SPI_cursor_close(portal);
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(g->scratch);
	graph_account(g, sizeof(Datum) * Max(nout, 1));
	*newvals = MemoryContextAllocHuge(g->cxt, sizeof(Datum) * Max(nout, 1));
	sort_vids_by_value(g, out, nout, *newvals);
	*newv = out;
	return nout;
}

/*
 * Edge ids for the n steps of a path found without them: step i goes from
 * u[i] to v[i] (along the call's direction) with weight w[i].  Of the
 * parallel edges that fit, the search used the one with the smallest id
 * (the fetch order), so that is the one reported.  One query for the path.
 */
void
graph_resolve_edges(GraphCtx *g, const int32 *u, const int32 *v,
					const double *w, int32 n, int32 *eids)
{
	StringInfoData q;
	Oid			argtypes[3];
	Datum		args[3];
	Datum	   *du,
			   *dv,
			   *dw;
	SPIPlanPtr	plan;
	int			ret;
	const char *fwd;
	const char *bwd;

	if (n <= 0)
		return;
	initStringInfo(&q);
	fwd = psprintf("(e.%s = k._edge_crdt_u AND e.%s = k._edge_crdt_v)", g->qfrom, g->qto);
	bwd = psprintf("(e.%s = k._edge_crdt_u AND e.%s = k._edge_crdt_v)", g->qto, g->qfrom);
	appendStringInfo(&q,
					 "SELECT DISTINCT ON (k._edge_crdt_i) k._edge_crdt_i, %s "
					 "FROM unnest($1, $2, $3) WITH ORDINALITY "
					 "AS k(_edge_crdt_u, _edge_crdt_v, _edge_crdt_w, _edge_crdt_i) "
					 "JOIN %s AS e ON %s",
					 g->eidexpr, g->relname,
					 g->direction == GRAPH_OUT ? fwd :
					 g->direction == GRAPH_IN ? bwd :
					 psprintf("(%s OR %s)", fwd, bwd));
	if (g->wexpr)
		appendStringInfo(&q, " AND coalesce(%s, %s) = k._edge_crdt_w", g->wexpr,
						 float8out_internal(g->opt.default_weight));
	if (g->opt.edge_filter)
		appendStringInfo(&q, " AND (%s)", g->opt.edge_filter);
	appendStringInfo(&q, " ORDER BY k._edge_crdt_i, (%s) COLLATE \"C\"", g->eidexpr);

	argtypes[0] = argtypes[1] = g->plan_argtype;
	argtypes[2] = FLOAT8ARRAYOID;
	du = palloc(sizeof(Datum) * n);
	dv = palloc(sizeof(Datum) * n);
	dw = palloc(sizeof(Datum) * n);
	for (int32 i = 0; i < n; i++)
	{
		du[i] = g->v[u[i]].value;
		dv[i] = g->v[v[i]].value;
		dw[i] = Float8GetDatum(w[i]);
	}
	args[0] = PointerGetDatum(construct_array(du, n, g->vtype, g->vtyplen,
											  g->vtypbyval, g->vtypalign));
	args[1] = PointerGetDatum(construct_array(dv, n, g->vtype, g->vtyplen,
											  g->vtypbyval, g->vtypalign));
	args[2] = PointerGetDatum(construct_array(dw, n, FLOAT8OID, 8,
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	plan = SPI_prepare(q.data, 3, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", q.data,
			 SPI_result_code_string(SPI_result));
	ret = SPI_execute_plan(plan, args, NULL, true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "edge id query failed: %s", SPI_result_code_string(ret));
	if (SPI_processed != (uint64) n)
		elog(ERROR, "edge id query found %llu of %d path edges",
			 (unsigned long long) SPI_processed, n);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		i = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
													SPI_tuptable->tupdesc, 1, &isnull));
		char	   *e = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

		eids[i - 1] = edge_intern(g, e ? e : "");
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_freeplan(plan);
}

/* Forget a vertex's adjacency once an algorithm no longer needs it. */
void
graph_release(GraphCtx *g, int32 vid, int side)
{
	GraphVertex *v = &g->v[vid];

	if (v->adj[side])
	{
		pfree(v->adj[side]);
		g->mem_used -= sizeof(GraphAdj) * v->nadj[side] + 16;
	}
	v->adj[side] = NULL;
	v->nadj[side] = 0;
	v->fetched[side] = false;
}

/*---- Binary heap on (cost, depth, seq) ----*/

static inline bool
heap_less(const GraphHeapEntry *a, const GraphHeapEntry *b)
{
	if (a->cost != b->cost)
		return a->cost < b->cost;
	if (a->depth != b->depth)
		return a->depth < b->depth;
	return a->seq < b->seq;
}

void
graph_heap_push(GraphCtx *g, GraphHeap *h, double cost, int32 depth,
				int32 seq, int32 item)
{
	int			i;

	if (h->n >= h->max)
	{
		int			newmax = h->max ? h->max * 2 : 64;

		graph_account(g, sizeof(GraphHeapEntry) * (newmax - h->max));
		if (h->a == NULL)
			h->a = MemoryContextAllocHuge(g->cxt, sizeof(GraphHeapEntry) * newmax);
		else
			h->a = repalloc_huge(h->a, sizeof(GraphHeapEntry) * newmax);
		h->max = newmax;
	}
	i = h->n++;
	h->a[i].cost = cost;
	h->a[i].depth = depth;
	h->a[i].seq = seq;
	h->a[i].item = item;
	while (i > 0)
	{
		int			p = (i - 1) / 2;
		GraphHeapEntry tmp;

		if (!heap_less(&h->a[i], &h->a[p]))
			break;
		tmp = h->a[i];
		h->a[i] = h->a[p];
		h->a[p] = tmp;
		i = p;
	}
}

GraphHeapEntry
graph_heap_pop(GraphHeap *h)
{
	GraphHeapEntry top = h->a[0];
	int			i = 0;

	h->a[0] = h->a[--h->n];
	for (;;)
	{
		int			l = 2 * i + 1,
					r = l + 1,
					m = i;
		GraphHeapEntry tmp;

		if (l < h->n && heap_less(&h->a[l], &h->a[m]))
			m = l;
		if (r < h->n && heap_less(&h->a[r], &h->a[m]))
			m = r;
		if (m == i)
			break;
		tmp = h->a[i];
		h->a[i] = h->a[m];
		h->a[m] = tmp;
		i = m;
	}
	return top;
}

/*---- Named graphs ----*/

/*
 * Look a named graph up in edge_crdt.graph; the strings outlive the call.
 * An untyped string literal resolves to the text (named graph) overload,
 * so when no graph has that name but a table does, that table is meant:
 * return false with *relid set and the defaults of the regclass form.
 */
bool
graph_lookup_named(const char *name, Oid *relid, GraphOptions *named,
				   bool *directed)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			ret;
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	Datum		d;

	args[0] = CStringGetTextDatum(name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args("SELECT edges, from_col, to_col, weight_col, directed "
								"FROM edge_crdt.graph WHERE name = $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "graph lookup failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		List	   *qname = stringToQualifiedNameList(name);
		Oid			tableid = RangeVarGetRelid(makeRangeVarFromNameList(qname),
											   NoLock, true);

		SPI_finish();
		if (OidIsValid(tableid))
		{
			*relid = tableid;
			*directed = true;
			memset(named, 0, sizeof(*named));
			return false;
		}
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("graph \"%s\" does not exist", name),
				 errhint("Create it with edge_crdt.graph_create(), or pass an edge table as regclass, e.g. 'my_edges'::regclass.")));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(named, 0, sizeof(*named));
	*relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	named->from_col = MemoryContextStrdup(caller, TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull)));
	named->to_col = MemoryContextStrdup(caller, TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)));
	d = SPI_getbinval(tup, desc, 4, &isnull);
	named->weight_col = isnull ? NULL : MemoryContextStrdup(caller, TextDatumGetCString(d));
	*directed = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	SPI_finish();
	return true;
}

/* Direction for a named graph: undirected graphs only go "any" way. */
int
graph_named_direction(text *direction, bool directed)
{
	int			dir;

	if (direction == NULL)
		return directed ? GRAPH_OUT : GRAPH_ANY;
	graph_parse_direction(text_to_cstring(direction), &dir);
	if (!directed && dir != GRAPH_ANY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for argument \"direction\": the graph is undirected"),
				 errhint("Leave direction NULL or use \"any\".")));
	return dir;
}

/* Named-graph entry points are not STRICT (direction defaults to NULL). */
void
graph_require_args(FunctionCallInfo fcinfo, int n, const char *const *names)
{
	for (int i = 0; i < n; i++)
		if (names[i] && PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not be null", names[i])));
}
