/*-------------------------------------------------------------------------
 * hlc.c
 *	  Hybrid logical clock shared by all backends, persisted so that it
 *	  never runs backwards across a restart or crash.
 *
 * A timestamp is (unix_ms << 16) | logical.  HlcNow() returns
 * max(last + 1, wall clock): strictly increasing across every backend
 * because the shared value is advanced with compare-and-swap.
 *
 * Surviving restarts: before any timestamp above the persisted "ceiling" is
 * handed out, a new ceiling (that timestamp plus HLC_CEILING_WINDOW) is
 * written and fsync'ed to $PGDATA/edge_crdt.hlc.  At startup the clock
 * resumes from the ceiling, so it is above everything issued before even if
 * the wall clock went backwards or the server crashed.  This is the same
 * trade PostgreSQL makes for sequences (log ahead, skip on crash): one fsync
 * per window instead of one per timestamp, at the price of jumping up to one
 * window ahead after a crash.
 *
 * Locking: "last" and "ceiling" are atomics; the LWLock only serializes
 * writers of the ceiling file.
 *
 * IDENTIFICATION
 *	  src/clock/hlc.c
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "edge_crdt/hlc.h"
#include "edge_crdt/shmem.h"

#define HLC_FILE			"edge_crdt.hlc"
#define HLC_FILE_TMP		"edge_crdt.hlc.tmp"
#define HLC_FILE_MAGIC		0x45434c31	/* "ECL1" */

/* How far ahead of the newest timestamp the persisted ceiling is put. */
#define HLC_CEILING_WINDOW	HLC_FROM_MS(1000)

typedef struct HlcShared
{
	pg_atomic_uint64 last;		/* newest timestamp issued or observed */
	pg_atomic_uint64 ceiling;	/* nothing above this has been issued */
	LWLock	   *lock;			/* serializes writes of HLC_FILE */
} HlcShared;

typedef struct HlcFile
{
	uint32		magic;
	uint32		pad;
	uint64		ceiling;
} HlcFile;

static HlcShared *hlc = NULL;

static int64 hlc_wall_clock(void);
static void hlc_persist_ceiling(uint64 needed);
static uint64 hlc_read_ceiling_file(void);

Size
HlcShmemSize(void)
{
	return MAXALIGN(sizeof(HlcShared));
}

void
HlcShmemInit(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hlc = ShmemInitStruct("edge_crdt hlc", sizeof(HlcShared), &found);
	if (!found)
	{
		uint64		ceiling = hlc_read_ceiling_file();

		pg_atomic_init_u64(&hlc->last, ceiling);
		pg_atomic_init_u64(&hlc->ceiling, ceiling);
		hlc->lock = &(GetNamedLWLockTranche("edge_crdt"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Wall clock as an HLC value with a zero logical part. */
static int64
hlc_wall_clock(void)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		unix_ms;

	unix_ms = now / 1000 +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	return HLC_FROM_MS(unix_ms);
}

static uint64
hlc_read_ceiling_file(void)
{
	HlcFile		f;
	int			fd;
	int			r;

	fd = OpenTransientFile(HLC_FILE, O_RDONLY | PG_BINARY);
	if (fd < 0)
	{
		if (errno == ENOENT)
			return 0;
		ereport(FATAL,
				(errcode_for_file_access(),
				 errmsg("could not open file \"%s\": %m", HLC_FILE)));
	}
	r = read(fd, &f, sizeof(f));
	if (r != sizeof(f) || f.magic != HLC_FILE_MAGIC)
		ereport(FATAL,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("edge_crdt clock file \"%s\" is corrupt", HLC_FILE),
				 errdetail("The file must hold the persisted clock ceiling; starting without it could issue timestamps that were issued before."),
				 errhint("If the file was damaged, restore it from a backup or remove it only after making sure the wall clock is past every timestamp this node issued.")));
	CloseTransientFile(fd);
	return f.ceiling;
}

/*
 * Make sure the persisted ceiling is at least "needed" before the caller
 * hands out "needed".  Write to a temporary file and rename durably, so a
 * crash leaves either the old or the new ceiling, never a torn one.
 */
static void
hlc_persist_ceiling(uint64 needed)
{
	HlcFile		f;
	int			fd;

	LWLockAcquire(hlc->lock, LW_EXCLUSIVE);
	if (pg_atomic_read_u64(&hlc->ceiling) >= needed)
	{
		LWLockRelease(hlc->lock);
		return;
	}

	memset(&f, 0, sizeof(f));
	f.magic = HLC_FILE_MAGIC;
	f.ceiling = needed + HLC_CEILING_WINDOW;

	fd = OpenTransientFile(HLC_FILE_TMP, O_WRONLY | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", HLC_FILE_TMP)));
	errno = 0;
	if (write(fd, &f, sizeof(f)) != sizeof(f))
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not write file \"%s\": %m", HLC_FILE_TMP)));
	}
	if (pg_fsync(fd) != 0)
		ereport(data_sync_elevel(ERROR),
				(errcode_for_file_access(),
				 errmsg("could not fsync file \"%s\": %m", HLC_FILE_TMP)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not close file \"%s\": %m", HLC_FILE_TMP)));
	durable_rename(HLC_FILE_TMP, HLC_FILE, ERROR);

	pg_atomic_write_u64(&hlc->ceiling, f.ceiling);
	LWLockRelease(hlc->lock);
}

int64
HlcNow(void)
{
	return HlcNowBounded(1 << HLC_LOGICAL_BITS);
}

/*
 * A fresh value whose logical part is below logical_limit: when the
 * current millisecond has used them up, the value moves on to the next
 * millisecond (ahead of the wall clock, as observing a remote value
 * would), so callers packing the logical part into fewer bits never see
 * it wrap.
 */
int64
HlcNowBounded(uint32 logical_limit)
{
	uint64		wall;
	uint64		old;
	uint64		next;

	EdgeCrdtRequireSharedState();
	Assert(logical_limit > 1 && logical_limit <= (1 << HLC_LOGICAL_BITS));

	wall = (uint64) hlc_wall_clock();
	old = pg_atomic_read_u64(&hlc->last);
	do
	{
		next = Max(old + 1, wall);
		if ((next & ((1 << HLC_LOGICAL_BITS) - 1)) >= logical_limit)
			next = HLC_FROM_MS(HLC_TO_MS(next) + 1);
	} while (!pg_atomic_compare_exchange_u64(&hlc->last, &old, next));

	if (next > pg_atomic_read_u64(&hlc->ceiling))
		hlc_persist_ceiling(next);

	return (int64) next;
}

int64
HlcObserve(int64 remote, const char *peer)
{
	int64		wall;
	uint64		old;

	EdgeCrdtRequireSharedState();

	if (remote < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid hybrid logical clock value %lld",
						(long long) remote),
				 errdetail("Clock values are non-negative.")));

	wall = hlc_wall_clock();
	if (remote > wall && HLC_TO_MS(remote - wall) > edge_crdt_max_clock_skew)
	{
		long long	ahead_ms = (long long) HLC_TO_MS(remote - wall);

		if (peer != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("clock of peer \"%s\" is ahead of the local clock by more than edge_crdt.max_clock_skew",
							peer),
					 errdetail("The remote clock value is %lld ms ahead; edge_crdt.max_clock_skew is %d ms.",
							   ahead_ms, edge_crdt_max_clock_skew),
					 errhint("Synchronize the clocks of both nodes (NTP), or raise edge_crdt.max_clock_skew.")));
		else
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("clock value is ahead of the local clock by more than edge_crdt.max_clock_skew"),
					 errdetail("The value is %lld ms ahead; edge_crdt.max_clock_skew is %d ms.",
							   ahead_ms, edge_crdt_max_clock_skew),
					 errhint("Synchronize the clocks of both nodes (NTP), or raise edge_crdt.max_clock_skew.")));
	}

	old = pg_atomic_read_u64(&hlc->last);
	while (old < (uint64) remote)
	{
		if (pg_atomic_compare_exchange_u64(&hlc->last, &old, (uint64) remote))
		{
			old = (uint64) remote;
			break;
		}
	}

	/* The next HlcNow() may return remote + 1: cover it now. */
	if ((uint64) remote + 1 > pg_atomic_read_u64(&hlc->ceiling))
		hlc_persist_ceiling((uint64) remote + 1);

	return (int64) old;
}

/*---- SQL-callable functions ----*/

PG_FUNCTION_INFO_V1(hlc_now_sql);
Datum
hlc_now_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(HlcNow());
}

PG_FUNCTION_INFO_V1(hlc_observe_sql);
Datum
hlc_observe_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(HlcObserve(PG_GETARG_INT64(0), NULL));
}

PG_FUNCTION_INFO_V1(hlc_to_timestamptz_sql);
Datum
hlc_to_timestamptz_sql(PG_FUNCTION_ARGS)
{
	int64		h = PG_GETARG_INT64(0);
	int64		unix_ms;
	TimestampTz ts;

	if (h < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid hybrid logical clock value %lld", (long long) h),
				 errdetail("Clock values are non-negative.")));

	unix_ms = HLC_TO_MS(h);
	ts = (unix_ms - (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000) * 1000;
	if (!IS_VALID_TIMESTAMP(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for clock value %lld", (long long) h)));
	PG_RETURN_TIMESTAMPTZ(ts);
}
