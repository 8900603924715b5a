#!/bin/bash
#
# replication_bench.sh -- the replicator against PostgreSQL's native logical
# replication, in one run, on the same instances.
#
# 1. Apply throughput: N single-row UPDATE transactions are committed on A
#    while the subscriber on B is paused; then it is resumed and the time
#    until B has caught up is measured, for a native subscription and for
#    edge_crdt (pause_peer/resume_peer).  Target: edge_crdt <= 1.0 x native.
# 2. Lag at ~1000 tps with 25 ms one-way latency through test/tools/wanproxy:
#    an ALWAYS trigger on B records (apply time - insert time on A) per row;
#    prints p50 and p99.  Target: p99 <= 40 ms.
# 3. Origin cost: pgbench TPS on A with two peers streaming from it (B, C)
#    vs with none.  Target: >= 0.90.
#
# Environment: BENCH_TXNS (200000), BENCH_LAG_SECONDS (15),
# BENCH_SECONDS (15), BENCH_PIN (1 on a machine with 2+ cores: A and its
# pgbench run on CPU 0, B and C on the others, as if they were other
# machines -- otherwise the peers' apply takes the origin's CPU and part 3
# measures core sharing, not what streaming costs the origin; 0: no pinning),
# BENCH_PARTS (which parts to run, default "1 2 3"), BENCH_PERF (a
# directory: perf profiles are recorded there of B's apply, A's walsender
# and all CPUs during each catch-up, and of CPU 0 (A) while part 3
# measures; this slows what it records).
#
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

TXNS=${BENCH_TXNS:-200000}
LAG_SECONDS=${BENCH_LAG_SECONDS:-15}
SECS=${BENCH_SECONDS:-15}
PARTS=${BENCH_PARTS:-1 2 3}
PERF_DIR=${BENCH_PERF:-}
ROWS=1000

part() { [[ " $PARTS " == *" $1 "* ]]; }

# perf_start NAME FILE QUERY: profile the processes of NAME that QUERY
# (pids, one a line) returns, waiting for them to appear.  perf_cpu FILE
# CPU: profile everything on CPU.  perf_stop ends every profile started.
PERF_PIDS=()
perf_start() {
	local name=$1 file=$2 query=$3 pids="" i
	[ -n "$PERF_DIR" ] || return 0
	for i in $(seq 200); do
		pids=$(psql_on "$name" -c "$query" | paste -sd,)
		[ -n "$pids" ] && break
		sleep 0.05
	done
	[ -n "$pids" ] || return 0
	perf record -q -g -p "$pids" -o "$PERF_DIR/$file" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
}
perf_cpu() {
	[ -n "$PERF_DIR" ] || return 0
	perf record -q -g -a -C "$2" -o "$PERF_DIR/$1" >/dev/null 2>&1 &
	PERF_PIDS+=($!)
}
perf_stop() {
	local pid
	for pid in "${PERF_PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PERF_PIDS=()
}

# A writes fast (the load generator should not be the bottleneck); B and C
# apply with the settings they would use anyway.
NCPU=$(nproc)
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$NCPU" -ge 2 ]; then
	bench_pin A 0
	bench_pin B "1-$((NCPU - 1))"
	bench_pin C "1-$((NCPU - 1))"
	echo "pinned: A and its pgbench on CPU 0, B and C on CPUs 1-$((NCPU - 1))"
fi
bench_node A 55501 "synchronous_commit = off"
bench_node B 55502
bench_node C 55503
# A profile must not outlive the run (nor keep holding the caller's lock).
trap 'perf_stop; bench_cleanup' EXIT
cc -O2 -o "$BENCH_DIR/wanproxy" "$SRC/test/tools/wanproxy.c"

for n in A B C; do
	psql_on $n <<SQL
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('n_$n', NULL, node_id => $(( $(printf '%d' "'$n") )));
CREATE TABLE native_t (id int PRIMARY KEY, v int NOT NULL);
CREATE TABLE crdt_t (id int PRIMARY KEY, v int NOT NULL);
SELECT edge_crdt.replicate_table('crdt_t');
CREATE TABLE lag_t (id bigint PRIMARY KEY, written timestamptz NOT NULL);
SELECT edge_crdt.replicate_table('lag_t');
CREATE TABLE lag_obs (ms float8);
CREATE FUNCTION lag_record() RETURNS trigger LANGUAGE plpgsql AS
\$\$ BEGIN INSERT INTO public.lag_obs VALUES (extract(epoch FROM clock_timestamp() - NEW.written) * 1000); RETURN NEW; END \$\$;
CREATE TRIGGER lag_record AFTER INSERT ON lag_t FOR EACH ROW EXECUTE FUNCTION lag_record();
ALTER TABLE lag_t ENABLE ALWAYS TRIGGER lag_record;
SQL
done >/dev/null

for t in native crdt; do
	printf '\\set id random(1, %d)\nUPDATE %s_t SET v = v + 1 WHERE id = :id;\n' "$ROWS" "$t" >"$BENCH_DIR/upd_$t.sql"
done
chmod 644 "$BENCH_DIR"/*.sql
psql_on A -c "INSERT INTO native_t SELECT g, 0 FROM generate_series(1, $ROWS) g"
psql_on A -c "CREATE PUBLICATION native_pub FOR TABLE native_t" >/dev/null
psql_on A -c "INSERT INTO crdt_t SELECT g, 0 FROM generate_series(1, $ROWS) g"
B_HAS_PEER=0
remove_b_peer() {
	[ "$B_HAS_PEER" = 1 ] && psql_on B -c "SELECT edge_crdt.remove_peer('n_A')" >/dev/null
	B_HAS_PEER=0
}

# --- 1. apply throughput ----------------------------------------------------
if part 1; then
psql_on B -c "CREATE SUBSCRIPTION native_sub CONNECTION '$(dsn_of A)' PUBLICATION native_pub" >/dev/null
psql_on B -c "SELECT edge_crdt.add_peer('n_A', '$(dsn_of A)')" >/dev/null
B_HAS_PEER=1
until [ "$(psql_on B -c "SELECT (SELECT count(*) FROM native_t) + (SELECT count(*) FROM crdt_t)")" = $((2 * ROWS)) ]; do
	sleep 0.2
done

# catch_up KIND: load A while B's apply is paused, then time B's catch-up.
# Prints the time and, from B's pg_stat_activity afterwards (polling for
# it would take B's CPU), how much of it passed before the apply worker
# process started.
catch_up() {
	local kind=$1 target t0 t1 bt ws
	if [ "$kind" = native ]; then
		psql_on B -c "ALTER SUBSCRIPTION native_sub DISABLE"
	else
		psql_on B -c "SELECT edge_crdt.pause_peer('n_A')" >/dev/null
	fi
	sleep 1
	pgbench_on A -n -c 2 -j 2 -t $((TXNS / 2)) -f "$BENCH_DIR/upd_$kind.sql" postgres >/dev/null
	target=$(psql_on A -c "SELECT sum(v) FROM ${kind}_t")
	t0=$(date +%s.%N)
	if [ "$kind" = native ]; then
		psql_on B -c "ALTER SUBSCRIPTION native_sub ENABLE"
	else
		psql_on B -c "SELECT edge_crdt.resume_peer('n_A')" >/dev/null
	fi
	if [ "$kind" = native ]; then
		perf_start B catchup_native.data "SELECT pid FROM pg_stat_activity WHERE backend_type = 'logical replication worker'"
		perf_start A catchup_native_sender.data "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender' AND application_name = 'native_sub'"
	else
		perf_start B catchup_crdt.data "SELECT pid FROM pg_stat_activity WHERE backend_type = 'edge_crdt peer'"
		perf_start A catchup_crdt_sender.data "SELECT pid FROM pg_stat_activity WHERE backend_type = 'walsender' AND application_name LIKE 'edge_crdt%'"
	fi
	perf_cpu "catchup_${kind}_all.data" "0-$((NCPU - 1))"
	until [ "$(psql_on B -c "SELECT sum(v) FROM ${kind}_t")" = "$target" ]; do
		sleep 0.05
	done
	t1=$(date +%s.%N)
	perf_stop
	if [ "$kind" = native ]; then bt='logical replication worker'; else bt='edge_crdt peer'; fi
	ws=$(psql_on B -c "SELECT extract(epoch FROM max(backend_start)) FROM pg_stat_activity WHERE backend_type = '$bt'")
	ws=${ws:-$t0}				# no worker now: count no start time
	awk -v a="$t0" -v b="$t1" -v w="$ws" 'BEGIN { printf "%.2f %.2f", b - a, w - a }'
}

read -r native_s native_start <<<"$(catch_up native)"
read -r crdt_s crdt_start <<<"$(catch_up crdt)"
echo "apply throughput, $TXNS single-row UPDATE transactions:"
echo "  native logical replication  ${native_s} s  ($(awk -v n=$TXNS -v s=$native_s 'BEGIN { printf "%d", n / s }') txn/s), worker started after ${native_start} s"
echo "  edge_crdt                   ${crdt_s} s  ($(awk -v n=$TXNS -v s=$crdt_s 'BEGIN { printf "%d", n / s }') txn/s), worker started after ${crdt_start} s"
echo "  edge_crdt / native time = $(bench_ratio "$crdt_s" "$native_s") (target <= 1.0)"
echo "  from worker start: edge_crdt / native time = $(bench_ratio \
	"$(awk -v a="$crdt_s" -v b="$crdt_start" 'BEGIN { print a - b }')" \
	"$(awk -v a="$native_s" -v b="$native_start" 'BEGIN { print a - b }')")"
psql_on B -c "DROP SUBSCRIPTION native_sub" >/dev/null
fi

# --- 2. lag through the WAN proxy --------------------------------------------
# Commits must be durable for the walsender to ship them at once (with
# synchronous_commit = off it waits for the WAL writer): measure lag as a
# real application would see it.
if part 2; then
psql_on A -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
remove_b_peer
"$BENCH_DIR/wanproxy" --listen 55601 --target 55501 --control 55602 \
	--latency-up 25 --latency-down 25 >"$BENCH_DIR/proxy.log" 2>&1 &
sleep 0.3
psql_on B -c "SELECT edge_crdt.add_peer('n_A', 'host=127.0.0.1 port=55601 dbname=postgres user=postgres')" >/dev/null
B_HAS_PEER=1
sleep 2
printf 'INSERT INTO lag_t VALUES (nextval(%s), clock_timestamp());\n' "'lag_seq'" >"$BENCH_DIR/lag.sql"
chmod 644 "$BENCH_DIR/lag.sql"
psql_on A -c "CREATE SEQUENCE lag_seq"
pgbench_on A -n -c 2 -j 2 -R 1000 -T "$LAG_SECONDS" -f "$BENCH_DIR/lag.sql" postgres >"$BENCH_DIR/lag_pgbench.log" 2>&1
total=$(psql_on A -c "SELECT count(*) FROM lag_t")
for i in $(seq 600); do
	[ "$(psql_on B -c "SELECT count(*) FROM lag_t")" = "$total" ] && break
	sleep 0.1
done
echo "lag at ~1000 tps through a 25 ms one-way link, ${LAG_SECONDS}s:"
psql_on B -c "SELECT format('  rows %s, p50 %s ms, p99 %s ms, max %s ms (target p99 <= 40 ms)',
	count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), round(max(ms)::numeric, 1))
	FROM lag_obs"
psql_on A -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
fi

# --- 3. origin cost ---------------------------------------------------------
# The same two-subscriber setup with native logical replication is measured
# too: on two cores, every walsender competes with the writers for CPU.
part 3 || exit 0
remove_b_peer
tps() { pgbench_on A -n -c 2 -j 2 -T "$SECS" -f "$BENCH_DIR/upd_$1.sql" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
perf_cpu origin_crdt_alone.data 0
alone=$(tps crdt)
perf_stop
native_alone=$(tps native)
psql_on B -c "SELECT edge_crdt.add_peer('n_A', '$(dsn_of A)')" >/dev/null
psql_on C -c "SELECT edge_crdt.add_peer('n_A', '$(dsn_of A)')" >/dev/null
sleep 2
perf_cpu origin_crdt_streamed.data 0
streamed=$(tps crdt)
perf_stop
psql_on B -c "SELECT edge_crdt.pause_peer('n_A')" >/dev/null
psql_on C -c "SELECT edge_crdt.pause_peer('n_A')" >/dev/null
for n in B C; do
	psql_on $n -c "TRUNCATE native_t" >/dev/null
	psql_on $n -c "CREATE SUBSCRIPTION native_sub_$n CONNECTION '$(dsn_of A)' PUBLICATION native_pub WITH (slot_name = 'native_${n,,}')" >/dev/null
done
sleep 3
perf_cpu origin_native_streamed.data 0
native_streamed=$(tps native)
perf_stop
echo "origin cost, pgbench single-row UPDATE on A (2 clients), ${SECS}s each:"
echo "  edge_crdt: no peers $(printf %.0f "$alone") tps, two peers streaming $(printf %.0f "$streamed") tps, ratio $(bench_ratio "$streamed" "$alone") (target >= 0.90)"
echo "  native:    no subscribers $(printf %.0f "$native_alone") tps, two subscribers $(printf %.0f "$native_streamed") tps, ratio $(bench_ratio "$native_streamed" "$native_alone")"
