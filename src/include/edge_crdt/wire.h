/*-------------------------------------------------------------------------
 * wire.h
 *	  The edge_crdt change-set wire format, shared by the output plugin
 *	  (encoder) and the replicator and changeset_to_json (decoder).
 *
 * One logical decoding message = one wire message:
 *
 *	  uint8  protocol version (WIRE_PROTO_VERSION)
 *	  uint8  message type (WireMsgType)
 *	  ...    body, big-endian, per type:
 *
 *	  BEGIN    uint64 final_lsn, int64 commit_time (PostgreSQL TimestampTz),
 *	           uint32 xid, int32 origin_node
 *	  COMMIT   uint64 commit_lsn, uint64 end_lsn, int64 commit_time
 *	  ROW      string nspname, string relname, int64 cl, uint16 ncolumns,
 *	           ncolumns x column
 *	  DELETE   string nspname, string relname, int64 cl, int64 hlc,
 *	           int32 node, uint16 ncolumns, ncolumns x column (the primary
 *	           key; column versions are zero)
 *	  MESSAGE  uint8 transactional, string prefix, bytes content
 *
 *	  column   string name, string type_name (schema-qualified, as
 *	           format_type_be_qualified prints it), int64 hlc, int32 node,
 *	           uint8 kind (WireValueKind), and unless kind is NULL or
 *	           UNCHANGED: bytes value
 *	  string   uint16 length + bytes (no terminator, at most
 *	           WIRE_MAX_NAME bytes, no NUL byte)
 *	  bytes    uint32 length + bytes (at most WIRE_MAX_VALUE)
 *
 * A ROW message is an upsert carrying the complete row state: causal length,
 * and for every column its version (hlc, node) and full value, so it merges
 * on its own (DESIGN.md section 2, completeness).  A DELETE carries the
 * tombstone.  Columns are matched by name on the receiving side.
 *
 * The decoder is pure C (no server headers) so that it can be fuzzed: it
 * treats input as hostile, checks every length against the bytes remaining
 * before using or allocating, rejects unknown versions and types, trailing
 * bytes, and NUL bytes in strings.  Decoded slices point into the input
 * buffer (zero copy); only the column array is allocated.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/wire.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_WIRE_H
#define EDGE_CRDT_WIRE_H

#include "edge_crdt/crdt_core.h"

#define WIRE_PROTO_VERSION	1

/*
 * With the output plugin's option batch 'on' (what the replicator asks
 * for), a CopyData of the replication stream holds one or more frames,
 * uint32 length + wire message: a transaction's messages travel together,
 * up to WIRE_BATCH_BYTES, so that a small transaction costs the sender one
 * send and the receiver one wake-up instead of three.
 */
#define WIRE_BATCH_BYTES	65536
#define WIRE_MAX_NAME		63			/* NAMEDATALEN - 1 */
#define WIRE_MAX_TYPE_NAME	(2 * WIRE_MAX_NAME + 64)	/* "nsp.type(mods)[]" */
#define WIRE_MAX_COLUMNS	1600		/* MaxHeapAttributeNumber */
#define WIRE_MAX_VALUE		((uint32_t) 0x3fffffff)	/* MaxAllocSize - 1 */

typedef enum WireMsgType
{
	WIRE_BEGIN = 'B',
	WIRE_COMMIT = 'C',
	WIRE_ROW = 'R',
	WIRE_DELETE = 'D',
	WIRE_MESSAGE = 'M'
} WireMsgType;

typedef enum WireValueKind
{
	WIRE_NULL = 'n',
	WIRE_BINARY = 'b',			/* the type's send/recv format */
	WIRE_TEXT = 't',			/* the type's output/input format */
	WIRE_UNCHANGED = 'u'		/* not sent; capture should never need it */
} WireValueKind;

/* A length-delimited piece of the message; not NUL-terminated. */
typedef struct WireSlice
{
	const char *data;
	uint32_t	len;
} WireSlice;

typedef struct WireColumn
{
	WireSlice	name;
	WireSlice	type_name;
	CrdtVersion version;
	WireValueKind kind;
	WireSlice	value;			/* only for WIRE_BINARY and WIRE_TEXT */
} WireColumn;

typedef struct WireMessage
{
	WireMsgType type;

	/* BEGIN, COMMIT */
	uint64_t	lsn;			/* BEGIN: final_lsn; COMMIT: commit_lsn */
	uint64_t	end_lsn;		/* COMMIT */
	int64_t		commit_time;	/* BEGIN, COMMIT */
	uint32_t	xid;			/* BEGIN */
	int32_t		origin_node;	/* BEGIN */

	/* ROW, DELETE */
	WireSlice	nspname;
	WireSlice	relname;
	int64_t		cl;				/* causal length */
	CrdtVersion version;		/* DELETE: version of the tombstone */
	uint16_t	ncolumns;
	WireColumn *columns;

	/* MESSAGE */
	bool		transactional;
	WireSlice	prefix;
	WireSlice	content;
} WireMessage;

/* Append one encoded message; the caller guarantees the limits above. */
extern void wire_encode(CrdtBuf *buf, const WireMessage *msg);

/*
 * Decode exactly one message occupying all of data[0..len).  On failure
 * returns CRDT_ERR_CORRUPT (malformed, truncated, trailing bytes),
 * CRDT_ERR_INVALID (unknown version or type) or CRDT_ERR_TOO_LARGE, with a
 * message saying what and at which offset.
 */
extern CrdtStatus wire_decode(const void *data, size_t len, WireMessage *msg,
							  CrdtAllocFn alloc, CrdtError *err);

/* Human-readable name of a message type ("begin", ...), or NULL. */
extern const char *wire_msg_type_name(WireMsgType type);

#endif							/* EDGE_CRDT_WIRE_H */
