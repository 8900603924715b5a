/*-------------------------------------------------------------------------
 * trigger.c
 *	  The capture triggers of replicated tables: stamp every local write
 *	  with its causal length and column versions, keep tombstones, refuse
 *	  what would make nodes diverge.
 *
 * NOTES
 *	  The trigger is a BEFORE ROW trigger so that it can rewrite the row:
 *	  whatever a client put into the metadata column is replaced.  It does
 *	  not fire in session_replication_role = replica, which is how the apply
 *	  writes remote rows with their own metadata.
 *
 *	  Completeness (DESIGN.md section 2): an UPDATE that leaves a TOASTed
 *	  column unchanged would reach the WAL -- and so the output plugin --
 *	  without that column's value.  The trigger therefore replaces every
 *	  unchanged out-of-line value with its fetched (still compressed) form,
 *	  which makes heap_update write it out again.  That costs a rewrite of
 *	  the large values of every updated row (measured in test/bench) and
 *	  buys change sets that merge on their own, on a peer that never saw the
 *	  original value.
 *
 *	  A primary-key change is a delete of the old key (tombstone) plus an
 *	  insert of the new one: the new key's row starts with fresh versions.
 *
 * IDENTIFICATION
 *	  src/capture/trigger.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/datum.h"
#include "utils/rel.h"

#include "edge_crdt/hlc.h"
#include "edge_crdt/node.h"
#include "edge_crdt/relinfo.h"
#include "edge_crdt/rowmeta.h"
#include "edge_crdt/tombstone.h"

static bool values_equal(Datum a, Datum b, Form_pg_attribute att);
static void check_inflation(Relation rel, ReplColumn *col, Form_pg_attribute att,
							Datum oldval, bool oldnull, Datum newval, bool newnull);
static char *expand_hint(const char *hint, const char *column);

/*
 * Same value?  Identical bytes first (an unchanged TOAST pointer compares
 * equal without fetching anything), then the detoasted images.
 */
static bool
values_equal(Datum a, Datum b, Form_pg_attribute att)
{
	if (att->attlen == -1)
	{
		struct varlena *va = (struct varlena *) DatumGetPointer(a);
		struct varlena *vb = (struct varlena *) DatumGetPointer(b);

		if (VARSIZE_ANY(va) == VARSIZE_ANY(vb) &&
			memcmp(va, vb, VARSIZE_ANY(va)) == 0)
			return true;
	}
	return datum_image_eq(a, b, att->attbyval, att->attlen);
}

static char *
expand_hint(const char *hint, const char *column)
{
	StringInfoData buf;
	const char *p = hint;
	const char *tok;

	initStringInfo(&buf);
	while ((tok = strstr(p, "{column}")) != NULL)
	{
		appendBinaryStringInfo(&buf, p, tok - p);
		appendStringInfoString(&buf, column);
		p = tok + strlen("{column}");
	}
	appendStringInfoString(&buf, p);
	return buf.data;
}

/*
 * A local write to a CRDT column must not lose what other nodes
 * contributed: the new state has to be above the old one in the lattice.
 */
static void
check_inflation(Relation rel, ReplColumn *col, Form_pg_attribute att,
				Datum oldval, bool oldnull, Datum newval, bool newnull)
{
	bool		ok;

	if (oldnull)
		return;
	if (newnull)
		ok = false;
	else
		ok = DatumGetBool(FunctionCall2Coll(&col->leq_finfo, InvalidOid,
											oldval, newval));
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot assign to replicated CRDT column \"%s\" of table \"%s\"",
						NameStr(att->attname), RelationGetRelationName(rel)),
				 errdetail("The new value does not include the old one, so the assignment would discard changes made on other nodes."),
				 errhint("%s", expand_hint(col->inflation_hint, NameStr(att->attname)))));
}

PG_FUNCTION_INFO_V1(capture_trigger);
Datum
capture_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	ReplRelInfo *info;
	CrdtVersion now;
	CrdtVersion *versions;
	Datum	   *repl_values;
	bool	   *repl_nulls;
	int		   *repl_cols;
	int			nrepl = 0;
	HeapTuple	newtuple;
	int64		cl;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("capture_trigger: not called by trigger manager")));
	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("capture_trigger must be fired BEFORE ... FOR EACH ROW")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	info = ReplRelInfoGet(rel);
	if (!info->replicated)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" is not replicated", RelationGetRelationName(rel)),
				 errhint("Use edge_crdt.replicate_table() to set up replication; do not attach capture_trigger by hand.")));

	now.node = EdgeCrdtLocalNodeId(false);
	now.hlc = HlcNow();

	if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		bool		isnull;
		Datum		m = heap_getattr(old, info->meta_attnum, desc, &isnull);
		int64		oldcl = isnull ? 1 : rowmeta_cl(DatumGetRowMeta(m));

		TombstoneWrite(info->relid, TombstoneKeyFromTuple(info, desc, old),
					   oldcl + 1, now, InvalidXLogRecPtr);
		return PointerGetDatum(old);
	}

	versions = palloc0(sizeof(CrdtVersion) * desc->natts);
	repl_values = palloc(sizeof(Datum) * (desc->natts + 1));
	repl_nulls = palloc0(sizeof(bool) * (desc->natts + 1));
	repl_cols = palloc(sizeof(int) * (desc->natts + 1));

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		newtuple = trigdata->tg_trigtuple;
		cl = TombstoneNextAliveCl(TombstoneLookupWithFloor(info->relid,
														   TombstoneKeyFromTuple(info, desc, newtuple)));
		for (i = 0; i < desc->natts; i++)
			if (info->columns[i].live)
				versions[i] = now;
	}
	else
	{
		HeapTuple	old = trigdata->tg_trigtuple;
		bytea	   *oldkey;
		bytea	   *newkey;
		bool		isnull;
		Datum		m;

		bool		key_changed = false;

		newtuple = trigdata->tg_newtuple;
		m = heap_getattr(old, info->meta_attnum, desc, &isnull);

		/*
		 * Encoding the keys costs a send function call per key column, so
		 * only do it when some key column's image changed at all.
		 */
		for (i = 0; i < info->npk && !key_changed; i++)
		{
			AttrNumber	attnum = info->pk_attnums[i];
			bool		n1,
						n2;
			Datum		v1 = heap_getattr(old, attnum, desc, &n1);
			Datum		v2 = heap_getattr(newtuple, attnum, desc, &n2);

			key_changed = n1 != n2 ||
				!values_equal(v1, v2, TupleDescAttr(desc, attnum - 1));
		}
		if (key_changed)
		{
			oldkey = TombstoneKeyFromTuple(info, desc, old);
			newkey = TombstoneKeyFromTuple(info, desc, newtuple);
			key_changed = VARSIZE(oldkey) != VARSIZE(newkey) ||
				memcmp(oldkey, newkey, VARSIZE(oldkey)) != 0;
		}

		if (key_changed)
		{
			/* Key change: the old row dies, a new incarnation is born. */
			TombstoneWrite(info->relid, oldkey,
						   (isnull ? 1 : rowmeta_cl(DatumGetRowMeta(m))) + 1, now,
						   InvalidXLogRecPtr);
			cl = TombstoneNextAliveCl(TombstoneLookupWithFloor(info->relid, newkey));
			for (i = 0; i < desc->natts; i++)
				if (info->columns[i].live)
					versions[i] = now;
		}
		else
		{
			RowMeta    *oldmeta = isnull ? NULL : DatumGetRowMeta(m);

			cl = oldmeta ? rowmeta_cl(oldmeta) : 1;
			if (oldmeta)
				rowmeta_expand(oldmeta, Min(desc->natts, rowmeta_nattrs(oldmeta)),
							   versions);
			for (i = 0; i < desc->natts; i++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, i);
				ReplColumn *col = &info->columns[i];
				bool		oldnull,
							newnull;
				Datum		oldval = heap_getattr(old, i + 1, desc, &oldnull);
				Datum		newval = heap_getattr(newtuple, i + 1, desc, &newnull);

				if (!col->live)
					continue;
				if (oldnull != newnull ||
					(!oldnull && !values_equal(oldval, newval, att)))
				{
					if (col->is_crdt)
						check_inflation(rel, col, att, oldval, oldnull,
										newval, newnull);
					versions[i] = now;
				}
				else if (!newnull && att->attlen == -1 &&
						 VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(newval)))
				{
					/* Unchanged but out of line: carry it into the WAL. */
					repl_cols[nrepl] = i + 1;
					repl_values[nrepl] = PointerGetDatum(
						detoast_external_attr((struct varlena *) DatumGetPointer(newval)));
					nrepl++;
				}
			}
		}
	}

	repl_cols[nrepl] = info->meta_attnum;
	repl_values[nrepl] = PointerGetDatum(rowmeta_build(cl, desc->natts, versions));
	repl_nulls[nrepl] = false;
	nrepl++;

	return PointerGetDatum(heap_modify_tuple_by_cols(newtuple, desc, nrepl,
													 repl_cols, repl_values,
													 repl_nulls));
}

PG_FUNCTION_INFO_V1(truncate_trigger);
Datum
truncate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("truncate_trigger: not called by trigger manager")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot truncate replicated table \"%s\"",
					RelationGetRelationName(trigdata->tg_relation)),
			 errdetail("TRUNCATE leaves no tombstones, so the rows would survive on other nodes and come back."),
			 errhint("Use DELETE to remove rows on every node, or call edge_crdt.unreplicate_table() first.")));
	PG_RETURN_NULL();
}

/*
 * rowmeta_initial(rel regclass) returns rowmeta
 *	  Metadata for a row that exists when the table joins replication:
 *	  first incarnation, every column written now by this node.
 */
PG_FUNCTION_INFO_V1(rowmeta_initial_sql);
Datum
rowmeta_initial_sql(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Relation	rel = RelationIdGetRelation(relid);
	TupleDesc	desc;
	CrdtVersion now;
	CrdtVersion *versions;
	RowMeta    *meta;
	int			i;

	if (!RelationIsValid(rel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	desc = RelationGetDescr(rel);
	now.node = EdgeCrdtLocalNodeId(false);
	now.hlc = HlcNow();
	versions = palloc0(sizeof(CrdtVersion) * desc->natts);
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), ROWMETA_NAME) != 0)
			versions[i] = now;
	}
	meta = rowmeta_build(1, desc->natts, versions);
	RelationClose(rel);
	PG_RETURN_POINTER(meta);
}
