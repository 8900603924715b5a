/*-------------------------------------------------------------------------
 * doc_core.c
 *	  Backend-independent core of the JSON document CRDT (edge_crdt.doc):
 *	  canonical form, text and binary forms, merge, local writes and
 *	  materialization.  The semantics are defined in doc.h.
 *
 * JSON values are opaque text here.  The core only needs to know where a
 * value ends and that it is well formed, so it has a scanner, not a JSON
 * implementation; the server side turns values into canonical jsonb text.
 * No postgres.h: the property tests and fuzz targets link this file.
 *
 * IDENTIFICATION
 *	  src/types/doc_core.c
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge_crdt/doc.h"

/* Smallest binary entry: depth, hlc, node, kind (root path, no value). */
#define DOC_MIN_ENTRY_BYTES		(1 + 8 + 4 + 1)

static inline uint32_t
doc_get_u32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static inline bool
doc_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static const char *
doc_kind_name(DocKind kind)
{
	switch (kind)
	{
		case DOC_OBJECT:
			return "obj";
		case DOC_VALUE:
			return "val";
		case DOC_DELETE:
			return "del";
	}
	return "?";
}

void
doc_empty(DocState *out)
{
	out->entries = NULL;
	out->nentries = 0;
}

/* ---------------------------------------------------------------------
 * Keys and paths
 * ---------------------------------------------------------------------
 */

CrdtStatus
doc_check_key(const char *key, size_t len, CrdtError *err)
{
	if (len > DOC_MAX_KEY_BYTES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "key of %zu bytes exceeds the maximum of %d bytes",
						 len, DOC_MAX_KEY_BYTES);
	if (len > 0 && memchr(key, '\0', len) != NULL)
		return crdt_fail(err, CRDT_ERR_INVALID, "keys cannot contain NUL bytes");
	return CRDT_OK;
}

void
doc_path_append(CrdtBuf *path, const char *key, uint32_t len)
{
	crdt_buf_put_u32(path, len);
	crdt_buf_append(path, key, len);
}

int
doc_path_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	uint32_t	m = alen < blen ? alen : blen;
	int			c = m > 0 ? memcmp(a, b, m) : 0;

	if (c != 0)
		return c < 0 ? -1 : 1;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

/*
 * The encodings are length-prefixed, so a byte prefix that ends where a
 * path ends is made of whole keys: it is an ancestor.
 */
static inline bool
doc_is_ancestor(const DocEntry *a, const DocEntry *b)
{
	return a->path_len < b->path_len &&
		(a->path_len == 0 || memcmp(a->path, b->path, a->path_len) == 0);
}

static inline bool
doc_has_prefix(const DocEntry *e, const uint8_t *path, uint32_t path_len)
{
	return e->path_len >= path_len &&
		(path_len == 0 || memcmp(e->path, path, path_len) == 0);
}

/*
 * JSON string for a key, escaped as doc.h says.  The text format escapes
 * 0x7f too; materialization writes it as is, like jsonb, so that the
 * materialized text is exactly jsonb's output.
 */
static void
doc_put_string(CrdtBuf *buf, const char *s, size_t len, bool escape_del)
{
	crdt_buf_reserve(buf, len + 2);
	crdt_buf_putc(buf, '"');
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		switch (c)
		{
			case '"':
				crdt_buf_puts(buf, "\\\"");
				break;
			case '\\':
				crdt_buf_puts(buf, "\\\\");
				break;
			case '\b':
				crdt_buf_puts(buf, "\\b");
				break;
			case '\f':
				crdt_buf_puts(buf, "\\f");
				break;
			case '\n':
				crdt_buf_puts(buf, "\\n");
				break;
			case '\r':
				crdt_buf_puts(buf, "\\r");
				break;
			case '\t':
				crdt_buf_puts(buf, "\\t");
				break;
			default:
				if (c < 0x20 || (c == 0x7f && escape_del))
					crdt_buf_printf(buf, "\\u%04x", c);
				else
					crdt_buf_putc(buf, (char) c);
				break;
		}
	}
	crdt_buf_putc(buf, '"');
}

void
doc_print_path(CrdtBuf *buf, const uint8_t *path, uint32_t path_len)
{
	uint32_t	off = 0;

	crdt_buf_putc(buf, '[');
	while (off + 4 <= path_len)
	{
		uint32_t	klen = doc_get_u32(path + off);

		if (off > 0)
			crdt_buf_puts(buf, ", ");
		doc_put_string(buf, (const char *) path + off + 4, klen, true);
		off += 4 + klen;
	}
	crdt_buf_putc(buf, ']');
}

/*
 * A path for an error message, cut short to fit CrdtError.message.  Only
 * printable ASCII is copied as is (anything else becomes '?'), so the
 * message never splits a multibyte character.
 */
#define DOC_BRIEF_SIZE 96

static const char *
doc_path_brief(const uint8_t *path, uint32_t path_len, char *out, size_t outsz)
{
	size_t		limit = outsz - 5;	/* keeps room for "...]" and NUL */
	size_t		n = 0;
	uint32_t	off = 0;

	out[n++] = '[';
	while (off + 4 <= path_len)
	{
		uint32_t	klen = doc_get_u32(path + off);
		const char *k = (const char *) path + off + 4;

		if (n + 3 + (size_t) klen > limit)
			break;
		if (off > 0)
			out[n++] = ',';
		out[n++] = '"';
		for (uint32_t i = 0; i < klen; i++)
		{
			unsigned char c = (unsigned char) k[i];

			out[n++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char) c : '?';
		}
		out[n++] = '"';
		off += 4 + klen;
	}
	if (off < path_len)
	{
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = ']';
	out[n] = '\0';
	return out;
}


/* ---------------------------------------------------------------------
 * JSON scanning
 * ---------------------------------------------------------------------
 */

/* A JSON string starting at *p (the opening quote); no decoding. */
static bool
doc_scan_string(const char **pp, const char *end, CrdtError *err)
{
	const char *p = *pp + 1;

	while (p < end)
	{
		unsigned char c = (unsigned char) *p;

		if (c == '"')
		{
			*pp = p + 1;
			return true;
		}
		if (c < 0x20)
		{
			crdt_fail(err, CRDT_ERR_SYNTAX,
					  "invalid JSON value: unescaped control character in string");
			return false;
		}
		if (c == '\\')
		{
			p++;
			if (p >= end)
				break;
			if (*p == 'u')
			{
				for (int i = 1; i <= 4; i++)
				{
					char		h = (p + i < end) ? p[i] : '\0';

					if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
						  (h >= 'A' && h <= 'F')))
					{
						crdt_fail(err, CRDT_ERR_SYNTAX,
								  "invalid JSON value: \\u must be followed by four hexadecimal digits");
						return false;
					}
				}
				p += 4;
			}
			else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0')
			{
				crdt_fail(err, CRDT_ERR_SYNTAX,
						  "invalid JSON value: invalid escape in string");
				return false;
			}
		}
		p++;
	}
	crdt_fail(err, CRDT_ERR_SYNTAX, "invalid JSON value: unterminated string");
	return false;
}

static bool
doc_scan_digits(const char **pp, const char *end)
{
	const char *p = *pp;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	if (p == *pp)
		return false;
	*pp = p;
	return true;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool
doc_scan_number(const char **pp, const char *end, CrdtError *err)
{
	const char *p = *pp;

	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0')
		p++;
	else if (!doc_scan_digits(&p, end))
		goto bad;
	if (p < end && *p == '.')
	{
		p++;
		if (!doc_scan_digits(&p, end))
			goto bad;
	}
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (!doc_scan_digits(&p, end))
			goto bad;
	}
	*pp = p;
	return true;

bad:
	crdt_fail(err, CRDT_ERR_SYNTAX, "invalid JSON value: malformed number");
	return false;
}

static bool
doc_scan_literal(const char **pp, const char *end, const char *word,
				 CrdtError *err)
{
	size_t		n = strlen(word);

	if ((size_t) (end - *pp) < n || memcmp(*pp, word, n) != 0)
	{
		crdt_fail(err, CRDT_ERR_SYNTAX, "invalid JSON value: unexpected token");
		return false;
	}
	*pp += n;
	return true;
}

static const char *
doc_skip_json_space(const char *p, const char *end)
{
	while (p < end && doc_json_space(*p))
		p++;
	return p;
}

/*
 * Scans one JSON value starting at s (which must not be whitespace) and
 * sets *stop just past it.  Iterative, with an explicit stack bounded by
 * DOC_MAX_VALUE_NESTING, so hostile nesting cannot exhaust the C stack.
 */
static bool
doc_json_scan(const char *s, const char *end, const char **stop,
			  CrdtError *err)
{
	char		closer[DOC_MAX_VALUE_NESTING];
	int			depth = 0;
	const char *p = s;

	for (;;)
	{
		bool		have_value = false;

		/* A value is expected at p. */
		p = doc_skip_json_space(p, end);
		if (p >= end)
		{
			crdt_fail(err, CRDT_ERR_SYNTAX,
					  "invalid JSON value: unexpected end of input");
			return false;
		}
		switch (*p)
		{
			case '{':
			case '[':
				if (depth >= DOC_MAX_VALUE_NESTING)
				{
					crdt_fail(err, CRDT_ERR_TOO_LARGE,
							  "JSON value nested deeper than %d levels",
							  DOC_MAX_VALUE_NESTING);
					return false;
				}
				closer[depth++] = (*p == '{') ? '}' : ']';
				p = doc_skip_json_space(p + 1, end);
				if (p < end && *p == closer[depth - 1])
				{
					p++;
					depth--;
					have_value = true;
				}
				else if (closer[depth - 1] == '}')
				{
					/* first member's key */
					if (p >= end || *p != '"')
					{
						crdt_fail(err, CRDT_ERR_SYNTAX,
								  "invalid JSON value: expected an object key");
						return false;
					}
					if (!doc_scan_string(&p, end, err))
						return false;
					p = doc_skip_json_space(p, end);
					if (p >= end || *p != ':')
					{
						crdt_fail(err, CRDT_ERR_SYNTAX,
								  "invalid JSON value: expected \":\" after an object key");
						return false;
					}
					p++;
				}
				break;
			case '"':
				if (!doc_scan_string(&p, end, err))
					return false;
				have_value = true;
				break;
			case 't':
				if (!doc_scan_literal(&p, end, "true", err))
					return false;
				have_value = true;
				break;
			case 'f':
				if (!doc_scan_literal(&p, end, "false", err))
					return false;
				have_value = true;
				break;
			case 'n':
				if (!doc_scan_literal(&p, end, "null", err))
					return false;
				have_value = true;
				break;
			default:
				if (*p == '-' || (*p >= '0' && *p <= '9'))
				{
					if (!doc_scan_number(&p, end, err))
						return false;
					have_value = true;
					break;
				}
				crdt_fail(err, CRDT_ERR_SYNTAX,
						  "invalid JSON value: unexpected token");
				return false;
		}
		if (!have_value)
			continue;			/* an open container wants its first value */

		/* A value just ended: close containers or move to the next item. */
		for (;;)
		{
			if (depth == 0)
			{
				*stop = p;
				return true;
			}
			p = doc_skip_json_space(p, end);
			if (p < end && *p == closer[depth - 1])
			{
				p++;
				depth--;
				continue;
			}
			if (p < end && *p == ',')
			{
				p = doc_skip_json_space(p + 1, end);
				if (closer[depth - 1] == '}')
				{
					if (p >= end || *p != '"')
					{
						crdt_fail(err, CRDT_ERR_SYNTAX,
								  "invalid JSON value: expected an object key");
						return false;
					}
					if (!doc_scan_string(&p, end, err))
						return false;
					p = doc_skip_json_space(p, end);
					if (p >= end || *p != ':')
					{
						crdt_fail(err, CRDT_ERR_SYNTAX,
								  "invalid JSON value: expected \":\" after an object key");
						return false;
					}
					p++;
				}
				break;
			}
			crdt_fail(err, CRDT_ERR_SYNTAX,
					  "invalid JSON value: expected \",\" or \"%c\"",
					  closer[depth - 1]);
			return false;
		}
	}
}

CrdtStatus
doc_check_value(const char *text, size_t len, CrdtError *err)
{
	const char *stop;

	if (text == NULL || len == 0)
		return crdt_fail(err, CRDT_ERR_SYNTAX, "invalid JSON value: empty");
	if (doc_json_space(text[0]))
		return crdt_fail(err, CRDT_ERR_SYNTAX,
						 "invalid JSON value: leading whitespace");
	if (text[0] == '{')
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "a \"val\" entry holds a JSON scalar or array, not an object: objects are written as \"obj\" entries");
	if (!doc_json_scan(text, text + len, &stop, err))
		return err ? err->status : CRDT_ERR_SYNTAX;
	if (stop != text + len)
		return crdt_fail(err, CRDT_ERR_SYNTAX,
						 "invalid JSON value: trailing characters after the value");
	return CRDT_OK;
}

/* ---------------------------------------------------------------------
 * Canonical form
 * ---------------------------------------------------------------------
 */

/* Validates an encoded path against its depth. */
static CrdtStatus
doc_check_path(const uint8_t *path, uint32_t path_len, uint32_t depth,
			   CrdtError *err)
{
	uint32_t	off = 0;
	uint32_t	n = 0;

	if (depth > DOC_MAX_DEPTH)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "path of %u keys exceeds the maximum depth of %d",
						 depth, DOC_MAX_DEPTH);
	while (off < path_len)
	{
		uint32_t	klen;
		CrdtStatus	st;

		if (path_len - off < 4)
			return crdt_fail(err, CRDT_ERR_CORRUPT, "malformed path");
		klen = doc_get_u32(path + off);
		if (klen > path_len - off - 4)
			return crdt_fail(err, CRDT_ERR_CORRUPT, "malformed path");
		st = doc_check_key((const char *) path + off + 4, klen, err);
		if (st != CRDT_OK)
			return st;
		off += 4 + klen;
		n++;
	}
	if (n != depth)
		return crdt_fail(err, CRDT_ERR_CORRUPT, "malformed path");
	return CRDT_OK;
}

static CrdtStatus
doc_check_entry(const DocEntry *e, CrdtError *err)
{
	CrdtStatus	st;
	char		brief[DOC_BRIEF_SIZE];

	st = doc_check_path(e->path, e->path_len, e->depth, err);
	if (st != CRDT_OK)
		return st;
	if (e->version.hlc < 0)
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "hlc %lld is invalid: clock values are non-negative",
						 (long long) e->version.hlc);
	if (!CRDT_NODE_ID_VALID(e->version.node))
		return crdt_fail(err, CRDT_ERR_INVALID,
						 "node id %d is invalid: node ids are positive int4 values",
						 e->version.node);
	switch (e->kind)
	{
		case DOC_VALUE:
			st = doc_check_value(e->value, e->value_len, err);
			if (st != CRDT_OK)
			{
				/* say where: prefix the message with the path */
				char		msg[sizeof(err->message)];

				if (err != NULL)
				{
					snprintf(msg, sizeof(msg), "%s", err->message);
					crdt_fail(err, st, "value at path %s: %s",
							  doc_path_brief(e->path, e->path_len, brief,
											 sizeof(brief)), msg);
				}
				return st;
			}
			break;
		case DOC_OBJECT:
		case DOC_DELETE:
			if (e->value_len != 0)
				return crdt_fail(err, CRDT_ERR_INVALID,
								 "a \"%s\" entry has no value",
								 doc_kind_name(e->kind));
			break;
		default:
			return crdt_fail(err, CRDT_ERR_INVALID, "invalid entry kind %d",
							 (int) e->kind);
	}
	return CRDT_OK;
}

static int
doc_entry_path_cmp(const DocEntry *a, const DocEntry *b)
{
	return doc_path_cmp(a->path, a->path_len, b->path, b->path_len);
}

static int
doc_entry_qsort_cmp(const void *x, const void *y)
{
	return doc_entry_path_cmp((const DocEntry *) x, (const DocEntry *) y);
}

/*
 * Total order of the entries competing for one path: version, then (only
 * in hostile input) kind and value bytes.
 */
static int
doc_entry_rank_cmp(const DocEntry *a, const DocEntry *b)
{
	int			c = crdt_version_cmp(a->version, b->version);
	uint32_t	m;

	if (c != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	m = a->value_len < b->value_len ? a->value_len : b->value_len;
	c = m > 0 ? memcmp(a->value, b->value, m) : 0;
	if (c != 0)
		return c < 0 ? -1 : 1;
	return a->value_len < b->value_len ? -1 : (a->value_len > b->value_len ? 1 : 0);
}

/*
 * Drops hidden entries from sorted entries, in place, and returns the new
 * count; with check_only, returns the index of the first hidden entry (or
 * n) and changes nothing.  The stack holds the kept ancestors of the
 * current entry and the greatest version along them.  A hidden entry is
 * not pushed: everything it would hide is older than its own hider.
 */
static uint32_t
doc_prune(DocEntry *e, uint32_t n, bool check_only)
{
	uint32_t	stack[DOC_MAX_DEPTH + 1];
	CrdtVersion maxv[DOC_MAX_DEPTH + 1];
	int			top = 0;
	uint32_t	out = 0;

	for (uint32_t i = 0; i < n; i++)
	{
		const DocEntry *cur = &e[i];

		while (top > 0 && !doc_is_ancestor(&e[stack[top - 1]], cur))
			top--;
		if (top > 0 && crdt_version_cmp(maxv[top - 1], cur->version) > 0)
		{
			if (check_only)
				return i;
			continue;
		}
		if (!check_only)
			e[out] = e[i];
		/* depth <= DOC_MAX_DEPTH, so at most DOC_MAX_DEPTH + 1 ancestors */
		if (top <= DOC_MAX_DEPTH)
		{
			stack[top] = check_only ? i : out;
			maxv[top] = (top > 0 &&
						 crdt_version_cmp(maxv[top - 1], cur->version) > 0) ?
				maxv[top - 1] : e[check_only ? i : out].version;
			top++;
		}
		out++;
	}
	return check_only ? n : out;
}

size_t
doc_encoded_size(const DocState *s)
{
	size_t		size = 4;

	for (uint32_t i = 0; i < s->nentries; i++)
	{
		const DocEntry *e = &s->entries[i];

		size += DOC_MIN_ENTRY_BYTES + e->path_len;
		if (e->kind == DOC_VALUE)
			size += 4 + (size_t) e->value_len;
	}
	return size;
}

static CrdtStatus
doc_check_bounds(const DocState *s, CrdtError *err)
{
	size_t		size;

	if (s->nentries > DOC_MAX_ENTRIES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "document has %u entries, more than the maximum of %d",
						 s->nentries, DOC_MAX_ENTRIES);
	size = doc_encoded_size(s);
	if (size > DOC_MAX_BYTES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "document of %zu bytes exceeds the maximum of %d bytes",
						 size, DOC_MAX_BYTES);
	return CRDT_OK;
}

CrdtStatus
doc_canonicalize(DocEntry *entries, uint32_t n, DocState *out, CrdtError *err)
{
	DocState	s;
	char		brief[DOC_BRIEF_SIZE];

	if (n > DOC_MAX_ENTRIES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "document has %u entries, more than the maximum of %d",
						 n, DOC_MAX_ENTRIES);
	for (uint32_t i = 0; i < n; i++)
	{
		CrdtStatus	st = doc_check_entry(&entries[i], err);

		if (st != CRDT_OK)
			return st;
	}
	if (n > 1)
		qsort(entries, n, sizeof(DocEntry), doc_entry_qsort_cmp);
	for (uint32_t i = 1; i < n; i++)
	{
		if (doc_entry_path_cmp(&entries[i - 1], &entries[i]) == 0)
			return crdt_fail(err, CRDT_ERR_INVALID,
							 "path %s appears more than once",
							 doc_path_brief(entries[i].path,
											entries[i].path_len,
											brief, sizeof(brief)));
	}
	s.entries = entries;
	s.nentries = n > 0 ? doc_prune(entries, n, false) : 0;
	if (s.nentries == 0)
		s.entries = NULL;
	if (doc_check_bounds(&s, err) != CRDT_OK)
		return err ? err->status : CRDT_ERR_TOO_LARGE;
	*out = s;
	return CRDT_OK;
}

/* ---------------------------------------------------------------------
 * Binary form
 * ---------------------------------------------------------------------
 */

void
doc_encode(const DocState *s, CrdtBuf *buf)
{
	crdt_buf_reserve(buf, doc_encoded_size(s));
	crdt_buf_put_u32(buf, s->nentries);
	for (uint32_t i = 0; i < s->nentries; i++)
	{
		const DocEntry *e = &s->entries[i];

		crdt_buf_put_u8(buf, (uint8_t) e->depth);
		crdt_buf_append(buf, e->path, e->path_len);
		crdt_buf_put_i64(buf, e->version.hlc);
		crdt_buf_put_i32(buf, e->version.node);
		crdt_buf_put_u8(buf, (uint8_t) e->kind);
		if (e->kind == DOC_VALUE)
		{
			crdt_buf_put_u32(buf, e->value_len);
			crdt_buf_append(buf, e->value, e->value_len);
		}
	}
}

CrdtStatus
doc_decode(const void *data, size_t len, CrdtAllocFn alloc, DocState *out,
		   CrdtError *err)
{
	CrdtReader	r;
	uint32_t	n;
	DocEntry   *e = NULL;
	DocState	s;
	char		brief[DOC_BRIEF_SIZE];

	if (len > DOC_MAX_BYTES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "document of %zu bytes exceeds the maximum of %d bytes",
						 len, DOC_MAX_BYTES);
	crdt_reader_init(&r, data, len);
	if (!crdt_read_u32(&r, &n))
		return crdt_fail(err, CRDT_ERR_CORRUPT, "missing entry count");
	if (n > DOC_MAX_ENTRIES)
		return crdt_fail(err, CRDT_ERR_TOO_LARGE,
						 "document has %u entries, more than the maximum of %d",
						 n, DOC_MAX_ENTRIES);
	if (n > crdt_reader_remaining(&r) / DOC_MIN_ENTRY_BYTES)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "entry count %u does not fit in the remaining %zu bytes",
						 n, crdt_reader_remaining(&r));
	if (n > 0)
		e = alloc((size_t) n * sizeof(DocEntry));

	for (uint32_t i = 0; i < n; i++)
	{
		uint8_t		depth;
		uint8_t		kind;
		size_t		start;
		const uint8_t *bytes;

		if (!crdt_read_u8(&r, &depth))
			goto truncated;
		if (depth > DOC_MAX_DEPTH)
			return crdt_fail(err, CRDT_ERR_TOO_LARGE,
							 "path of %u keys exceeds the maximum depth of %d",
							 depth, DOC_MAX_DEPTH);
		start = r.off;
		for (int k = 0; k < depth; k++)
		{
			uint32_t	klen;

			if (!crdt_read_u32(&r, &klen))
				goto truncated;
			if (klen > DOC_MAX_KEY_BYTES)
				return crdt_fail(err, CRDT_ERR_TOO_LARGE,
								 "key of %u bytes exceeds the maximum of %d bytes",
								 klen, DOC_MAX_KEY_BYTES);
			if (!crdt_read_bytes(&r, klen, &bytes))
				goto truncated;
		}
		e[i].path = r.data + start;
		e[i].path_len = (uint32_t) (r.off - start);
		e[i].depth = depth;
		if (!crdt_read_i64(&r, &e[i].version.hlc) ||
			!crdt_read_i32(&r, &e[i].version.node) ||
			!crdt_read_u8(&r, &kind))
			goto truncated;
		if (kind < DOC_OBJECT || kind > DOC_DELETE)
			return crdt_fail(err, CRDT_ERR_CORRUPT, "invalid entry kind %u",
							 kind);
		e[i].kind = (DocKind) kind;
		e[i].value = NULL;
		e[i].value_len = 0;
		if (kind == DOC_VALUE)
		{
			if (!crdt_read_u32(&r, &e[i].value_len) ||
				!crdt_read_bytes(&r, e[i].value_len, &bytes))
				goto truncated;
			e[i].value = (const char *) bytes;
		}
	}
	if (crdt_reader_remaining(&r) != 0)
		return crdt_fail(err, CRDT_ERR_CORRUPT,
						 "unexpected data after the last entry");

	/* Only canonical states are accepted: check, never repair. */
	for (uint32_t i = 0; i < n; i++)
	{
		CrdtStatus	st = doc_check_entry(&e[i], err);

		if (st != CRDT_OK)
			return st;
		if (i > 0)
		{
			int			c = doc_entry_path_cmp(&e[i - 1], &e[i]);

			if (c == 0)
				return crdt_fail(err, CRDT_ERR_CORRUPT,
								 "path %s appears more than once",
								 doc_path_brief(e[i].path, e[i].path_len,
												brief, sizeof(brief)));
			if (c > 0)
				return crdt_fail(err, CRDT_ERR_CORRUPT,
								 "entries are not in canonical order at path %s",
								 doc_path_brief(e[i].path, e[i].path_len,
												brief, sizeof(brief)));
		}
	}
	if (n > 0)
	{
		uint32_t	h = doc_prune(e, n, true);

		if (h < n)
			return crdt_fail(err, CRDT_ERR_CORRUPT,
							 "entry at path %s is hidden by a newer ancestor entry",
							 doc_path_brief(e[h].path, e[h].path_len,
											brief, sizeof(brief)));
	}
	s.entries = e;
	s.nentries = n;
	*out = s;
	return CRDT_OK;

truncated:
	return crdt_fail(err, CRDT_ERR_CORRUPT, "unexpected end of data");
}

/* ---------------------------------------------------------------------
 * Text form
 * ---------------------------------------------------------------------
 */

typedef struct DocParser
{
	const char *p;
	const char *end;
	CrdtAllocFn alloc;
	CrdtError  *err;
} DocParser;

static void
doc_parser_space(DocParser *ps)
{
	ps->p = doc_skip_json_space(ps->p, ps->end);
}

static bool
doc_parser_expect(DocParser *ps, char c, const char *what)
{
	doc_parser_space(ps);
	if (ps->p >= ps->end)
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "expected \"%c\" %s but found end of input", c, what);
		return false;
	}
	if (*ps->p != c)
	{
		if (*ps->p == '"')
			crdt_fail(ps->err, CRDT_ERR_SYNTAX,
					  "expected \"%c\" %s but found a string", c, what);
		else
			crdt_fail(ps->err, CRDT_ERR_SYNTAX,
					  "expected \"%c\" %s but found \"%c\"", c, what, *ps->p);
		return false;
	}
	ps->p++;
	return true;
}

static int
doc_hex_value(char h)
{
	if (h >= '0' && h <= '9')
		return h - '0';
	if (h >= 'a' && h <= 'f')
		return h - 'a' + 10;
	if (h >= 'A' && h <= 'F')
		return h - 'A' + 10;
	return -1;
}

/*
 * A JSON string (after optional whitespace) decoded into out.  \u escapes
 * are limited to 0x01..0x7f, as doc.h explains.
 */
static bool
doc_parse_string(DocParser *ps, CrdtBuf *out, const char *what)
{
	const char *p;

	doc_parser_space(ps);
	if (ps->p >= ps->end || *ps->p != '"')
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX, "expected a string for %s", what);
		return false;
	}
	p = ps->p + 1;
	while (p < ps->end && *p != '"')
	{
		unsigned char c = (unsigned char) *p;

		if (c < 0x20)
		{
			crdt_fail(ps->err, CRDT_ERR_SYNTAX,
					  "unescaped control character in %s", what);
			return false;
		}
		if (c != '\\')
		{
			const char *q = p;

			/* copy a run of plain bytes at once */
			while (q < ps->end && *q != '"' && *q != '\\' &&
				   (unsigned char) *q >= 0x20)
				q++;
			crdt_buf_append(out, p, (size_t) (q - p));
			p = q;
			continue;
		}
		p++;
		if (p >= ps->end)
			break;
		switch (*p)
		{
			case '"':
			case '\\':
			case '/':
				crdt_buf_putc(out, *p);
				break;
			case 'b':
				crdt_buf_putc(out, '\b');
				break;
			case 'f':
				crdt_buf_putc(out, '\f');
				break;
			case 'n':
				crdt_buf_putc(out, '\n');
				break;
			case 'r':
				crdt_buf_putc(out, '\r');
				break;
			case 't':
				crdt_buf_putc(out, '\t');
				break;
			case 'u':
				{
					int			cp = 0;

					for (int i = 1; i <= 4; i++)
					{
						int			h = (p + i < ps->end) ? doc_hex_value(p[i]) : -1;

						if (h < 0)
						{
							crdt_fail(ps->err, CRDT_ERR_SYNTAX,
									  "\\u must be followed by four hexadecimal digits in %s",
									  what);
							return false;
						}
						cp = cp * 16 + h;
					}
					if (cp == 0 || cp > 0x7f)
					{
						crdt_fail(ps->err, CRDT_ERR_SYNTAX,
								  "\\u%04x is not allowed in %s: only \\u0001 to \\u007f are accepted, write other characters as they are",
								  (unsigned) cp, what);
						return false;
					}
					crdt_buf_putc(out, (char) cp);
					p += 4;
				}
				break;
			default:
				crdt_fail(ps->err, CRDT_ERR_SYNTAX, "invalid escape \"\\%c\" in %s",
						  *p, what);
				return false;
		}
		p++;
	}
	if (p >= ps->end)
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX, "unterminated string in %s", what);
		return false;
	}
	ps->p = p + 1;
	return true;
}

static bool
doc_parse_path(DocParser *ps, DocEntry *e)
{
	CrdtBuf		path;
	uint32_t	depth = 0;

	if (!doc_parser_expect(ps, '[', "to start a path"))
		return false;
	crdt_buf_init(&path, ps->alloc, 64);
	doc_parser_space(ps);
	if (ps->p < ps->end && *ps->p == ']')
		ps->p++;
	else
	{
		for (;;)
		{
			size_t		lenpos = path.len;
			size_t		klen;

			if (depth >= DOC_MAX_DEPTH)
			{
				crdt_fail(ps->err, CRDT_ERR_TOO_LARGE,
						  "path exceeds the maximum depth of %d keys",
						  DOC_MAX_DEPTH);
				return false;
			}
			crdt_buf_put_u32(&path, 0);
			if (!doc_parse_string(ps, &path, "a path key"))
				return false;
			klen = path.len - lenpos - 4;
			if (doc_check_key(path.data + lenpos + 4, klen, ps->err) != CRDT_OK)
				return false;
			path.data[lenpos] = (char) (klen >> 24);
			path.data[lenpos + 1] = (char) (klen >> 16);
			path.data[lenpos + 2] = (char) (klen >> 8);
			path.data[lenpos + 3] = (char) klen;
			depth++;
			doc_parser_space(ps);
			if (ps->p < ps->end && *ps->p == ',')
			{
				ps->p++;
				continue;
			}
			if (!doc_parser_expect(ps, ']', "to end a path"))
				return false;
			break;
		}
	}
	e->path = (const uint8_t *) path.data;
	e->path_len = (uint32_t) path.len;
	e->depth = depth;
	return true;
}

/* "hlc.node" */
static bool
doc_parse_version(DocParser *ps, CrdtVersion *v)
{
	doc_parser_space(ps);
	if (ps->p >= ps->end || *ps->p != '"')
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "expected a version written \"hlc.node\"");
		return false;
	}
	ps->p++;
	if (!crdt_parse_int64(&ps->p, &v->hlc, ps->err))
		return false;
	if (v->hlc < 0)
	{
		crdt_fail(ps->err, CRDT_ERR_INVALID,
				  "hlc %lld is invalid: clock values are non-negative",
				  (long long) v->hlc);
		return false;
	}
	if (ps->p >= ps->end || *ps->p != '.')
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "expected a version written \"hlc.node\"");
		return false;
	}
	ps->p++;
	if (!crdt_parse_node_id(&ps->p, &v->node, ps->err))
		return false;
	if (ps->p >= ps->end || *ps->p != '"')
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "expected a version written \"hlc.node\"");
		return false;
	}
	ps->p++;
	return true;
}

static bool
doc_parse_entry(DocParser *ps, DocEntry *e, CrdtBuf *scratch)
{
	bool		have_p = false,
				have_v = false,
				have_k = false,
				have_j = false;

	memset(e, 0, sizeof(*e));
	if (!doc_parser_expect(ps, '{', "to start an entry"))
		return false;
	for (;;)
	{
		char		field;

		scratch->len = 0;
		if (!doc_parse_string(ps, scratch, "an entry field name"))
			return false;
		if (scratch->len != 1 || strchr("pvkj", scratch->data[0]) == NULL)
		{
			crdt_fail(ps->err, CRDT_ERR_SYNTAX,
					  "unknown entry field \"%.*s\": expected \"p\", \"v\", \"k\" or \"j\"",
					  (int) (scratch->len > 32 ? 32 : scratch->len),
					  scratch->data);
			return false;
		}
		field = scratch->data[0];
		if ((field == 'p' && have_p) || (field == 'v' && have_v) ||
			(field == 'k' && have_k) || (field == 'j' && have_j))
		{
			crdt_fail(ps->err, CRDT_ERR_SYNTAX,
					  "entry field \"%c\" appears more than once", field);
			return false;
		}
		if (!doc_parser_expect(ps, ':', "after an entry field name"))
			return false;
		switch (field)
		{
			case 'p':
				if (!doc_parse_path(ps, e))
					return false;
				have_p = true;
				break;
			case 'v':
				if (!doc_parse_version(ps, &e->version))
					return false;
				have_v = true;
				break;
			case 'k':
				scratch->len = 0;
				if (!doc_parse_string(ps, scratch, "an entry kind"))
					return false;
				if (scratch->len == 3 && memcmp(scratch->data, "obj", 3) == 0)
					e->kind = DOC_OBJECT;
				else if (scratch->len == 3 && memcmp(scratch->data, "val", 3) == 0)
					e->kind = DOC_VALUE;
				else if (scratch->len == 3 && memcmp(scratch->data, "del", 3) == 0)
					e->kind = DOC_DELETE;
				else
				{
					crdt_fail(ps->err, CRDT_ERR_SYNTAX,
							  "invalid entry kind \"%.*s\": expected \"obj\", \"val\" or \"del\"",
							  (int) (scratch->len > 32 ? 32 : scratch->len),
							  scratch->data);
					return false;
				}
				have_k = true;
				break;
			case 'j':
				{
					const char *stop;

					doc_parser_space(ps);
					if (!doc_json_scan(ps->p, ps->end, &stop, ps->err))
						return false;
					e->value = ps->p;
					e->value_len = (uint32_t) (stop - ps->p);
					ps->p = stop;
					have_j = true;
				}
				break;
		}
		doc_parser_space(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (!doc_parser_expect(ps, '}', "to end an entry"))
			return false;
		break;
	}
	if (!have_p || !have_v || !have_k)
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "entry lacks the \"%s\" field",
				  !have_p ? "p" : !have_v ? "v" : "k");
		return false;
	}
	if (e->kind == DOC_VALUE && !have_j)
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "a \"val\" entry needs a \"j\" field");
		return false;
	}
	if (e->kind != DOC_VALUE && have_j)
	{
		crdt_fail(ps->err, CRDT_ERR_SYNTAX,
				  "a \"j\" field is only allowed in \"val\" entries, not in \"%s\"",
				  doc_kind_name(e->kind));
		return false;
	}
	return true;
}

CrdtStatus
doc_parse(const char *text, CrdtAllocFn alloc, DocState *out, CrdtError *err)
{
	DocParser	ps;
	DocEntry   *entries = NULL;
	uint32_t	n = 0;
	uint32_t	cap = 0;
	CrdtBuf		scratch;

	ps.p = text;
	ps.end = text + strlen(text);
	ps.alloc = alloc;
	ps.err = err;
	crdt_buf_init(&scratch, alloc, 64);

	if (!doc_parser_expect(&ps, '[', "at the start of a document"))
		return err ? err->status : CRDT_ERR_SYNTAX;
	doc_parser_space(&ps);
	if (ps.p < ps.end && *ps.p == ']')
		ps.p++;
	else
	{
		for (;;)
		{
			if (n == cap)
			{
				DocEntry   *grown;

				if (n >= DOC_MAX_ENTRIES)
					return crdt_fail(err, CRDT_ERR_TOO_LARGE,
									 "document has more than the maximum of %d entries",
									 DOC_MAX_ENTRIES);
				cap = cap ? cap * 2 : 16;
				if (cap > DOC_MAX_ENTRIES)
					cap = DOC_MAX_ENTRIES;
				grown = alloc((size_t) cap * sizeof(DocEntry));
				if (n > 0)
					memcpy(grown, entries, (size_t) n * sizeof(DocEntry));
				entries = grown;
			}
			if (!doc_parse_entry(&ps, &entries[n], &scratch))
				return err ? err->status : CRDT_ERR_SYNTAX;
			n++;
			doc_parser_space(&ps);
			if (ps.p < ps.end && *ps.p == ',')
			{
				ps.p++;
				continue;
			}
			if (!doc_parser_expect(&ps, ']', "to end the document"))
				return err ? err->status : CRDT_ERR_SYNTAX;
			break;
		}
	}
	doc_parser_space(&ps);
	if (ps.p < ps.end)
		return crdt_fail(err, CRDT_ERR_SYNTAX,
						 "unexpected text after the end of the document");
	return doc_canonicalize(entries, n, out, err);
}

char *
doc_print(const DocState *s, CrdtAllocFn alloc)
{
	CrdtBuf		buf;

	crdt_buf_init(&buf, alloc, 64 + doc_encoded_size(s) * 2);
	crdt_buf_putc(&buf, '[');
	for (uint32_t i = 0; i < s->nentries; i++)
	{
		const DocEntry *e = &s->entries[i];

		if (i > 0)
			crdt_buf_puts(&buf, ", ");
		crdt_buf_puts(&buf, "{\"p\": ");
		doc_print_path(&buf, e->path, e->path_len);
		crdt_buf_printf(&buf, ", \"v\": \"%lld.%d\", \"k\": \"%s\"",
						(long long) e->version.hlc, e->version.node,
						doc_kind_name(e->kind));
		if (e->kind == DOC_VALUE)
		{
			crdt_buf_puts(&buf, ", \"j\": ");
			crdt_buf_append(&buf, e->value, e->value_len);
		}
		crdt_buf_putc(&buf, '}');
	}
	crdt_buf_putc(&buf, ']');
	return crdt_buf_cstring(&buf);
}

/* ---------------------------------------------------------------------
 * Lattice
 * ---------------------------------------------------------------------
 */

CrdtStatus
doc_merge(const DocState *a, const DocState *b, CrdtAllocFn alloc,
		  DocState *out, CrdtError *err)
{
	uint32_t	i = 0,
				j = 0,
				n = 0;
	DocEntry   *e;
	DocState	s;

	/* canonical states: merging with the empty one changes nothing */
	if (a->nentries == 0 || b->nentries == 0)
	{
		*out = (a->nentries == 0) ? *b : *a;
		return CRDT_OK;
	}
	e = alloc(((size_t) a->nentries + b->nentries) * sizeof(DocEntry));
	while (i < a->nentries || j < b->nentries)
	{
		int			c;

		if (i == a->nentries)
			c = 1;
		else if (j == b->nentries)
			c = -1;
		else
			c = doc_entry_path_cmp(&a->entries[i], &b->entries[j]);
		if (c < 0)
			e[n++] = a->entries[i++];
		else if (c > 0)
			e[n++] = b->entries[j++];
		else
		{
			if (doc_entry_rank_cmp(&a->entries[i], &b->entries[j]) >= 0)
				e[n++] = a->entries[i];
			else
				e[n++] = b->entries[j];
			i++;
			j++;
		}
	}
	s.entries = e;
	s.nentries = doc_prune(e, n, false);
	if (doc_check_bounds(&s, err) != CRDT_OK)
		return err ? err->status : CRDT_ERR_TOO_LARGE;
	*out = s;
	return CRDT_OK;
}

bool
doc_equal(const DocState *a, const DocState *b)
{
	if (a->nentries != b->nentries)
		return false;
	for (uint32_t i = 0; i < a->nentries; i++)
	{
		const DocEntry *x = &a->entries[i];
		const DocEntry *y = &b->entries[i];

		if (doc_entry_path_cmp(x, y) != 0 ||
			doc_entry_rank_cmp(x, y) != 0)
			return false;
	}
	return true;
}

/*
 * Exactly merge(a, b) = b.  A merge that exceeds a bound cannot equal b,
 * which is within the bounds.
 */
bool
doc_leq(const DocState *a, const DocState *b, CrdtAllocFn alloc)
{
	DocState	m;

	if (doc_merge(a, b, alloc, &m, NULL) != CRDT_OK)
		return false;
	return doc_equal(&m, b);
}

int64_t
doc_max_hlc(const DocState *s)
{
	int64_t		max = 0;

	for (uint32_t i = 0; i < s->nentries; i++)
		if (s->entries[i].version.hlc > max)
			max = s->entries[i].version.hlc;
	return max;
}

CrdtStatus
doc_apply(const DocState *s, DocEntry *writes, uint32_t n, CrdtVersion v,
		  CrdtAllocFn alloc, DocState *out, CrdtError *err)
{
	DocState	w;
	CrdtStatus	st;

	for (uint32_t i = 0; i < n; i++)
		writes[i].version = v;
	st = doc_canonicalize(writes, n, &w, err);
	if (st != CRDT_OK)
		return st;
	return doc_merge(s, &w, alloc, out, err);
}

/* ---------------------------------------------------------------------
 * Materialization
 * ---------------------------------------------------------------------
 */

/* First entry whose path is >= path (entries are sorted). */
static uint32_t
doc_lower_bound(const DocState *s, const uint8_t *path, uint32_t path_len)
{
	uint32_t	lo = 0,
				hi = s->nentries;

	while (lo < hi)
	{
		uint32_t	mid = lo + (hi - lo) / 2;
		const DocEntry *e = &s->entries[mid];

		if (doc_path_cmp(e->path, e->path_len, path, path_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The contiguous range of entries at path or below it. */
static void
doc_subtree(const DocState *s, const uint8_t *path, uint32_t path_len,
			uint32_t *lo, uint32_t *hi)
{
	uint32_t	a = doc_lower_bound(s, path, path_len);
	uint32_t	b = s->nentries;

	/* entries from *lo on have the prefix up to some point: bisect it */
	*lo = a;
	while (a < b)
	{
		uint32_t	mid = a + (b - a) / 2;

		if (doc_has_prefix(&s->entries[mid], path, path_len))
			a = mid + 1;
		else
			b = mid;
	}
	*hi = a;
}

/* Shape of the subtree [lo, hi) rooted at a path of path_len bytes. */
static DocShape
doc_range_shape(const DocEntry *e, uint32_t lo, uint32_t hi, uint32_t path_len)
{
	const DocEntry *self = NULL;

	if (lo < hi && e[lo].path_len == path_len)
		self = &e[lo++];
	if (self != NULL && self->kind == DOC_OBJECT)
		return DOC_SHAPE_OBJECT;
	for (uint32_t i = lo; i < hi; i++)
	{
		if (!DOC_KIND_LIVE(e[i].kind))
			continue;
		/* a live entry below makes an object, unless a newer value wins */
		if (self == NULL || self->kind != DOC_VALUE ||
			crdt_version_cmp(e[i].version, self->version) > 0)
			return DOC_SHAPE_OBJECT;
	}
	return (self != NULL && self->kind == DOC_VALUE) ?
		DOC_SHAPE_VALUE : DOC_SHAPE_ABSENT;
}

DocShape
doc_shape_at(const DocState *s, const uint8_t *path, uint32_t path_len,
			 uint32_t depth)
{
	uint32_t	lo,
				hi,
				off = 0;

	/* Every proper ancestor must be an object for the path to exist. */
	for (uint32_t k = 0; k < depth; k++)
	{
		doc_subtree(s, path, off, &lo, &hi);
		if (doc_range_shape(s->entries, lo, hi, off) != DOC_SHAPE_OBJECT)
			return DOC_SHAPE_ABSENT;
		off += 4 + doc_get_u32(path + off);
	}
	doc_subtree(s, path, path_len, &lo, &hi);
	return doc_range_shape(s->entries, lo, hi, path_len);
}

/*
 * Appends the subtree [lo, hi) whose paths share the first `depth` keys.
 * off[i] is where entry i's key number `depth` starts in its path; an
 * entry at the subtree's own path has off[i] == path_len.
 */
static void
doc_mat(const DocEntry *e, uint32_t lo, uint32_t hi, uint32_t *off,
		CrdtBuf *buf, bool *present)
{
	const DocEntry *self = NULL;
	uint32_t	i = lo;
	size_t		start = buf->len;
	int			nmembers = 0;

	if (lo < hi && off[lo] == e[lo].path_len)
		self = &e[i++];
	if (self != NULL && self->kind == DOC_VALUE)
	{
		bool		newer = false;

		for (uint32_t j = i; j < hi && !newer; j++)
			newer = DOC_KIND_LIVE(e[j].kind) &&
				crdt_version_cmp(e[j].version, self->version) > 0;
		if (!newer)
		{
			crdt_buf_append(buf, self->value, self->value_len);
			*present = true;
			return;
		}
	}

	crdt_buf_putc(buf, '{');
	while (i < hi)
	{
		uint32_t	klen = doc_get_u32(e[i].path + off[i]);
		const uint8_t *key = e[i].path + off[i] + 4;
		uint32_t	j = i + 1;
		size_t		mark = buf->len;
		bool		child;

		while (j < hi && doc_get_u32(e[j].path + off[j]) == klen &&
			   (klen == 0 || memcmp(e[j].path + off[j] + 4, key, klen) == 0))
			j++;
		for (uint32_t k = i; k < j; k++)
			off[k] += 4 + klen;
		if (nmembers > 0)
			crdt_buf_puts(buf, ", ");
		doc_put_string(buf, (const char *) key, klen, false);
		crdt_buf_puts(buf, ": ");
		doc_mat(e, i, j, off, buf, &child);
		if (child)
			nmembers++;
		else
			buf->len = mark;
		i = j;
	}
	crdt_buf_putc(buf, '}');

	if (nmembers == 0 && !(self != NULL && self->kind == DOC_OBJECT))
	{
		buf->len = start;
		*present = false;
	}
	else
		*present = true;
}

CrdtStatus
doc_materialize(const DocState *s, const uint8_t *path, uint32_t path_len,
				uint32_t depth, CrdtAllocFn alloc, CrdtBuf *buf, bool *found,
				CrdtError *err)
{
	uint32_t	lo,
				hi;
	uint32_t   *off;
	bool		present;

	if (depth > 0 && doc_shape_at(s, path, path_len, depth) == DOC_SHAPE_ABSENT)
	{
		*found = false;
		return CRDT_OK;
	}
	doc_subtree(s, path, path_len, &lo, &hi);
	off = alloc(((size_t) hi + 1) * sizeof(uint32_t));
	for (uint32_t i = lo; i < hi; i++)
		off[i] = path_len;
	doc_mat(s->entries, lo, hi, off, buf, &present);
	if (!present)
	{
		if (depth > 0)
		{
			*found = false;
			return CRDT_OK;
		}
		crdt_buf_puts(buf, "{}");
	}
	*found = true;
	return CRDT_OK;
}
