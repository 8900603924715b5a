/*-------------------------------------------------------------------------
 * graph.h
 *	  Graph helpers over ordinary edge tables (src/graph).
 *
 * Vocabulary.  An "edge table" is any table (regclass) with a from column
 * and a to column of the same type, the vertex type; a row is an edge.  A
 * "vertex id" (vid) is a dense int32 this call assigned to a vertex value
 * when it first met it; an "edge id" (eid) likewise numbers the text form of
 * an edge row's primary key (its ctid when there is none).  A "path node"
 * is one step of an enumerated path: parent node, vertex, edge, depth, cost.
 *
 * Nothing is loaded up front: the adjacency of a set of vertices is fetched
 * on demand with one prepared query "... WHERE from_col = ANY($1)" per
 * frontier step (or equivalent direct index and heap reads when SQL would
 * add nothing, see graph_common.c), through a btree index the caller must
 * have.
 * Memory used by vertices, adjacency and path nodes is counted against
 * edge_crdt.graph_work_mem.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/graph.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_GRAPH_H
#define EDGE_CRDT_GRAPH_H

#include "fmgr.h"
#include "executor/spi.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/typcache.h"

/* GUC: kB a single graph function call may use for its own state */
extern int	graph_work_mem;

/*
 * GUC: a frontier step over integer vertices whose edges exceed this share
 * of the table's estimated rows scans whole indexes (reachability) or, past
 * ten times the share, the whole heap, instead of looking up each vertex
 * (graph_common.c)
 */
extern double graph_scan_fraction;

/* Defines edge_crdt.graph_work_mem; called from _PG_init. */
extern void GraphDefineGucs(void);

/* Direction bits: which half-queries a frontier step runs. */
#define GRAPH_OUT		0x01
#define GRAPH_IN		0x02
#define GRAPH_ANY		(GRAPH_OUT | GRAPH_IN)

typedef enum GraphOrder
{
	GRAPH_ORDER_BFS,
	GRAPH_ORDER_DFS,
	GRAPH_ORDER_WEIGHTED
} GraphOrder;

typedef enum GraphUniq
{
	GRAPH_UNIQ_NONE,
	GRAPH_UNIQ_PATH,
	GRAPH_UNIQ_GLOBAL
} GraphUniq;

/* Option bits: which options a function accepts. */
#define GOPT_COLUMNS		0x0001	/* from_col, to_col */
#define GOPT_WEIGHT			0x0002	/* weight_col, default_weight */
#define GOPT_FILTER			0x0004	/* edge_filter */
#define GOPT_ORDER			0x0008	/* order */
#define GOPT_UNIQUE			0x0010	/* unique_vertices, unique_edges */
#define GOPT_MAX_ROWS		0x0020	/* max_rows */

typedef struct GraphOptions
{
	char	   *from_col;
	char	   *to_col;
	char	   *weight_col;
	char	   *edge_filter;
	double		default_weight;
	GraphOrder	order;
	GraphUniq	unique_vertices;
	GraphUniq	unique_edges;	/* GRAPH_UNIQ_PATH or GRAPH_UNIQ_NONE */
	int64		max_rows;		/* 0 = no limit */
} GraphOptions;

/* One fetched edge, seen from the vertex whose adjacency list holds it. */
typedef struct GraphAdj
{
	int32		dst;
	int32		eid;			/* -1 when edge ids were not asked for */
	double		w;
} GraphAdj;

/*
 * Per-vertex state.  Index [s] is the search side: 0 follows the call's
 * direction, 1 the reverse (the backward half of bidirectional Dijkstra).
 */
typedef struct GraphVertex
{
	Datum		value;
	uint32		hash;
	bool		fetched[2];
	int32		nadj[2];
	GraphAdj   *adj[2];
	/* algorithm scratch, owned by whichever algorithm runs */
	int32		depth[2];
	double		cost[2];
	int32		parent[2];		/* neighbouring vid on the path, -1 none */
	int32		peid[2];		/* edge to it */
	double		pw[2];			/* its weight */
	int32		stamp;
	uint8		flags;
} GraphVertex;

#define GV_VISITED		0x01
#define GV_SETTLED0		0x02
#define GV_SETTLED1		0x04
#define GV_SOURCE		0x08
#define GV_INFETCH		0x80	/* graph_common.c: key of the fetch under way */

/* vertex hash table slot; key is the value itself for integer types */
typedef struct GraphSlot
{
	Datum		key;
	uint32		hash;
	int32		id;				/* -1 = empty */
} GraphSlot;

/* key values covered by GraphCtx.seen (a 128 kB bitmap) */
#define GRAPH_SEEN_BITS		(1 << 20)

typedef struct GraphCtx
{
	MemoryContext caller;		/* current at graph_begin, restored at end */
	MemoryContext cxt;			/* everything below lives here */
	MemoryContext scratch;		/* reset per frontier step */
	Oid			relid;
	Oid			vtype;
	int16		vtyplen;
	bool		vtypbyval;
	char		vtypalign;
	Oid			vcoll;
	TypeCacheEntry *tc;
	int			direction;		/* GRAPH_OUT / GRAPH_IN / GRAPH_ANY */
	GraphOptions opt;
	bool		need_eid;
	bool		has_weight;		/* weight_col given */
	SPIPlanPtr	plan[2][2];		/* [side][half]: half 0 = out, 1 = in */
	SPIPlanPtr	tplan[2];		/* side 0 distinct-neighbour queries [half] */
	Oid			plan_argtype;	/* array of vtype, the queries' $1 */
	char	   *relname;		/* quoted, qualified */
	char	   *qfrom;			/* quoted column names */
	char	   *qto;
	char	   *eidexpr;		/* edge id as text, over alias e */
	/* direct index path (see direct_setup) */
	bool		direct;
	Relation	rel;			/* open while direct */
	Oid			dindex[2];		/* btree index per half */
	Oid			deqproc[2];		/* its equality function */
	Oid			dgeproc[2];		/* its >= and <= (integer key walks) */
	Oid			dleproc[2];
	Oid			dopfamily[2];
	Oid			dcoll[2];
	bool		dcover[2];		/* index holds every column a step reads */
	Oid			dpass[2];		/* btree led by the neighbour column, or 0 */
	AttrNumber	fatt;
	AttrNumber	tatt;
	AttrNumber	watt;
	Oid			wtype;
	AttrNumber	eid_att;		/* single-column primary key, or ctid */
	Oid			eid_out;
	bool		eid_varlena;
	char	   *wexpr;			/* weight as float8, NULL without weight_col */

	/* vertices */
	GraphVertex *v;
	int32		nv;
	int32		maxv;
	GraphSlot  *vslots;
	uint32		vslotmask;

	/* interned edge ids */
	char	  **e;
	int32		ne;
	int32		maxe;
	int32	   *eslots;
	uint32		eslotmask;

	/*
	 * Reachability over an integer vertex type (graph_fetch_new): a bit per
	 * key value in [seen_base, seen_base + GRAPH_SEEN_BITS), set for every
	 * key that has a vid -- or, in the last step, once it was reported -- so
	 * an edge to a vertex seen before costs no hash probe, and a clear bit
	 * means a new vertex.  NULL when unused.
	 */
	uint8	   *seen;
	int64		seen_base;
	int32		seen_nv;		/* vids [0, seen_nv) have their bits set */

	Size		mem_used;
	Size		mem_limit;
	int64		nfetches;		/* executed half-queries, for tests */
} GraphCtx;

/* One step of an enumerated path. */
typedef struct GraphPathNode
{
	int32		parent;
	int32		vid;
	int32		eid;
	int32		depth;
	double		cost;
	double		w;
} GraphPathNode;

/* graph_common.c */
extern void graph_parse_direction(const char *s, int *dir);
extern GraphCtx *graph_begin(Oid relid, Oid vtype, const char *argname,
							 int direction, Jsonb *options, int allowed,
							 bool need_eid, int sides,
							 const GraphOptions *named);
extern void graph_end(GraphCtx *g);
extern int32 graph_vertex(GraphCtx *g, Datum value, bool *found);
extern int32 graph_vertex_lookup(GraphCtx *g, Datum value);
extern void graph_fetch(GraphCtx *g, const int32 *vids, int n, int side);
extern void graph_resolve_edges(GraphCtx *g, const int32 *u, const int32 *v,
								const double *w, int32 n, int32 *eids);
extern int32 graph_fetch_new(GraphCtx *g, const int32 *vids, int n,
							 bool last, int32 **newv, Datum **newvals);
extern void graph_release(GraphCtx *g, int32 vid, int side);
extern void graph_account(GraphCtx *g, Size bytes);
extern int	graph_compare_vertices(GraphCtx *g, int32 a, int32 b);
extern Datum graph_vertex_array(GraphCtx *g, const int32 *vids, int n);
extern Datum graph_edge_array(GraphCtx *g, const int32 *eids, int n);
extern Datum graph_edge_text(GraphCtx *g, int32 eid);
extern void graph_check_depths(int min_depth, int max_depth);
extern bool graph_lookup_named(const char *name, Oid *relid,
							   GraphOptions *named, bool *directed);
extern int	graph_named_direction(text *direction, bool directed);
extern void graph_require_args(FunctionCallInfo fcinfo, int n,
							   const char *const *names);

/* a binary heap of (cost, depth, seq) keyed entries, graph_common.c */
typedef struct GraphHeapEntry
{
	double		cost;
	int32		depth;
	int32		seq;
	int32		item;
} GraphHeapEntry;

typedef struct GraphHeap
{
	GraphHeapEntry *a;
	int			n;
	int			max;
} GraphHeap;

extern void graph_heap_push(GraphCtx *g, GraphHeap *h, double cost,
							int32 depth, int32 seq, int32 item);
extern GraphHeapEntry graph_heap_pop(GraphHeap *h);

#endif							/* EDGE_CRDT_GRAPH_H */
