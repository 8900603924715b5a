/*-------------------------------------------------------------------------
 * stream.h
 *	  Replicated streams (src/stream): what other modules call.
 *
 * A global stream's message travels as a transactional logical message of
 * kind EDGE_CRDT_MSG_STREAM (message.h).  Its body, version 1, all integers
 * big-endian:
 *
 *	  uint8    version (STREAM_BODY_VERSION)
 *	  uint8    flags: STREAM_HAS_KEY | STREAM_HAS_HEADERS | STREAM_HAS_DEDUP
 *	  int32    origin node id (must be the node whose transaction carried it)
 *	  int64    hlc        } the message id "<hlc>-<origin>-<seq>"
 *	  int32    seq        }
 *	  int64    published_at (TimestampTz)
 *	  string   stream name
 *	  string   key          (if STREAM_HAS_KEY)
 *	  string   headers      (if STREAM_HAS_HEADERS; JSON object as text)
 *	  string   dedup_id     (if STREAM_HAS_DEDUP)
 *	  string   payload      (JSON as text)
 *
 * where string = uint32 length + bytes (no terminator, no NUL inside, valid
 * in the database encoding).  Nothing may follow the payload.
 *
 * IDENTIFICATION
 *	  src/include/edge_crdt/stream.h
 *-------------------------------------------------------------------------
 */
#ifndef EDGE_CRDT_STREAM_H
#define EDGE_CRDT_STREAM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

#define STREAM_BODY_VERSION		1

#define STREAM_HAS_KEY			0x01
#define STREAM_HAS_HEADERS		0x02
#define STREAM_HAS_DEDUP		0x04

/* Size bounds, in bytes of text (also enforced by publish in SQL). */
#define STREAM_MAX_NAME			200
#define STREAM_MAX_KEY			1024
#define STREAM_MAX_HEADERS		65536
#define STREAM_MAX_DEDUP		256
#define STREAM_MAX_PAYLOAD		1048576
/* JSON nesting a peer may send (publish's own limit is the server's stack) */
#define STREAM_MAX_JSON_DEPTH	1000

/*
 * Advisory lock kinds (locktag field4 values, so they never meet a user's
 * pg_advisory_lock): key1 = database, key2 = stream id, key3 = sub.
 *	 PUBLISH  shared by every transaction that stores a message until it ends;
 *			  taken exclusively by group_create (until commit), stream_trim
 *			  and read()'s horizon barrier (momentarily)
 *	 DEDUP	  exclusive per (stream, hash of dedup_id)
 *	 WAITER   shared per (stream, group id) by a read_group that waits, while
 *			  it runs; a committing publisher wakes holders' latches
 *	 LEASE	  exclusive per (stream, group id) while a consumer of a shared
 *			  group chooses and inserts a lease (released at once)
 *	 INSERT   shared by a store from before its nextval of the position until
 *			  the row and its index entries are in (released at once); a
 *			  shared group's floor moves only past positions drawn while no
 *			  store held it (stream_lease.c)
 */
#define STREAM_LOCK_PUBLISH		0x5301
#define STREAM_LOCK_DEDUP		0x5302
#define STREAM_LOCK_WAITER		0x5303
#define STREAM_LOCK_LEASE		0x5304
#define STREAM_LOCK_INSERT		0x5305

/* One decoded message body (pointers into the body, not terminated). */
typedef struct StreamBody
{
	uint8		flags;
	int32		origin;
	int64		hlc;
	int32		seq;
	int64		published_at;
	const char *name;
	uint32		name_len;
	const char *key;
	uint32		key_len;
	const char *headers;
	uint32		headers_len;
	const char *dedup;
	uint32		dedup_len;
	const char *payload;
	uint32		payload_len;
} StreamBody;

/* Encode into buf (stream_apply.c). */
extern void StreamBodyEncode(StringInfo buf, const StreamBody *body);

/*
 * A stream message published on another node arrived through the
 * replicator (the body of an EDGE_CRDT_MSG_STREAM message, without the kind
 * byte).  Called inside the apply transaction: store it, wake waiting
 * readers at commit.  Bad bytes from a peer raise an ERROR with a class-22
 * code (ERRCODE_INVALID_BINARY_REPRESENTATION, or 22P02 for invalid JSON) so
 * that the transaction is quarantined, never a crash.  origin_node 0 means "not known" (a
 * quarantined transaction applied again through edge_crdt.apply_change):
 * the body's origin is taken as it is.
 */
extern void StreamApplyRemote(const char *body, uint32 len, int32 origin_node);

/*
 * Wake the readers waiting for a group of the stream when the transaction
 * commits (stream.c): every one, or for a shared group one that sleeps.
 */
extern void StreamWakeAtCommit(int32 stream_id, int32 group_id, bool shared);

/* The same if it aborts (it took messages from the group: they come back). */
extern void StreamWakeAtAbort(int32 stream_id, int32 group_id, bool shared);

/*
 * The wait of read_group (stream.c): StreamWaitBegin registers the backend
 * as a waiter of the group before its first look for messages (and on a
 * busy shared group may sleep first, at most until deadline);
 * StreamWaitSleep, between looks, sleeps until a publisher commits, the
 * deadline passes, or an interrupt arrives; StreamWaitEnd when it returns
 * (taken: the last look took messages; full: as many as asked for).
 */
extern void StreamWaitBegin(int32 stream_id, int32 group_id, bool shared,
							TimestampTz deadline);
extern void StreamWaitSleep(TimestampTz deadline);
extern void StreamWaitEnd(bool taken, bool full);

/* edge_crdt.stream_batch_delay (stream.c), defined by _PG_init */
extern void StreamDefineGucs(void);

#endif							/* EDGE_CRDT_STREAM_H */
