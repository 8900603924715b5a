/*-------------------------------------------------------------------------
 * doc.c
 *	  fmgr wrappers of the JSON document CRDT (edge_crdt.doc).  The lattice
 *	  and formats live in doc_core.c; this file adds what needs the server:
 *	  jsonb, text arrays, encodings, the node id and the clock.
 *
 * JSON values are kept as jsonb's canonical output text.  Text input
 * replaces each value by that text; binary input requires it (so received
 * bytes are already canonical).  Both run values through jsonb_in, which
 * also rejects what the core's scanner lets through (\u0000, bad escapes,
 * invalid characters).
 *
 * Local writes (doc_set, doc_delete, doc_patch, the jsonb cast) take ONE
 * fresh version from HlcNow(), after observing the greatest hlc in the
 * document if the clock is not past it yet, so they replace everything they
 * overwrite even when the document came from a node whose clock runs
 * ahead.  A NULL document is the empty one (the lattice's bottom), so
 * writing into a NULL column starts a document; a NULL path or value is an
 * error rather than a silent NULL result that would wipe the column.
 *
 * IDENTIFICATION
 *	  src/types/doc.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "edge_crdt/crdt_fmgr.h"
#include "edge_crdt/doc.h"
#include "edge_crdt/hlc.h"
#include "edge_crdt/node.h"

#define DOC_TYPNAME "edge_crdt.doc"

/* Writes of one local operation, all stamped later with one version. */
typedef struct DocWrites
{
	DocEntry   *entries;
	uint32		n;
	uint32		cap;
	StringInfoData scratch;		/* reused to print each value */
} DocWrites;

/* ---------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------
 */

static void
doc_state_from_datum(Datum d, DocState *s)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(d);
	CrdtError	err;

	if (doc_decode(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), crdt_palloc, s,
				   &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
}

static Datum
doc_state_to_datum(const DocState *s)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, crdt_palloc, VARHDRSZ + doc_encoded_size(s));
	crdt_buf_append(&buf, "\0\0\0\0", VARHDRSZ);
	doc_encode(s, &buf);
	SET_VARSIZE(buf.data, buf.len);
	return PointerGetDatum(buf.data);
}

static void
doc_value_errcontext(void *arg)
{
	const DocEntry *e = (const DocEntry *) arg;
	CrdtBuf		path;

	crdt_buf_init(&path, crdt_palloc, 64);
	doc_print_path(&path, e->path, e->path_len);
	errcontext("JSON value at path %s of an %s", crdt_buf_cstring(&path),
			   DOC_TYPNAME);
}

/*
 * Replaces each value by its canonical jsonb text, or with strict (binary
 * input) requires it to be that text already.
 */
static void
doc_canonical_values(DocState *s, bool strict)
{
	ErrorContextCallback cb;
	StringInfoData buf;

	initStringInfo(&buf);
	cb.callback = doc_value_errcontext;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	for (uint32 i = 0; i < s->nentries; i++)
	{
		DocEntry   *e = &s->entries[i];
		Jsonb	   *jb;

		if (e->kind != DOC_VALUE)
			continue;
		cb.arg = e;
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
												CStringGetDatum(pnstrdup(e->value,
																		 e->value_len))));
		resetStringInfo(&buf);
		(void) JsonbToCString(&buf, &jb->root, VARSIZE(jb));
		if (strict)
		{
			if ((size_t) buf.len != e->value_len ||
				memcmp(buf.data, e->value, buf.len) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
						 errmsg("invalid external binary data for type %s",
								DOC_TYPNAME),
						 errdetail("The value is not in canonical jsonb form.")));
		}
		else
		{
			e->value = pnstrdup(buf.data, buf.len);
			e->value_len = (uint32) buf.len;
		}
		pfree(jb);
	}
	error_context_stack = cb.previous;
	pfree(buf.data);
}

/* True when keys and values must be converted between encodings. */
static bool
doc_encodings_differ(void)
{
	int			db = GetDatabaseEncoding();
	int			client = pg_get_client_encoding();

	return db != client && db != PG_SQL_ASCII && client != PG_SQL_ASCII;
}

static const char *
doc_convert(const char *s, uint32 len, bool to_server, uint32 *newlen)
{
	char	   *c;

	if (len == 0)
	{
		*newlen = 0;
		return s;
	}
	c = to_server ? pg_client_to_server(s, (int) len) :
		pg_server_to_client(s, (int) len);
	*newlen = (c == s) ? len : (uint32) strlen(c);
	return c;
}

/*
 * Converts every key and value between server and client encoding, as
 * pq_getmsgtext and pq_sendtext do for text.  Conversion can change the
 * byte order of keys, so the result is canonicalized again.
 */
static void
doc_recode(DocState *s, bool to_server, CrdtErrorSource source)
{
	CrdtError	err;

	for (uint32 i = 0; i < s->nentries; i++)
	{
		DocEntry   *e = &s->entries[i];
		CrdtBuf		path;
		uint32		off = 0;

		crdt_buf_init(&path, crdt_palloc, e->path_len + 16);
		while (off < e->path_len)
		{
			/* path bytes are unaligned: read the length bytewise */
			uint32		klen = ((uint32) e->path[off] << 24) |
				((uint32) e->path[off + 1] << 16) |
				((uint32) e->path[off + 2] << 8) | (uint32) e->path[off + 3];
			uint32		clen;
			const char *k;

			k = doc_convert((const char *) e->path + off + 4, klen, to_server,
							&clen);
			doc_path_append(&path, k, clen);
			off += 4 + klen;
		}
		e->path = (const uint8 *) path.data;
		e->path_len = (uint32) path.len;
		if (e->kind == DOC_VALUE)
			e->value = doc_convert(e->value, e->value_len, to_server,
								   &e->value_len);
	}
	if (doc_canonicalize(s->entries, s->nentries, s, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, source);
}

/* Validates received keys and values in the server encoding. */
static void
doc_verify_encoding(const DocState *s)
{
	for (uint32 i = 0; i < s->nentries; i++)
	{
		const DocEntry *e = &s->entries[i];
		uint32		off = 0;

		while (off < e->path_len)
		{
			uint32		klen = ((uint32) e->path[off] << 24) |
				((uint32) e->path[off + 1] << 16) |
				((uint32) e->path[off + 2] << 8) | (uint32) e->path[off + 3];

			pg_verifymbstr((const char *) e->path + off + 4, (int) klen, false);
			off += 4 + klen;
		}
		if (e->kind == DOC_VALUE)
			pg_verifymbstr(e->value, (int) e->value_len, false);
	}
}

/* A text[] path as an encoded path. */
static void
doc_path_from_array(ArrayType *arr, CrdtBuf *path, uint32 *depth)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	CrdtError	err;

	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("path must be a one-dimensional text array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n > DOC_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("path of %d keys exceeds the maximum depth of %d",
						n, DOC_MAX_DEPTH)));
	crdt_buf_init(path, crdt_palloc, 64);
	for (int i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("path element %d is null", i + 1)));
		t = DatumGetTextPP(elems[i]);
		if (doc_check_key(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &err) != CRDT_OK)
			crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
		doc_path_append(path, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	*depth = (uint32) n;
}

static void
doc_writes_add(DocWrites *w, const CrdtBuf *path, uint32 depth, DocKind kind,
			   const char *value, size_t value_len)
{
	DocEntry   *e;
	uint8	   *p;

	if (depth > DOC_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("path exceeds the maximum depth of %d keys",
						DOC_MAX_DEPTH)));
	if (w->n >= DOC_MAX_ENTRIES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("one write may produce at most %d entries",
						DOC_MAX_ENTRIES)));
	if (w->n == w->cap)
	{
		w->cap = w->cap ? w->cap * 2 : 16;
		w->entries = w->entries ?
			repalloc(w->entries, w->cap * sizeof(DocEntry)) :
			palloc(w->cap * sizeof(DocEntry));
	}
	p = palloc(path->len + 1);
	memcpy(p, path->data, path->len);
	e = &w->entries[w->n++];
	memset(e, 0, sizeof(*e));
	e->path = p;
	e->path_len = (uint32) path->len;
	e->depth = depth;
	e->kind = kind;
	if (kind == DOC_VALUE)
	{
		if (value_len > DOC_MAX_BYTES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("JSON value of %zu bytes exceeds the maximum document size of %d bytes",
							value_len, DOC_MAX_BYTES)));
		e->value = value;
		e->value_len = (uint32) value_len;
	}
}

/*
 * Canonical text of a jsonb value (scalar or container), exactly as
 * jsonb_out prints it, in a fresh exact-size string.  Printing through one
 * reused buffer matters: a document cast from a large jsonb has one value
 * per leaf.
 */
static char *
doc_jsonb_value_text(DocWrites *w, JsonbValue *v, size_t *len)
{
	StringInfo	buf = &w->scratch;

	if (buf->data == NULL)
		initStringInfo(buf);
	else
		resetStringInfo(buf);
	switch (v->type)
	{
		case jbvNull:
			appendStringInfoString(buf, "null");
			break;
		case jbvBool:
			appendStringInfoString(buf, v->val.boolean ? "true" : "false");
			break;
		case jbvNumeric:
			appendStringInfoString(buf,
								   DatumGetCString(DirectFunctionCall1(numeric_out,
																	   NumericGetDatum(v->val.numeric))));
			break;
		case jbvString:
			escape_json(buf, pnstrdup(v->val.string.val, v->val.string.len));
			break;
		case jbvBinary:
			(void) JsonbToCString(buf, v->val.binary.data, v->val.binary.len);
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	*len = buf->len;
	return pnstrdup(buf->data, buf->len);
}

/* Appends key to path, checking it and the new depth. */
static void
doc_path_push(CrdtBuf *path, const JsonbValue *key, uint32 depth)
{
	CrdtError	err;

	if (depth > DOC_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("path exceeds the maximum depth of %d keys",
						DOC_MAX_DEPTH)));

	if (doc_check_key(key->val.string.val, key->val.string.len, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
	doc_path_append(path, key->val.string.val, key->val.string.len);
}

static inline bool
doc_jsonb_is_object(const JsonbValue *v)
{
	return v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

/* The members of an object written below path, as doc_set does. */
static void
doc_writes_object_members(DocWrites *w, CrdtBuf *path, uint32 depth,
						  JsonbContainer *jc)
{
	JsonbIterator *it = JsonbIteratorInit(jc);
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	check_stack_depth();
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		size_t		mark = path->len;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		doc_path_push(path, &k, depth + 1);
		if (doc_jsonb_is_object(&v))
		{
			doc_writes_add(w, path, depth + 1, DOC_OBJECT, NULL, 0);
			doc_writes_object_members(w, path, depth + 1, v.val.binary.data);
		}
		else
		{
			size_t		len;
			char	   *text = doc_jsonb_value_text(w, &v, &len);

			doc_writes_add(w, path, depth + 1, DOC_VALUE, text, len);
		}
		path->len = mark;
	}
}

/* The writes of doc_set(path, value). */
static void
doc_writes_set(DocWrites *w, CrdtBuf *path, uint32 depth, Jsonb *value)
{
	if (JB_ROOT_IS_OBJECT(value))
	{
		doc_writes_add(w, path, depth, DOC_OBJECT, NULL, 0);
		doc_writes_object_members(w, path, depth, &value->root);
	}
	else
	{
		char	   *text = JsonbToCString(NULL, &value->root, VARSIZE(value));

		doc_writes_add(w, path, depth, DOC_VALUE, text, strlen(text));
	}
}

/*
 * RFC 7386 merge patch of an object into the document at path, as path
 * writes: a null member deletes its path, an object member recurses, any
 * other member is written as a value.  Objects are merged, not replaced:
 * the path gets an OBJECT entry only when it is not an object now and the
 * patch writes nothing live below it (so {"a": {}} creates an empty object
 * and {"a": {"x": null}} turns a scalar into {}).  Writing no OBJECT
 * otherwise keeps concurrent patches of different members of a new object
 * from replacing each other.  The root counts as an object when absent,
 * because it materializes as {}.  Returns whether a live entry was written
 * at or below path.
 */
static bool
doc_writes_patch(const DocState *s, DocWrites *w, CrdtBuf *path, uint32 depth,
				 JsonbContainer *jc)
{
	JsonbIterator *it = JsonbIteratorInit(jc);
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	DocShape	shape;
	bool		live = false;

	check_stack_depth();
	shape = doc_shape_at(s, (const uint8_t *) path->data, (uint32) path->len,
						 depth);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		size_t		mark = path->len;

		if (tok != WJB_KEY)
			continue;
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		doc_path_push(path, &k, depth + 1);
		if (v.type == jbvNull)
			doc_writes_add(w, path, depth + 1, DOC_DELETE, NULL, 0);
		else if (doc_jsonb_is_object(&v))
		{
			if (doc_writes_patch(s, w, path, depth + 1, v.val.binary.data))
				live = true;
		}
		else
		{
			size_t		len;
			char	   *text = doc_jsonb_value_text(w, &v, &len);

			doc_writes_add(w, path, depth + 1, DOC_VALUE, text, len);
			live = true;
		}
		path->len = mark;
	}
	if (!live && shape != DOC_SHAPE_OBJECT &&
		!(depth == 0 && shape == DOC_SHAPE_ABSENT))
	{
		doc_writes_add(w, path, depth, DOC_OBJECT, NULL, 0);
		live = true;
	}
	return live;
}

/*
 * Stamps the writes with one fresh version of the local node and merges
 * them into the document.
 */
static Datum
doc_local_write(const DocState *s, int32 node, DocWrites *w)
{
	DocState	out;
	CrdtVersion v;
	CrdtError	err;
	int64		max_hlc = doc_max_hlc(s);

	/*
	 * The version must beat every entry the document holds.  Usually the
	 * clock is already past them (replication observes remote versions);
	 * when not, observe the greatest one first, which also rejects a
	 * version too far in the future.
	 */
	v.hlc = HlcNow();
	if (v.hlc <= max_hlc)
	{
		(void) HlcObserve(max_hlc, NULL);
		v.hlc = HlcNow();
	}
	v.node = node;
	if (doc_apply(s, w->entries, w->n, v, crdt_palloc, &out, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
	return doc_state_to_datum(&out);
}

/* The document argument of a local write: NULL is the empty document. */
static void
doc_arg_or_empty(FunctionCallInfo fcinfo, int argno, DocState *s)
{
	if (PG_ARGISNULL(argno))
		doc_empty(s);
	else
		doc_state_from_datum(PG_GETARG_DATUM(argno), s);
}

static void
doc_require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/* A NULL JSON argument: say what the caller probably meant. */
static void
doc_require_json_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what),
				 errhint("Use 'null'::jsonb for a JSON null, and edge_crdt.doc_delete to remove a path.")));
}

static Datum
doc_jsonb_from_text(const char *text)
{
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(text));
}

/* ---------------------------------------------------------------------
 * Input
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(doc_from_jsonb_sql);
PG_FUNCTION_INFO_V1(doc_in);
Datum
doc_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	DocState	s;
	CrdtError	err;
	const char *p = str;

	/*
	 * A JSON object is not a document state (those are entry lists, "[...]")
	 * but what ORMs and drivers send for a document column: take it as the
	 * jsonb assignment cast would, written by this node.
	 */
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p == '{')
		PG_RETURN_DATUM(DirectFunctionCall1(doc_from_jsonb_sql,
											DirectFunctionCall1(jsonb_in,
																CStringGetDatum(str))));

	if (doc_parse(str, crdt_palloc, &s, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_TEXT);
	doc_canonical_values(&s, false);
	/* canonical values may be longer: check the bounds again */
	if (doc_canonicalize(s.entries, s.nentries, &s, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_TEXT);
	PG_RETURN_DATUM(doc_state_to_datum(&s));
}

PG_FUNCTION_INFO_V1(doc_recv);
Datum
doc_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	DocState	s;
	CrdtError	err;
	int			version;

	if (buf->cursor >= buf->len)
	{
		crdt_fail(&err, CRDT_ERR_CORRUPT, "missing format version");
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_BINARY);
	}
	version = pq_getmsgbyte(buf);
	if (version != DOC_BINARY_VERSION)
	{
		crdt_fail(&err, CRDT_ERR_CORRUPT,
				  "unsupported binary format version %d", version);
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_BINARY);
	}
	if (doc_decode(buf->data + buf->cursor, buf->len - buf->cursor,
				   crdt_palloc, &s, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_BINARY);
	buf->cursor = buf->len;

	if (doc_encodings_differ())
		doc_recode(&s, true, CRDT_SOURCE_BINARY);
	else
		doc_verify_encoding(&s);
	doc_canonical_values(&s, true);
	PG_RETURN_DATUM(doc_state_to_datum(&s));
}

/* ---------------------------------------------------------------------
 * Local writes
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(doc_set_sql);
Datum
doc_set_sql(PG_FUNCTION_ARGS)
{
	int32		node = EdgeCrdtLocalNodeId(false);
	DocState	s;
	DocWrites	w = {0};
	CrdtBuf		path;
	uint32		depth;

	doc_require_arg(fcinfo, 1, "path");
	doc_require_json_arg(fcinfo, 2, "value");
	doc_arg_or_empty(fcinfo, 0, &s);
	doc_path_from_array(PG_GETARG_ARRAYTYPE_P(1), &path, &depth);
	doc_writes_set(&w, &path, depth, PG_GETARG_JSONB_P(2));
	PG_RETURN_DATUM(doc_local_write(&s, node, &w));
}

PG_FUNCTION_INFO_V1(doc_delete_sql);
Datum
doc_delete_sql(PG_FUNCTION_ARGS)
{
	int32		node = EdgeCrdtLocalNodeId(false);
	DocState	s;
	DocWrites	w = {0};
	CrdtBuf		path;
	uint32		depth;

	doc_require_arg(fcinfo, 1, "path");
	doc_arg_or_empty(fcinfo, 0, &s);
	doc_path_from_array(PG_GETARG_ARRAYTYPE_P(1), &path, &depth);
	doc_writes_add(&w, &path, depth, DOC_DELETE, NULL, 0);
	PG_RETURN_DATUM(doc_local_write(&s, node, &w));
}

PG_FUNCTION_INFO_V1(doc_patch_sql);
Datum
doc_patch_sql(PG_FUNCTION_ARGS)
{
	int32		node = EdgeCrdtLocalNodeId(false);
	DocState	s;
	DocWrites	w = {0};
	CrdtBuf		path;
	Jsonb	   *patch;

	doc_require_json_arg(fcinfo, 1, "patch");
	doc_arg_or_empty(fcinfo, 0, &s);
	patch = PG_GETARG_JSONB_P(1);
	crdt_buf_init(&path, crdt_palloc, 64);
	if (JB_ROOT_IS_OBJECT(patch))
		(void) doc_writes_patch(&s, &w, &path, 0, &patch->root);
	else
		doc_writes_set(&w, &path, 0, patch);	/* RFC 7386: replaces all */
	PG_RETURN_DATUM(doc_local_write(&s, node, &w));
}

/* jsonb -> doc (assignment cast): every path written by this node. */
Datum
doc_from_jsonb_sql(PG_FUNCTION_ARGS)
{
	int32		node = EdgeCrdtLocalNodeId(false);
	DocState	s;
	DocWrites	w = {0};
	CrdtBuf		path;

	doc_empty(&s);
	crdt_buf_init(&path, crdt_palloc, 64);
	doc_writes_set(&w, &path, 0, PG_GETARG_JSONB_P(0));
	PG_RETURN_DATUM(doc_local_write(&s, node, &w));
}

/* ---------------------------------------------------------------------
 * Lattice and equality
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(doc_merge_sql);
Datum
doc_merge_sql(PG_FUNCTION_ARGS)
{
	DocState	a,
				b,
				m;
	CrdtError	err;

	doc_state_from_datum(PG_GETARG_DATUM(0), &a);
	doc_state_from_datum(PG_GETARG_DATUM(1), &b);
	if (doc_merge(&a, &b, crdt_palloc, &m, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
	PG_RETURN_DATUM(doc_state_to_datum(&m));
}

PG_FUNCTION_INFO_V1(doc_leq_sql);
Datum
doc_leq_sql(PG_FUNCTION_ARGS)
{
	DocState	a,
				b;

	doc_state_from_datum(PG_GETARG_DATUM(0), &a);
	doc_state_from_datum(PG_GETARG_DATUM(1), &b);
	PG_RETURN_BOOL(doc_leq(&a, &b, crdt_palloc));
}

/* ---------------------------------------------------------------------
 * Output and conversions
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(doc_out);
Datum
doc_out(PG_FUNCTION_ARGS)
{
	DocState	s;

	doc_state_from_datum(PG_GETARG_DATUM(0), &s);
	PG_RETURN_CSTRING(doc_print(&s, crdt_palloc));
}

PG_FUNCTION_INFO_V1(doc_send);
Datum
doc_send(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, DOC_BINARY_VERSION);
	if (doc_encodings_differ())
	{
		DocState	s;
		CrdtBuf		body;

		doc_state_from_datum(PointerGetDatum(v), &s);
		doc_recode(&s, false, CRDT_SOURCE_OPERATION);
		crdt_buf_init(&body, crdt_palloc, doc_encoded_size(&s));
		doc_encode(&s, &body);
		pq_sendbytes(&buf, body.data, body.len);
	}
	else
		pq_sendbytes(&buf, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* doc -> jsonb: the materialized document (doc.h). */
PG_FUNCTION_INFO_V1(doc_get_sql);
Datum
doc_get_sql(PG_FUNCTION_ARGS)
{
	DocState	s;
	CrdtBuf		json;
	CrdtError	err;
	bool		found;

	doc_state_from_datum(PG_GETARG_DATUM(0), &s);
	crdt_buf_init(&json, crdt_palloc, 64 + doc_encoded_size(&s));
	if (doc_materialize(&s, NULL, 0, 0, crdt_palloc, &json, &found,
						&err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
	PG_RETURN_DATUM(doc_jsonb_from_text(crdt_buf_cstring(&json)));
}

/* The materialized value at a path, NULL when the path is absent. */
PG_FUNCTION_INFO_V1(doc_get_path_sql);
Datum
doc_get_path_sql(PG_FUNCTION_ARGS)
{
	DocState	s;
	CrdtBuf		path,
				json;
	uint32		depth;
	CrdtError	err;
	bool		found;

	doc_state_from_datum(PG_GETARG_DATUM(0), &s);
	doc_path_from_array(PG_GETARG_ARRAYTYPE_P(1), &path, &depth);
	crdt_buf_init(&json, crdt_palloc, 64);
	if (doc_materialize(&s, (const uint8_t *) path.data, (uint32) path.len,
						depth, crdt_palloc, &json, &found, &err) != CRDT_OK)
		crdt_report_error(&err, DOC_TYPNAME, CRDT_SOURCE_OPERATION);
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(doc_jsonb_from_text(crdt_buf_cstring(&json)));
}
