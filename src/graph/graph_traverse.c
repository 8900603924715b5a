/*-------------------------------------------------------------------------
 * graph_traverse.c
 *	  edge_crdt.traverse, edge_crdt.neighbors and edge_crdt.reachable.
 *
 * traverse enumerates paths (a tree of path nodes, each pointing at its
 * parent), in one of three orders:
 *	 bfs		level by level; one fetch per level for the whole frontier;
 *				rows come out by depth, then in discovery order;
 *	 dfs		preorder; one fetch per expanded vertex (a depth-first order
 *				cannot batch); children in adjacency order;
 *	 weighted	uniform-cost: paths by increasing cost, ties by fewer edges,
 *				then by creation order of the path node (which follows the
 *				deterministic adjacency order).  Adjacency is prefetched for
 *				the vertices near the top of the heap in one query.
 * unique_vertices "global" visits each vertex once (reachability, a tree),
 * "path" forbids a vertex twice on one path, "none" allows it; unique_edges
 * "path" forbids an edge twice on one path.  Adjacency order is neighbour
 * value (btree order of the vertex type), then edge id (text, bytewise).
 *
 * reachable keeps only a visited set (no paths): BFS without a weight
 * column, Dijkstra with one, and a depth-bounded Bellman-Ford when both a
 * weight column and max_depth are given (cheapest cost with at most
 * max_depth edges).
 *
 * IDENTIFICATION
 *	  src/graph/graph_traverse.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "edge_crdt/graph.h"

#define TRAVERSE_OPTIONS	(GOPT_COLUMNS | GOPT_WEIGHT | GOPT_FILTER | \
							 GOPT_ORDER | GOPT_UNIQUE | GOPT_MAX_ROWS)
#define NEIGHBOR_OPTIONS	(GOPT_COLUMNS | GOPT_WEIGHT | GOPT_FILTER | GOPT_MAX_ROWS)
#define REACHABLE_OPTIONS	(GOPT_COLUMNS | GOPT_WEIGHT | GOPT_FILTER | GOPT_MAX_ROWS)

/* prefetch this many heap entries' vertices along with the one popped */
#define GRAPH_PREFETCH		256

typedef struct Trav
{
	GraphCtx   *g;
	ReturnSetInfo *rsi;
	GraphPathNode *n;
	int32		nn;
	int32		maxn;
	int			min_depth;
	int			max_depth;
	int64		rows;
	bool		done;
	int32	   *pv;				/* path buffers for emit */
	int32	   *pe;
	int			pcap;
} Trav;

static int32
trav_add(Trav *t, int32 parent, int32 vid, int32 eid, double w)
{
	GraphPathNode *p;

	if (t->nn >= t->maxn)
	{
		int32		newmax = t->maxn ? t->maxn * 2 : 256;

		graph_account(t->g, sizeof(GraphPathNode) * (newmax - t->maxn));
		if (t->n == NULL)
			t->n = MemoryContextAllocHuge(t->g->cxt, sizeof(GraphPathNode) * newmax);
		else
			t->n = repalloc_huge(t->n, sizeof(GraphPathNode) * newmax);
		t->maxn = newmax;
	}
	p = &t->n[t->nn];
	p->parent = parent;
	p->vid = vid;
	p->eid = eid;
	p->w = w;
	p->depth = parent < 0 ? 0 : t->n[parent].depth + 1;
	p->cost = parent < 0 ? 0 : t->n[parent].cost + w;
	return t->nn++;
}

static bool
trav_allowed(Trav *t, int32 p, const GraphAdj *a)
{
	GraphOptions *o = &t->g->opt;

	if (o->unique_vertices == GRAPH_UNIQ_GLOBAL)
		return !(t->g->v[a->dst].flags & GV_VISITED);
	if (o->unique_vertices == GRAPH_UNIQ_PATH)
	{
		for (int32 x = p; x >= 0; x = t->n[x].parent)
			if (t->n[x].vid == a->dst)
				return false;
	}
	if (o->unique_edges == GRAPH_UNIQ_PATH)
	{
		for (int32 x = p; x >= 0 && t->n[x].parent >= 0; x = t->n[x].parent)
			if (t->n[x].eid == a->eid)
				return false;
	}
	return true;
}

static void
trav_emit(Trav *t, int32 p)
{
	GraphPathNode *node = &t->n[p];
	int			d = node->depth;
	Datum		values[5];
	bool		nulls[5] = {false, false, false, false, false};
	int32		x;
	MemoryContext old;

	if (d < t->min_depth || t->done)
		return;
	if (d + 1 > t->pcap)
	{
		int			cap = Max(d + 1, t->pcap * 2);

		graph_account(t->g, sizeof(int32) * 2 * (cap - t->pcap));
		t->pv = t->pv ? repalloc(t->pv, sizeof(int32) * cap) :
			MemoryContextAlloc(t->g->cxt, sizeof(int32) * cap);
		t->pe = t->pe ? repalloc(t->pe, sizeof(int32) * cap) :
			MemoryContextAlloc(t->g->cxt, sizeof(int32) * cap);
		t->pcap = cap;
	}
	x = p;
	for (int i = d; i >= 0; i--)
	{
		t->pv[i] = t->n[x].vid;
		if (i > 0)
			t->pe[i - 1] = t->n[x].eid;
		x = t->n[x].parent;
	}
	old = MemoryContextSwitchTo(t->g->scratch);
	values[0] = Int32GetDatum(d);
	values[1] = t->g->v[node->vid].value;
	values[2] = graph_edge_array(t->g, t->pe, d);
	values[3] = graph_vertex_array(t->g, t->pv, d + 1);
	values[4] = Float8GetDatum(node->cost);
	tuplestore_putvalues(t->rsi->setResult, t->rsi->setDesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(t->g->scratch);
	t->rows++;
	if (t->g->opt.max_rows > 0 && t->rows >= t->g->opt.max_rows)
		t->done = true;
}

static void
trav_bfs(Trav *t, int32 root)
{
	GraphCtx   *g = t->g;
	bool		global = g->opt.unique_vertices == GRAPH_UNIQ_GLOBAL;
	int32	   *cur,
			   *next,
			   *vids;
	int32		ncur = 1,
				maxcur = 16;

	cur = MemoryContextAlloc(g->cxt, sizeof(int32) * maxcur);
	cur[0] = root;
	trav_emit(t, root);

	for (int d = 0; d < t->max_depth && ncur > 0 && !t->done; d++)
	{
		int32		nnext = 0,
					maxnext = 64;

		CHECK_FOR_INTERRUPTS();
		vids = MemoryContextAlloc(g->cxt, sizeof(int32) * ncur);
		for (int32 i = 0; i < ncur; i++)
			vids[i] = t->n[cur[i]].vid;
		graph_fetch(g, vids, ncur, 0);

		next = MemoryContextAlloc(g->cxt, sizeof(int32) * maxnext);
		for (int32 i = 0; i < ncur && !t->done; i++)
		{
			int32		p = cur[i];
			GraphVertex *v = &g->v[t->n[p].vid];
			GraphAdj   *adj = v->adj[0];
			int32		nadj = v->nadj[0];

			CHECK_FOR_INTERRUPTS();
			for (int32 k = 0; k < nadj && !t->done; k++)
			{
				int32		c;

				if (!trav_allowed(t, p, &adj[k]))
					continue;
				if (global)
					g->v[adj[k].dst].flags |= GV_VISITED;
				c = trav_add(t, p, adj[k].dst, adj[k].eid, adj[k].w);
				trav_emit(t, c);
				if (d + 1 < t->max_depth)
				{
					if (nnext >= maxnext)
					{
						graph_account(g, sizeof(int32) * maxnext);
						maxnext *= 2;
						next = repalloc_huge(next, sizeof(int32) * maxnext);
					}
					next[nnext++] = c;
				}
			}
		}
		/* each vertex is expanded once in global mode: drop its edges */
		if (global)
			for (int32 i = 0; i < ncur; i++)
				graph_release(g, vids[i], 0);
		pfree(vids);
		pfree(cur);
		cur = next;
		ncur = nnext;
	}
}

static void
trav_dfs(Trav *t, int32 root)
{
	GraphCtx   *g = t->g;
	bool		global = g->opt.unique_vertices == GRAPH_UNIQ_GLOBAL;
	int32	   *stack;
	int32		nstack = 0,
				maxstack = 64;

	stack = MemoryContextAlloc(g->cxt, sizeof(int32) * maxstack);
	stack[nstack++] = root;
	while (nstack > 0 && !t->done)
	{
		int32		p = stack[--nstack];
		int32		vid = t->n[p].vid;
		GraphVertex *v;

		CHECK_FOR_INTERRUPTS();
		if (global)
		{
			if (g->v[vid].flags & GV_VISITED)
				continue;
			g->v[vid].flags |= GV_VISITED;
		}
		trav_emit(t, p);
		if (t->n[p].depth >= t->max_depth)
			continue;
		graph_fetch(g, &vid, 1, 0);
		v = &g->v[vid];
		for (int32 k = v->nadj[0] - 1; k >= 0; k--)
		{
			GraphAdj   *a = &g->v[vid].adj[0][k];

			if (!trav_allowed(t, p, a))
				continue;
			if (nstack >= maxstack)
			{
				graph_account(g, sizeof(int32) * maxstack);
				maxstack *= 2;
				stack = repalloc_huge(stack, sizeof(int32) * maxstack);
			}
			stack[nstack++] = trav_add(t, p, a->dst, a->eid, a->w);
		}
		if (global)
			graph_release(g, vid, 0);
	}
}

/*
 * Fetch the adjacency of vid, and with it that of the unfetched vertices
 * near the top of the heap: they are the next ones expanded, so one query
 * serves many pops.  skip_flags excludes vertices that will not be expanded.
 */
static void
prefetch_heap(GraphCtx *g, int32 vid, GraphHeap *h, int side,
			  const GraphPathNode *nodes, uint8 skip_flags)
{
	int32		vids[GRAPH_PREFETCH + 1];
	int			n = 0;

	if (g->v[vid].fetched[side])
		return;
	vids[n++] = vid;
	for (int i = 0; i < h->n && n <= GRAPH_PREFETCH; i++)
	{
		int32		w = nodes ? nodes[h->a[i].item].vid : h->a[i].item;

		if (!g->v[w].fetched[side] && !(g->v[w].flags & skip_flags))
			vids[n++] = w;
	}
	graph_fetch(g, vids, n, side);
}

static void
trav_weighted(Trav *t, int32 root)
{
	GraphCtx   *g = t->g;
	bool		global = g->opt.unique_vertices == GRAPH_UNIQ_GLOBAL;
	GraphHeap	h = {NULL, 0, 0};

	graph_heap_push(g, &h, 0, 0, root, root);
	while (h.n > 0 && !t->done)
	{
		GraphHeapEntry top = graph_heap_pop(&h);
		int32		p = top.item;
		int32		vid = t->n[p].vid;
		GraphVertex *v;

		CHECK_FOR_INTERRUPTS();
		if (global)
		{
			if (g->v[vid].flags & GV_VISITED)
				continue;
			g->v[vid].flags |= GV_VISITED;
		}
		trav_emit(t, p);
		if (t->n[p].depth >= t->max_depth)
			continue;
		prefetch_heap(g, vid, &h, 0, t->n, global ? GV_VISITED : 0);
		v = &g->v[vid];
		for (int32 k = 0; k < v->nadj[0]; k++)
		{
			GraphAdj   *a = &g->v[vid].adj[0][k];
			int32		c;

			if (!trav_allowed(t, p, a))
				continue;
			c = trav_add(t, p, a->dst, a->eid, a->w);
			graph_heap_push(g, &h, t->n[c].cost, t->n[c].depth, c, c);
		}
		if (global)
			graph_release(g, vid, 0);
	}
}

static int
arg_direction(FunctionCallInfo fcinfo, int argno)
{
	int			dir;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"direction\" must not be null")));
	graph_parse_direction(text_to_cstring(PG_GETARG_TEXT_PP(argno)), &dir);
	return dir;
}

static Datum
traverse_impl(FunctionCallInfo fcinfo, Oid relid, Datum start, int min_depth,
			  int max_depth, int dir, Jsonb *options, const GraphOptions *named)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	GraphCtx   *g;
	Trav		t;
	int32		root;

	graph_check_depths(min_depth, max_depth);
	InitMaterializedSRF(fcinfo, 0);
	g = graph_begin(relid, vtype, "start", dir, options, TRAVERSE_OPTIONS,
					true, 1, named);
	memset(&t, 0, sizeof(t));
	t.g = g;
	t.rsi = rsi;
	t.min_depth = min_depth;
	t.max_depth = max_depth;

	root = graph_vertex(g, start, NULL);
	root = trav_add(&t, -1, root, -1, 0);
	if (g->opt.unique_vertices == GRAPH_UNIQ_GLOBAL && g->opt.order == GRAPH_ORDER_BFS)
		g->v[t.n[root].vid].flags |= GV_VISITED;

	switch (g->opt.order)
	{
		case GRAPH_ORDER_BFS:
			trav_bfs(&t, root);
			break;
		case GRAPH_ORDER_DFS:
			trav_dfs(&t, root);
			break;
		case GRAPH_ORDER_WEIGHTED:
			trav_weighted(&t, root);
			break;
	}
	graph_end(g);
	return (Datum) 0;
}

/*
 * traverse(edges regclass, start anyelement, min_depth int, max_depth int,
 *			direction text, options jsonb)
 */
PG_FUNCTION_INFO_V1(graph_traverse_sql);
Datum
graph_traverse_sql(PG_FUNCTION_ARGS)
{
	return traverse_impl(fcinfo, PG_GETARG_OID(0), PG_GETARG_DATUM(1),
						 PG_GETARG_INT32(2), PG_GETARG_INT32(3),
						 arg_direction(fcinfo, 4), PG_GETARG_JSONB_P(5), NULL);
}

/* traverse(graph text, start anyelement, min_depth, max_depth, direction, options) */
PG_FUNCTION_INFO_V1(graph_traverse_named_sql);
Datum
graph_traverse_named_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;
	GraphOptions named;
	bool		is_graph;
	bool		directed;
	int			dir;

	static const char *const names[] = {"graph", "start", "min_depth", "max_depth"};

	graph_require_args(fcinfo, 4, names);
	is_graph = graph_lookup_named(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  &relid, &named, &directed);
	dir = graph_named_direction(PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4), directed);
	return traverse_impl(fcinfo, relid, PG_GETARG_DATUM(1),
						 PG_GETARG_INT32(2), PG_GETARG_INT32(3), dir,
						 PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5),
						 is_graph ? &named : NULL);
}

static Datum
neighbors_impl(FunctionCallInfo fcinfo, Oid relid, Datum vertex, int dir,
			   Jsonb *options, const GraphOptions *named)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	GraphCtx   *g;
	int32		vid;
	GraphVertex *v;

	InitMaterializedSRF(fcinfo, 0);
	g = graph_begin(relid, vtype, "vertex", dir, options, NEIGHBOR_OPTIONS,
					true, 1, named);
	vid = graph_vertex(g, vertex, NULL);
	graph_fetch(g, &vid, 1, 0);
	v = &g->v[vid];
	for (int32 k = 0; k < v->nadj[0]; k++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		CHECK_FOR_INTERRUPTS();
		if (g->opt.max_rows > 0 && k >= g->opt.max_rows)
			break;
		values[0] = g->v[v->adj[0][k].dst].value;
		values[1] = graph_edge_text(g, v->adj[0][k].eid);
		values[2] = Float8GetDatum(v->adj[0][k].w);
		tuplestore_putvalues(rsi->setResult, rsi->setDesc, values, nulls);
	}
	graph_end(g);
	return (Datum) 0;
}

/* neighbors(edges regclass, vertex anyelement, direction text, options jsonb) */
PG_FUNCTION_INFO_V1(graph_neighbors_sql);
Datum
graph_neighbors_sql(PG_FUNCTION_ARGS)
{
	return neighbors_impl(fcinfo, PG_GETARG_OID(0), PG_GETARG_DATUM(1),
						  arg_direction(fcinfo, 2), PG_GETARG_JSONB_P(3), NULL);
}

/* neighbors(graph text, vertex anyelement, direction text, options jsonb) */
PG_FUNCTION_INFO_V1(graph_neighbors_named_sql);
Datum
graph_neighbors_named_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;
	GraphOptions named;
	bool		is_graph;
	bool		directed;
	int			dir;

	static const char *const names[] = {"graph", "vertex"};

	graph_require_args(fcinfo, 2, names);
	is_graph = graph_lookup_named(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  &relid, &named, &directed);
	dir = graph_named_direction(PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2), directed);
	return neighbors_impl(fcinfo, relid, PG_GETARG_DATUM(1), dir,
						  PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3),
						 is_graph ? &named : NULL);
}

/*---- reachable ----*/

typedef struct Reach
{
	GraphCtx   *g;
	ReturnSetInfo *rsi;
	int64		rows;
	bool		done;
	/* a row of fixed-length by-value columns, rewritten in place per row */
	HeapTuple	tmpl;
	char	   *colptr[3];
	int16		collen[3];
} Reach;

/*
 * Reachability can return most of a graph: when every result column is a
 * fixed-length by-value type, form one tuple up front and store a copy of
 * it per row with the values written in place, instead of forming each row
 * from scratch (sizing, zeroing, filling).
 */
static void
reach_prepare_rows(Reach *r)
{
	TupleDesc	desc = r->rsi->setDesc;
	Datum		values[3] = {0, 0, 0};
	bool		nulls[3] = {false, false, false};
	char	   *data;
	Size		off = 0;

	if (desc->natts != 3)
		return;
	for (int i = 0; i < 3; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		if (a->attisdropped || !a->attbyval || a->attlen <= 0)
			return;
	}
	r->tmpl = heap_form_tuple(desc, values, nulls);
	data = (char *) r->tmpl->t_data + r->tmpl->t_data->t_hoff;
	for (int i = 0; i < 3; i++)
	{
		Form_pg_attribute a = TupleDescAttr(desc, i);

		off = att_align_nominal(off, a->attalign);
		r->colptr[i] = data + off;
		r->collen[i] = a->attlen;
		off += a->attlen;
	}
}

static void
reach_emit(Reach *r, Datum value, int32 depth, double cost)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (r->done)
		return;
	values[0] = value;
	values[1] = Int32GetDatum(depth);
	values[2] = Float8GetDatum(cost);
	if (r->tmpl)
	{
		for (int i = 0; i < 3; i++)
			store_att_byval(r->colptr[i], values[i], r->collen[i]);
		tuplestore_puttuple(r->rsi->setResult, r->tmpl);
	}
	else
		tuplestore_putvalues(r->rsi->setResult, r->rsi->setDesc, values, nulls);
	r->rows++;
	if (r->g->opt.max_rows > 0 && r->rows >= r->g->opt.max_rows)
		r->done = true;
}

/*
 * Unweighted reachability: a visited set and nothing else.  Every vertex in
 * the table is visited, so a step only needs the neighbours it has not
 * numbered yet; rows come out by depth, then by vertex value.
 */
static void
reach_bfs(Reach *r, int32 *src, int32 nsrc, int max_depth, bool has_max_cost,
		  double max_cost)
{
	GraphCtx   *g = r->g;
	double		w = g->opt.default_weight;
	int32	   *cur = src,
			   *next;
	Datum	   *vals = NULL;
	int32		ncur = nsrc;

	for (int32 i = 0; i < nsrc; i++)
		reach_emit(r, g->v[src[i]].value, 0, 0);
	for (int d = 0; (max_depth < 0 || d < max_depth) && ncur > 0 && !r->done; d++)
	{
		int32		nnext;

		CHECK_FOR_INTERRUPTS();
		if (has_max_cost && (d + 1) * w > max_cost)
			break;
		if (vals)
		{
			pfree(vals);
			g->mem_used -= sizeof(Datum) * Max(ncur, 1);
		}
		nnext = graph_fetch_new(g, cur, ncur, d + 1 == max_depth, &next, &vals);
		for (int32 i = 0; i < nnext && !r->done; i++)
		{
			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
			reach_emit(r, vals[i], d + 1, (d + 1) * w);
		}
		if (cur != src)
			pfree(cur);
		if (next == NULL)
			break;				/* the last step: nothing to expand */
		cur = next;
		ncur = nnext;
	}
}

static void
reach_dijkstra(Reach *r, int32 *src, int32 nsrc, bool has_max_cost,
			   double max_cost)
{
	GraphCtx   *g = r->g;
	GraphHeap	h = {NULL, 0, 0};
	int32		seq = 0;

	for (int32 i = 0; i < nsrc; i++)
	{
		g->v[src[i]].cost[0] = 0;
		g->v[src[i]].depth[0] = 0;
		graph_heap_push(g, &h, 0, 0, seq++, src[i]);
	}
	while (h.n > 0 && !r->done)
	{
		GraphHeapEntry top = graph_heap_pop(&h);
		int32		vid = top.item;
		GraphVertex *v;

		CHECK_FOR_INTERRUPTS();
		if (g->v[vid].flags & GV_SETTLED0)
			continue;
		g->v[vid].flags |= GV_SETTLED0;
		reach_emit(r, g->v[vid].value, top.depth, top.cost);
		prefetch_heap(g, vid, &h, 0, NULL, GV_SETTLED0);
		v = &g->v[vid];
		for (int32 k = 0; k < v->nadj[0]; k++)
		{
			GraphAdj   *a = &g->v[vid].adj[0][k];
			GraphVertex *d = &g->v[a->dst];
			double		c = top.cost + a->w;

			if (has_max_cost && c > max_cost)
				continue;
			if (d->flags & GV_SETTLED0)
				continue;
			if (c < d->cost[0] || (c == d->cost[0] && top.depth + 1 < d->depth[0]))
			{
				d->cost[0] = c;
				d->depth[0] = top.depth + 1;
				graph_heap_push(g, &h, c, top.depth + 1, seq++, a->dst);
			}
		}
		graph_release(g, vid, 0);
	}
}

static int
reach_cmp(const void *a, const void *b, void *arg)
{
	GraphCtx   *g = arg;
	const GraphVertex *x = &g->v[*(const int32 *) a];
	const GraphVertex *y = &g->v[*(const int32 *) b];

	if (x->cost[0] != y->cost[0])
		return x->cost[0] < y->cost[0] ? -1 : 1;
	if (x->depth[0] != y->depth[0])
		return x->depth[0] < y->depth[0] ? -1 : 1;
	return *(const int32 *) a < *(const int32 *) b ? -1 : 1;
}

/*
 * Cheapest cost using at most max_depth edges: level-synchronous relaxation,
 * each level relaxing only from vertices whose cost improved in the level
 * before (with the cost they had then).
 */
static void
reach_bounded(Reach *r, int32 *src, int32 nsrc, int max_depth,
			  bool has_max_cost, double max_cost)
{
	GraphCtx   *g = r->g;
	int32	   *cur,
			   *all;
	double	   *curcost;
	int32		ncur = 0,
				nall = 0,
				maxall = 64;

	all = MemoryContextAllocHuge(g->cxt, sizeof(int32) * maxall);
	cur = MemoryContextAllocHuge(g->cxt, sizeof(int32) * Max(nsrc, 1));
	curcost = MemoryContextAllocHuge(g->cxt, sizeof(double) * Max(nsrc, 1));
	for (int32 i = 0; i < nsrc; i++)
	{
		g->v[src[i]].cost[0] = 0;
		g->v[src[i]].depth[0] = 0;
		g->v[src[i]].flags |= GV_VISITED;
		all[nall++] = src[i];
		cur[ncur] = src[i];
		curcost[ncur++] = 0;
	}
	for (int d = 0; d < max_depth && ncur > 0; d++)
	{
		int32	   *next;
		int32		nnext = 0,
					maxnext = 64;

		CHECK_FOR_INTERRUPTS();
		graph_fetch(g, cur, ncur, 0);
		next = MemoryContextAllocHuge(g->cxt, sizeof(int32) * maxnext);
		for (int32 i = 0; i < ncur; i++)
		{
			GraphVertex *v = &g->v[cur[i]];

			CHECK_FOR_INTERRUPTS();
			for (int32 k = 0; k < v->nadj[0]; k++)
			{
				GraphAdj   *a = &v->adj[0][k];
				GraphVertex *dv = &g->v[a->dst];
				double		c = curcost[i] + a->w;

				if (has_max_cost && c > max_cost)
					continue;
				if (!(c < dv->cost[0]))
					continue;
				dv->cost[0] = c;
				dv->depth[0] = d + 1;
				if (!(dv->flags & GV_VISITED))
				{
					dv->flags |= GV_VISITED;
					if (nall >= maxall)
					{
						graph_account(g, sizeof(int32) * maxall);
						maxall *= 2;
						all = repalloc_huge(all, sizeof(int32) * maxall);
					}
					all[nall++] = a->dst;
				}
				if (dv->stamp != d + 1)
				{
					dv->stamp = d + 1;
					if (nnext >= maxnext)
					{
						graph_account(g, sizeof(int32) * maxnext);
						maxnext *= 2;
						next = repalloc_huge(next, sizeof(int32) * maxnext);
					}
					next[nnext++] = a->dst;
				}
			}
		}
		pfree(cur);
		pfree(curcost);
		cur = next;
		ncur = nnext;
		graph_account(g, sizeof(double) * ncur);
		g->mem_used -= sizeof(double) * ncur;
		curcost = MemoryContextAllocHuge(g->cxt, sizeof(double) * Max(ncur, 1));
		for (int32 i = 0; i < ncur; i++)
			curcost[i] = g->v[cur[i]].cost[0];
	}

	qsort_arg(all, nall, sizeof(int32), reach_cmp, g);
	for (int32 i = 0; i < nall && !r->done; i++)
	{
		if ((i & 4095) == 0)
			CHECK_FOR_INTERRUPTS();
		reach_emit(r, g->v[all[i]].value, g->v[all[i]].depth[0], g->v[all[i]].cost[0]);
	}
}

static Datum
reachable_impl(FunctionCallInfo fcinfo, Oid relid, const GraphOptions *named,
			   int dir, Jsonb *options)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			atype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			vtype = get_element_type(atype);
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *enulls;
	int			nelems;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			max_depth = -1;
	bool		has_max_cost = !PG_ARGISNULL(3);
	double		max_cost = has_max_cost ? PG_GETARG_FLOAT8(3) : 0;
	GraphCtx   *g;
	Reach		r;
	int32	   *src;
	int32		nsrc = 0;

	if (!PG_ARGISNULL(2))
	{
		max_depth = PG_GETARG_INT32(2);
		if (max_depth < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"max_depth\" must not be negative")));
	}
	if (has_max_cost && !(max_cost >= 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"max_cost\" must not be negative")));
	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(1))
		return (Datum) 0;
	arr = PG_GETARG_ARRAYTYPE_P(1);
	get_typlenbyvalalign(vtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, vtype, typlen, typbyval, typalign,
					  &elems, &enulls, &nelems);

	g = graph_begin(relid, vtype, "sources", dir, options, REACHABLE_OPTIONS,
					false, 1, named);
	memset(&r, 0, sizeof(r));
	r.g = g;
	r.rsi = rsi;
	reach_prepare_rows(&r);
	src = MemoryContextAllocHuge(g->cxt, sizeof(int32) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
	{
		bool		found;
		int32		vid;

		if (enulls[i])
			continue;
		vid = graph_vertex(g, elems[i], &found);
		if (found)
			continue;
		g->v[vid].flags |= GV_VISITED;
		src[nsrc++] = vid;
	}

	if (!g->has_weight)
		reach_bfs(&r, src, nsrc, max_depth, has_max_cost, max_cost);
	else if (max_depth < 0)
		reach_dijkstra(&r, src, nsrc, has_max_cost, max_cost);
	else
	{
		for (int32 i = 0; i < nsrc; i++)
			g->v[src[i]].flags &= ~GV_VISITED;
		reach_bounded(&r, src, nsrc, max_depth, has_max_cost, max_cost);
	}
	graph_end(g);
	return (Datum) 0;
}

static Jsonb *
arg_options(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_JSONB_P(argno);
}

/*
 * reachable(edges regclass, sources anyarray, max_depth int, max_cost float8,
 *			 direction text, options jsonb)
 */
PG_FUNCTION_INFO_V1(graph_reachable_sql);
Datum
graph_reachable_sql(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"edges\" must not be null")));
	return reachable_impl(fcinfo, PG_GETARG_OID(0), NULL,
						  arg_direction(fcinfo, 4), arg_options(fcinfo, 5));
}

/* reachable(graph text, sources anyarray, max_depth, max_cost, direction, options) */
PG_FUNCTION_INFO_V1(graph_reachable_named_sql);
Datum
graph_reachable_named_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;
	GraphOptions named;
	bool		is_graph;
	bool		directed;
	int			dir;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"graph\" must not be null")));
	is_graph = graph_lookup_named(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  &relid, &named, &directed);
	dir = graph_named_direction(PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4), directed);
	return reachable_impl(fcinfo, relid, is_graph ? &named : NULL, dir,
						  arg_options(fcinfo, 5));
}
