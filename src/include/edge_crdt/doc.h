/*-------------------------------------------------------------------------
 * doc.h
 *	  JSON document CRDT (edge_crdt.doc): a last-writer-wins map from paths
 *	  to values, with delete markers.
 *
 * Vocabulary.  A path is a sequence of 0..DOC_MAX_DEPTH text keys; the
 * empty path is the root.  A state is a set of entries, at most one per
 * path.  An entry is (path, version, kind, value): the version is a
 * CrdtVersion (hlc, node), ordered by hlc and then node; the kind is
 *
 *	  DOC_OBJECT   the path was written as an object (possibly {});
 *	  DOC_VALUE    the path holds a JSON scalar or array (arrays are atomic
 *				   registers), kept as canonical JSON text (jsonb's output);
 *	  DOC_DELETE   the path was deleted.
 *
 * A local operation takes ONE fresh version v (HlcNow() at the local node)
 * and writes all of its entries with v.
 *
 * Hiding.  An entry at path p hides every entry at a strict descendant of p
 * whose version is smaller: a write or delete of p replaces everything
 * written below p before it and keeps what was written below p after it.
 * Equal versions do not hide (one operation writes an OBJECT and its
 * children with the same v).  A canonical state contains no hidden entry.
 *
 * Lattice.  merge(a, b) takes, per path, the entry with the greater
 * version, then drops hidden entries.  Two different entries with the same
 * path and version exist only in hostile input; the tie goes to the greater
 * kind (OBJECT < VALUE < DELETE), then to the greater value (bytes, then
 * length), so every path is a register over a total order and merge stays a
 * join.  Dropping hidden entries is safe because hiding is monotone: the
 * entry at a path is only ever replaced by one with a greater version, so
 * an entry hidden once stays hidden after any merge, and it never hides
 * anything its own hider does not hide.  leq(a, b) is exactly
 * merge(a, b) = b.
 *
 * Materialization (the jsonb a state stands for).  An entry is live when it
 * is a VALUE or an OBJECT.  For a path p let e be the entry at p (if any)
 * and D the live entries at strict descendants of p; then
 *
 *	  1. if e is a VALUE and no entry of D has a greater version than e,
 *		 p is e's value;
 *	  2. otherwise p is the object whose members are p's children that are
 *		 present, in jsonb key order, when e is an OBJECT or D is not empty
 *		 (a child of p is a path p + [k] for a key k that starts the rest of
 *		 some descendant entry's path);
 *	  3. otherwise (e is a DELETE or absent, D empty) p is absent.
 *
 * A path is therefore present exactly when it or a descendant holds a live
 * entry.  The document is the root, or {} when the root is absent.  So a
 * write below a VALUE that is newer than the VALUE turns it into an object
 * (later writer wins), and a delete of p leaves an object of the children
 * written after the delete.  doc_get navigates object members only: a path
 * inside a VALUE (an array element, say) is absent.
 *
 * Entry order.  Paths are compared as their binary encodings (below):
 * key by key, a shorter key first, then bytewise (jsonb's own key order),
 * and a path before its extensions.  The descendants of p therefore follow
 * p contiguously.
 *
 * Text format (canonical on output; input accepts any entry order, any
 * field order and JSON whitespace between tokens, and prunes hidden
 * entries):
 *
 *	  [{"p": [], "v": "5.1000", "k": "obj"},
 *	   {"p": ["a"], "v": "7.1000", "k": "val", "j": [1, 2]},
 *	   {"p": ["a", "b"], "v": "9.2000", "k": "del"}]
 *
 * (one line on output, entries separated by ", ").  "p" is the path as a
 * JSON array of strings, "v" is "hlc.node" (hlc a non-negative int8, node a
 * positive int4), "k" is "obj", "val" or "del", and "j" (only for "val",
 * where it is required) is a JSON scalar or array.  The empty state is [].
 * In keys, '"' and '\' are written \" and \\; bytes below 0x20 and 0x7f as
 * \b \f \n \r \t or \u00XX; every other byte as is.  Input also accepts \/
 * and \uXXXX for code points 0x01 to 0x7f (a \u escape never produces a
 * multibyte character, so keys do not depend on the server encoding).  The
 * core copies "j" verbatim; the server replaces it by its canonical jsonb
 * text.  A repeated path is an error.
 *
 * Binary format (send/recv), big-endian:
 *
 *	  uint8 format version (1), then the body:
 *	  uint32 nentries, then per entry in canonical order:
 *		uint8 depth, depth x (uint32 len, len key bytes),
 *		int64 hlc, int32 node, uint8 kind (1 obj, 2 val, 3 del),
 *		and for DOC_VALUE: uint32 len, len bytes of canonical JSON text.
 *
 * Receive rejects unknown versions, truncation, trailing bytes, unsorted or
 * repeated paths, hidden entries, and invalid keys, kinds or values.
 *
 * On-disk layout: the varlena payload is exactly the binary body, so equal
 * states have equal bytes (there is no padding) and the on-disk form is
 * validated by the same decoder as received data.  Operations decode it
 * into a DocState (an entry array pointing into the bytes) and encode the
 * result.
 *
 * Bounds: see the DOC_MAX_* macros.  Exceeding any of them, including by a
 * merge, is CRDT_ERR_TOO_LARGE.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/doc.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_DOC_H
#define EDGE_CRDT_DOC_H

#include "edge_crdt/crdt_core.h"

#define DOC_MAX_DEPTH			64	/* keys in a path */
#define DOC_MAX_KEY_BYTES		1024	/* bytes in one key */
#define DOC_MAX_ENTRIES			100000	/* entries in a state */
#define DOC_MAX_BYTES			(64 * 1024 * 1024)	/* binary body of a state */
#define DOC_MAX_VALUE_NESTING	1000	/* arrays/objects nested in one value */

#define DOC_BINARY_VERSION		1

typedef enum DocKind
{
	DOC_OBJECT = 1,
	DOC_VALUE = 2,
	DOC_DELETE = 3
} DocKind;

#define DOC_KIND_LIVE(k)	((k) == DOC_OBJECT || (k) == DOC_VALUE)

/*
 * One entry.  The path is its binary encoding: depth times (uint32
 * big-endian length, key bytes); path_len counts those bytes.  Encoded
 * paths compare with memcmp (shorter first on a common prefix), and p is
 * an ancestor of q exactly when p's encoding is a proper prefix of q's.
 * The pointers refer to memory the state does not own (the decoded datum,
 * the parsed text, or the caller's buffers).
 */
typedef struct DocEntry
{
	const uint8_t *path;
	uint32_t	path_len;
	uint32_t	depth;
	CrdtVersion version;
	DocKind		kind;
	const char *value;			/* JSON text for DOC_VALUE, else NULL */
	uint32_t	value_len;
} DocEntry;

typedef struct DocState
{
	DocEntry   *entries;		/* canonical order, no hidden entries */
	uint32_t	nentries;
} DocState;

/* What a path materializes to. */
typedef enum DocShape
{
	DOC_SHAPE_ABSENT,
	DOC_SHAPE_VALUE,
	DOC_SHAPE_OBJECT
} DocShape;

extern void doc_empty(DocState *out);

/* Paths. */
extern CrdtStatus doc_check_key(const char *key, size_t len, CrdtError *err);
extern void doc_path_append(CrdtBuf *path, const char *key, uint32_t len);
extern int	doc_path_cmp(const uint8_t *a, uint32_t alen,
						 const uint8_t *b, uint32_t blen);

/*
 * Sorts entries (which the caller owns and may have modified), validates
 * each one, rejects a repeated path, drops hidden entries and checks the
 * bounds.  The result uses the entries array in place.
 */
extern CrdtStatus doc_canonicalize(DocEntry *entries, uint32_t n,
								   DocState *out, CrdtError *err);

/* Text and binary forms (see above); decode validates everything. */
extern CrdtStatus doc_parse(const char *text, CrdtAllocFn alloc,
							DocState *out, CrdtError *err);
extern char *doc_print(const DocState *s, CrdtAllocFn alloc);
extern size_t doc_encoded_size(const DocState *s);
extern void doc_encode(const DocState *s, CrdtBuf *buf);
extern CrdtStatus doc_decode(const void *data, size_t len, CrdtAllocFn alloc,
							 DocState *out, CrdtError *err);

/* Lattice.  Results may point into both inputs. */
extern CrdtStatus doc_merge(const DocState *a, const DocState *b,
							CrdtAllocFn alloc, DocState *out, CrdtError *err);
extern bool doc_leq(const DocState *a, const DocState *b, CrdtAllocFn alloc);
extern bool doc_equal(const DocState *a, const DocState *b);

/* Greatest hlc in the state (0 when empty). */
extern int64_t doc_max_hlc(const DocState *s);

/*
 * A local operation: stamps every write with version v, canonicalizes the
 * writes (a path written twice is an error) and merges them into s.  With
 * v above every version in s, each write replaces its path and hides what
 * was below it; with any v the result is an inflation of s.
 */
extern CrdtStatus doc_apply(const DocState *s, DocEntry *writes, uint32_t n,
							CrdtVersion v, CrdtAllocFn alloc, DocState *out,
							CrdtError *err);

/*
 * Materialization (see above).  doc_materialize appends the JSON text of
 * the path (the whole document for depth 0) to buf and sets *found; the
 * root is always found.  doc_shape_at says what the path materializes to.
 */
extern CrdtStatus doc_materialize(const DocState *s, const uint8_t *path,
								  uint32_t path_len, uint32_t depth,
								  CrdtAllocFn alloc, CrdtBuf *buf,
								  bool *found, CrdtError *err);
extern DocShape doc_shape_at(const DocState *s, const uint8_t *path,
							 uint32_t path_len, uint32_t depth);

/* Checks that text is exactly one JSON value that is not an object. */
extern CrdtStatus doc_check_value(const char *text, size_t len,
								  CrdtError *err);

/* Appends path as a JSON array of strings (used in messages). */
extern void doc_print_path(CrdtBuf *buf, const uint8_t *path,
						   uint32_t path_len);

#endif							/* EDGE_CRDT_DOC_H */
