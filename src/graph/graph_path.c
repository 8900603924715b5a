/*-------------------------------------------------------------------------
 * graph_path.c
 *	  edge_crdt.shortest_path and edge_crdt.k_shortest_paths.
 *
 * shortest_path: without a weight column every edge costs default_weight
 * and a breadth-first search from the source stops as soon as it discovers
 * the target.  With a weight column it is a bidirectional Dijkstra: a
 * forward search along the call's direction from the source and a backward
 * search along the reverse direction from the target, each fetching the
 * adjacency of the vertices near the top of its heap in one query, stopping
 * when the two heap tops together cost at least the best meeting path.
 * Ties are broken by fewer edges, then by the order entries were pushed,
 * which is deterministic because the adjacency order is.
 *
 * k_shortest_paths: Yen's algorithm over a one-directional Dijkstra whose
 * fetched adjacency is kept for the whole call (spur searches revisit the
 * same vertices).  Loopless paths, by cost, ties by fewer edges then by the
 * order candidates were found.
 *
 * Output rows: seq 1 is the source with a NULL edge_id and cost 0; each
 * following row is the next vertex, the edge that reached it, that edge's
 * cost and the cost so far.
 *
 * IDENTIFICATION
 *	  src/graph/graph_path.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "edge_crdt/graph.h"

#define PATH_OPTIONS	(GOPT_COLUMNS | GOPT_WEIGHT | GOPT_FILTER)
#define PATH_PREFETCH	512

typedef struct GraphPath
{
	int32		n;				/* vertices; edges are n - 1 */
	int32	   *v;
	int32	   *e;
	double	   *w;
	double		cost;
	int32		seq;
} GraphPath;

static void
emit_path(GraphCtx *g, ReturnSetInfo *rsi, const GraphPath *p, int path_id)
{
	double		agg = 0;
	int			off = path_id > 0 ? 1 : 0;

	for (int32 i = 0; i < p->n; i++)
	{
		Datum		values[6];
		bool		nulls[6] = {false, false, false, false, false, false};
		MemoryContext old = MemoryContextSwitchTo(g->scratch);

		CHECK_FOR_INTERRUPTS();
		if (off)
			values[0] = Int32GetDatum(path_id);
		values[off + 0] = Int32GetDatum(i + 1);
		values[off + 1] = g->v[p->v[i]].value;
		if (i == 0)
		{
			nulls[off + 2] = true;
			values[off + 2] = (Datum) 0;
			values[off + 3] = Float8GetDatum(0);
		}
		else
		{
			values[off + 2] = graph_edge_text(g, p->e[i - 1]);
			values[off + 3] = Float8GetDatum(p->w[i - 1]);
			agg += p->w[i - 1];
		}
		values[off + 4] = Float8GetDatum(agg);
		tuplestore_putvalues(rsi->setResult, rsi->setDesc, values, nulls);
		MemoryContextSwitchTo(old);
		MemoryContextReset(g->scratch);
	}
}

static GraphPath *
path_alloc(GraphCtx *g, int32 n)
{
	GraphPath  *p = MemoryContextAllocZero(g->cxt, sizeof(GraphPath));

	graph_account(g, sizeof(GraphPath) + (sizeof(int32) * 2 + sizeof(double)) * n);
	p->n = n;
	p->v = MemoryContextAlloc(g->cxt, sizeof(int32) * n);
	p->e = MemoryContextAlloc(g->cxt, sizeof(int32) * Max(n - 1, 1));
	p->w = MemoryContextAlloc(g->cxt, sizeof(double) * Max(n - 1, 1));
	return p;
}

/* Walk side-0 parent pointers back from t to s. */
static GraphPath *
path_from_parents(GraphCtx *g, int32 s, int32 t)
{
	int32		n = 1;
	GraphPath  *p;

	for (int32 x = t; x != s; x = g->v[x].parent[0])
		n++;
	p = path_alloc(g, n);
	for (int32 x = t, i = n - 1; i >= 0; x = g->v[x].parent[0], i--)
	{
		p->v[i] = x;
		if (i > 0)
		{
			p->e[i - 1] = g->v[x].peid[0];
			p->w[i - 1] = g->v[x].pw[0];
			p->cost += g->v[x].pw[0];
		}
	}
	return p;
}

static GraphPath *
sp_bfs(GraphCtx *g, int32 s, int32 t)
{
	int32	   *cur,
			   *next;
	int32		ncur = 1;

	g->v[s].flags |= GV_VISITED;
	cur = MemoryContextAlloc(g->cxt, sizeof(int32));
	cur[0] = s;
	while (ncur > 0)
	{
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
				GraphVertex *d = &g->v[a->dst];

				if (d->flags & GV_VISITED)
					continue;
				d->flags |= GV_VISITED;
				d->parent[0] = cur[i];
				d->peid[0] = a->eid;
				d->pw[0] = a->w;
				if (a->dst == t)
					return path_from_parents(g, s, t);
				if (nnext >= maxnext)
				{
					graph_account(g, sizeof(int32) * maxnext);
					maxnext *= 2;
					next = repalloc_huge(next, sizeof(int32) * maxnext);
				}
				next[nnext++] = a->dst;
			}
			graph_release(g, cur[i], 0);
		}
		pfree(cur);
		cur = next;
		ncur = nnext;
	}
	return NULL;
}

static void
prefetch(GraphCtx *g, int32 vid, GraphHeap *h, int side, uint8 skip)
{
	int32		vids[PATH_PREFETCH + 1];
	int			n = 0;

	if (g->v[vid].fetched[side])
		return;
	vids[n++] = vid;
	for (int i = 0; i < h->n && n <= PATH_PREFETCH; i++)
	{
		int32		w = h->a[i].item;

		if (!g->v[w].fetched[side] && !(g->v[w].flags & skip))
			vids[n++] = w;
	}
	graph_fetch(g, vids, n, side);
}

static GraphPath *
sp_bidijkstra(GraphCtx *g, int32 s, int32 t)
{
	GraphHeap	h[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
	uint8		settled[2] = {GV_SETTLED0, GV_SETTLED1};
	double		mu = get_float8_infinity();
	int32		meet = -1;
	int32		seq = 0;
	int32		n,
				i;
	GraphPath  *p;

	g->v[s].cost[0] = 0;
	g->v[s].depth[0] = 0;
	g->v[t].cost[1] = 0;
	g->v[t].depth[1] = 0;
	graph_heap_push(g, &h[0], 0, 0, seq++, s);
	graph_heap_push(g, &h[1], 0, 0, seq++, t);

	while (h[0].n > 0 && h[1].n > 0)
	{
		int			side;
		GraphHeapEntry top;
		int32		vid;
		GraphVertex *v;

		CHECK_FOR_INTERRUPTS();
		if (h[0].a[0].cost + h[1].a[0].cost >= mu)
			break;
		side = h[1].a[0].cost < h[0].a[0].cost ? 1 : 0;
		top = graph_heap_pop(&h[side]);
		vid = top.item;
		if (g->v[vid].flags & settled[side])
			continue;
		g->v[vid].flags |= settled[side];
		prefetch(g, vid, &h[side], side, settled[side]);
		v = &g->v[vid];
		for (int32 k = 0; k < v->nadj[side]; k++)
		{
			GraphAdj   *a = &g->v[vid].adj[side][k];
			GraphVertex *d = &g->v[a->dst];
			double		c = top.cost + a->w;

			if (d->flags & settled[side])
				continue;
			if (c < d->cost[side] ||
				(c == d->cost[side] && top.depth + 1 < d->depth[side]))
			{
				d->cost[side] = c;
				d->depth[side] = top.depth + 1;
				d->parent[side] = vid;
				d->peid[side] = a->eid;
				d->pw[side] = a->w;
				graph_heap_push(g, &h[side], c, top.depth + 1, seq++, a->dst);
			}
			if (d->cost[0] + d->cost[1] < mu)
			{
				mu = d->cost[0] + d->cost[1];
				meet = a->dst;
			}
		}
		graph_release(g, vid, side);
	}
	if (meet < 0)
		return NULL;

	/* source .. meet along forward parents, meet .. target along backward */
	n = 1;
	for (int32 x = meet; x != s; x = g->v[x].parent[0])
		n++;
	for (int32 x = meet; x != t; x = g->v[x].parent[1])
		n++;
	p = path_alloc(g, n);
	i = 0;
	for (int32 x = meet; x != s; x = g->v[x].parent[0])
		i++;
	for (int32 x = meet, j = i; j >= 0; x = g->v[x].parent[0], j--)
	{
		p->v[j] = x;
		if (j > 0)
		{
			p->e[j - 1] = g->v[x].peid[0];
			p->w[j - 1] = g->v[x].pw[0];
		}
	}
	for (int32 x = meet; x != t; x = g->v[x].parent[1])
	{
		p->e[i] = g->v[x].peid[1];
		p->w[i] = g->v[x].pw[1];
		p->v[++i] = g->v[x].parent[1];
	}
	for (int32 j = 0; j < n - 1; j++)
		p->cost += p->w[j];
	return p;
}

static Datum
shortest_path_impl(FunctionCallInfo fcinfo, Oid relid, int dir,
				   Jsonb *options, const GraphOptions *named)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			ttype = get_fn_expr_argtype(fcinfo->flinfo, 2);
	GraphCtx   *g;
	int32		s,
				t;
	GraphPath  *p;
	bool		weighted;

	if (vtype != ttype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("argument \"target\" has type %s but argument \"source\" has type %s",
						format_type_be(ttype), format_type_be(vtype))));
	InitMaterializedSRF(fcinfo, 0);
	/* peek at weight_col: the backward search needs the reverse index */
	g = graph_begin(relid, vtype, "source", dir, options, PATH_OPTIONS,
					false, 1, named);
	weighted = g->has_weight;
	if (weighted)
	{
		graph_end(g);
		g = graph_begin(relid, vtype, "source", dir, options, PATH_OPTIONS,
						false, 2, named);
	}
	s = graph_vertex(g, PG_GETARG_DATUM(1), NULL);
	t = graph_vertex(g, PG_GETARG_DATUM(2), NULL);
	if (s == t)
	{
		p = path_alloc(g, 1);
		p->v[0] = s;
	}
	else if (weighted)
		p = sp_bidijkstra(g, s, t);
	else
		p = sp_bfs(g, s, t);
	if (p)
	{
		/* the search ran without edge ids: look up those of the path */
		graph_resolve_edges(g, p->v, p->v + 1, p->w, p->n - 1, p->e);
		emit_path(g, rsi, p, 0);
	}
	graph_end(g);
	return (Datum) 0;
}

static int
path_direction(FunctionCallInfo fcinfo, int argno)
{
	int			dir;

	graph_parse_direction(text_to_cstring(PG_GETARG_TEXT_PP(argno)), &dir);
	return dir;
}

/*
 * shortest_path(edges regclass, source anyelement, target anyelement,
 *				 direction text, options jsonb)
 */
PG_FUNCTION_INFO_V1(graph_shortest_path_sql);
Datum
graph_shortest_path_sql(PG_FUNCTION_ARGS)
{
	return shortest_path_impl(fcinfo, PG_GETARG_OID(0), path_direction(fcinfo, 3),
							  PG_GETARG_JSONB_P(4), NULL);
}

/* shortest_path(graph text, source, target, direction, options) */
PG_FUNCTION_INFO_V1(graph_shortest_path_named_sql);
Datum
graph_shortest_path_named_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;
	GraphOptions named;
	bool		is_graph;
	bool		directed;
	int			dir;

	static const char *const names[] = {"graph", "source", "target"};

	graph_require_args(fcinfo, 3, names);
	is_graph = graph_lookup_named(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  &relid, &named, &directed);
	dir = graph_named_direction(PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3), directed);
	return shortest_path_impl(fcinfo, relid, dir,
							  PG_ARGISNULL(4) ? NULL : PG_GETARG_JSONB_P(4),
						 is_graph ? &named : NULL);
}

/*---- Yen ----*/

/*
 * One-directional Dijkstra from s to t for Yen's spur searches.  Per-run
 * marks avoid clearing every vertex between runs: stamp == run means
 * "reached in this run", depth[1] == run "settled", parent[1] == run
 * "banned".  Banned edges are few (one per accepted path sharing the root),
 * so a linear list does.
 */
static GraphPath *
sp_dijkstra_yen(GraphCtx *g, int32 s, int32 t, int32 run,
				const int32 *banned_e, int nbanned_e)
{
	GraphHeap	h = {NULL, 0, 0};
	int32		seq = 0;
	GraphPath  *p = NULL;

	g->v[s].stamp = run;
	g->v[s].cost[0] = 0;
	g->v[s].depth[0] = 0;
	graph_heap_push(g, &h, 0, 0, seq++, s);
	while (h.n > 0)
	{
		GraphHeapEntry top = graph_heap_pop(&h);
		int32		vid = top.item;
		GraphVertex *v;

		CHECK_FOR_INTERRUPTS();
		if (g->v[vid].depth[1] == run)
			continue;
		g->v[vid].depth[1] = run;
		if (vid == t)
		{
			p = path_from_parents(g, s, t);
			break;
		}
		prefetch(g, vid, &h, 0, 0);
		v = &g->v[vid];
		for (int32 k = 0; k < v->nadj[0]; k++)
		{
			GraphAdj   *a = &g->v[vid].adj[0][k];
			GraphVertex *d = &g->v[a->dst];
			double		c = top.cost + a->w;
			bool		banned = false;

			if (d->parent[1] == run || d->depth[1] == run)
				continue;
			for (int b = 0; b < nbanned_e; b++)
				if (banned_e[b] == a->eid)
					banned = true;
			if (banned)
				continue;
			if (d->stamp != run ||
				c < d->cost[0] ||
				(c == d->cost[0] && top.depth + 1 < d->depth[0]))
			{
				d->stamp = run;
				d->cost[0] = c;
				d->depth[0] = top.depth + 1;
				d->parent[0] = vid;
				d->peid[0] = a->eid;
				d->pw[0] = a->w;
				graph_heap_push(g, &h, c, top.depth + 1, seq++, a->dst);
			}
		}
	}
	if (h.a)
	{
		g->mem_used -= sizeof(GraphHeapEntry) * h.max;
		pfree(h.a);
	}
	return p;
}

static bool
path_same(const GraphPath *a, const GraphPath *b)
{
	if (a->n != b->n)
		return false;
	for (int32 i = 0; i < a->n - 1; i++)
		if (a->e[i] != b->e[i] || a->v[i] != b->v[i])
			return false;
	return true;
}

static bool
path_better(const GraphPath *a, const GraphPath *b)
{
	if (a->cost != b->cost)
		return a->cost < b->cost;
	if (a->n != b->n)
		return a->n < b->n;
	return a->seq < b->seq;
}

static Datum
k_shortest_impl(FunctionCallInfo fcinfo, Oid relid, int k, int dir,
				Jsonb *options, const GraphOptions *named)
{
	ReturnSetInfo *rsi = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			vtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	Oid			ttype = get_fn_expr_argtype(fcinfo->flinfo, 2);
	GraphCtx   *g;
	int32		s,
				t;
	GraphPath **A,
			  **B;
	int			nA = 0,
				nB = 0,
				maxB = 64;
	int32		run = 0;
	int32	   *banned;
	int32		seq = 0;

	if (k < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"k\" must be at least 1")));
	if (vtype != ttype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("argument \"target\" has type %s but argument \"source\" has type %s",
						format_type_be(ttype), format_type_be(vtype))));
	InitMaterializedSRF(fcinfo, 0);
	g = graph_begin(relid, vtype, "source", dir, options, PATH_OPTIONS,
					true, 1, named);
	s = graph_vertex(g, PG_GETARG_DATUM(1), NULL);
	t = graph_vertex(g, PG_GETARG_DATUM(2), NULL);
	graph_account(g, sizeof(GraphPath *) * ((Size) k + maxB));
	A = MemoryContextAllocHuge(g->cxt, sizeof(GraphPath *) * k);
	B = MemoryContextAllocHuge(g->cxt, sizeof(GraphPath *) * maxB);
	banned = MemoryContextAllocHuge(g->cxt, sizeof(int32) * k);

	if (s == t)
	{
		A[nA] = path_alloc(g, 1);
		A[nA++]->v[0] = s;
	}
	else
	{
		GraphPath  *first = sp_dijkstra_yen(g, s, t, ++run, NULL, 0);

		if (first)
			A[nA++] = first;
	}

	while (nA > 0 && nA < k && s != t)
	{
		GraphPath  *prev = A[nA - 1];
		int			best;

		for (int32 i = 0; i < prev->n - 1; i++)
		{
			int			nbanned = 0;
			GraphPath  *spur;
			GraphPath  *cand;
			double		rootcost = 0;
			bool		dup = false;

			CHECK_FOR_INTERRUPTS();
			run++;
			/* edges leaving the spur vertex on accepted paths with this root */
			for (int a = 0; a < nA; a++)
			{
				bool		same = A[a]->n > i + 1;

				for (int32 j = 0; same && j < i; j++)
					if (A[a]->v[j] != prev->v[j] || A[a]->e[j] != prev->e[j])
						same = false;
				if (same && A[a]->v[i] == prev->v[i])
					banned[nbanned++] = A[a]->e[i];
			}
			/* root vertices (not the spur) are off limits */
			for (int32 j = 0; j < i; j++)
				g->v[prev->v[j]].parent[1] = run;
			spur = sp_dijkstra_yen(g, prev->v[i], t, run, banned, nbanned);
			if (spur == NULL)
				continue;
			cand = path_alloc(g, i + spur->n);
			for (int32 j = 0; j < i; j++)
			{
				cand->v[j] = prev->v[j];
				cand->e[j] = prev->e[j];
				cand->w[j] = prev->w[j];
				rootcost += prev->w[j];
			}
			for (int32 j = 0; j < spur->n; j++)
			{
				cand->v[i + j] = spur->v[j];
				if (j < spur->n - 1)
				{
					cand->e[i + j] = spur->e[j];
					cand->w[i + j] = spur->w[j];
				}
			}
			cand->cost = rootcost + spur->cost;
			cand->seq = seq++;
			for (int b = 0; b < nB && !dup; b++)
				dup = path_same(B[b], cand);
			for (int a = 0; a < nA && !dup; a++)
				dup = path_same(A[a], cand);
			if (dup)
				continue;
			if (nB >= maxB)
			{
				graph_account(g, sizeof(GraphPath *) * maxB);
				maxB *= 2;
				B = repalloc_huge(B, sizeof(GraphPath *) * maxB);
			}
			B[nB++] = cand;
		}
		if (nB == 0)
			break;
		best = 0;
		for (int b = 1; b < nB; b++)
			if (path_better(B[b], B[best]))
				best = b;
		A[nA++] = B[best];
		B[best] = B[--nB];
	}

	for (int a = 0; a < nA; a++)
		emit_path(g, rsi, A[a], a + 1);
	graph_end(g);
	return (Datum) 0;
}

/*
 * k_shortest_paths(edges regclass, source anyelement, target anyelement,
 *					k int, direction text, options jsonb)
 */
PG_FUNCTION_INFO_V1(graph_k_shortest_paths_sql);
Datum
graph_k_shortest_paths_sql(PG_FUNCTION_ARGS)
{
	return k_shortest_impl(fcinfo, PG_GETARG_OID(0), PG_GETARG_INT32(3),
						   path_direction(fcinfo, 4), PG_GETARG_JSONB_P(5), NULL);
}

/* k_shortest_paths(graph text, source, target, k, direction, options) */
PG_FUNCTION_INFO_V1(graph_k_shortest_paths_named_sql);
Datum
graph_k_shortest_paths_named_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;
	GraphOptions named;
	bool		is_graph;
	bool		directed;
	int			dir;

	static const char *const names[] = {"graph", "source", "target", "k"};

	graph_require_args(fcinfo, 4, names);
	is_graph = graph_lookup_named(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								  &relid, &named, &directed);
	dir = graph_named_direction(PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4), directed);
	return k_shortest_impl(fcinfo, relid, PG_GETARG_INT32(3), dir,
						   PG_ARGISNULL(5) ? NULL : PG_GETARG_JSONB_P(5),
						 is_graph ? &named : NULL);
}
