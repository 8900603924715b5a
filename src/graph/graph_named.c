/*-------------------------------------------------------------------------
 * graph_named.c
 *	  edge_crdt.graph_create: register a named graph in edge_crdt.graph.
 *
 * A named graph fixes the edge table, its from/to/weight columns and
 * whether it is directed, so queries can say traverse('roads', ...).  The
 * registration is validated exactly as a query would be (columns, vertex
 * type, indexes for the directions an undirected or directed graph uses).
 *
 * IDENTIFICATION
 *	  src/graph/graph_named.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "edge_crdt/graph.h"

/*
 * graph_create(name text, edges regclass, from_col text, to_col text,
 *				weight_col text, directed bool)
 */
PG_FUNCTION_INFO_V1(graph_create_sql);
Datum
graph_create_sql(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"name", "edges", "from_col", "to_col", NULL, "directed"};
	Oid			relid;
	GraphOptions named;
	AttrNumber	att;
	GraphCtx   *g;
	bool		directed;
	Oid			argtypes[6] = {TEXTOID, REGCLASSOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			ret;

	graph_require_args(fcinfo, 6, names);
	relid = PG_GETARG_OID(1);
	memset(&named, 0, sizeof(named));
	named.from_col = text_to_cstring(PG_GETARG_TEXT_PP(2));
	named.to_col = text_to_cstring(PG_GETARG_TEXT_PP(3));
	named.weight_col = PG_ARGISNULL(4) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(4));
	directed = PG_GETARG_BOOL(5);

	att = get_attnum(relid, named.from_col);
	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						named.from_col, get_rel_name(relid)),
				 errdetail("Argument \"from_col\" names it.")));
	g = graph_begin(relid, get_atttype(relid, att), "from_col",
					directed ? GRAPH_OUT : GRAPH_ANY, NULL, 0, false, 1, &named);
	graph_end(g);

	for (int i = 0; i < 6; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		if (PG_ARGISNULL(i))
			nulls[i] = 'n';
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	ret = SPI_execute_with_args("INSERT INTO edge_crdt.graph "
								"(name, edges, from_col, to_col, weight_col, directed) "
								"VALUES ($1, $2, $3, $4, $5, $6)",
								6, argtypes, args, nulls, false, 0);
	if (ret != SPI_OK_INSERT)
		elog(ERROR, "graph insert failed: %s", SPI_result_code_string(ret));
	SPI_finish();
	PG_RETURN_VOID();
}
