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
# measures core sharing, not what streaming costs the origin; 0: no pinning).
#
set -euo pipefail
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)

TXNS=${BENCH_TXNS:-200000}
LAG_SECONDS=${BENCH_LAG_SECONDS:-15}
SECS=${BENCH_SECONDS:-15}
ROWS=1000

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

# --- 1. apply throughput ----------------------------------------------------
psql_on A -c "INSERT INTO native_t SELECT g, 0 FROM generate_series(1, $ROWS) g"
psql_on A -c "CREATE PUBLICATION native_pub FOR TABLE native_t" >/dev/null
psql_on B -c "CREATE SUBSCRIPTION native_sub CONNECTION '$(dsn_of A)' PUBLICATION native_pub" >/dev/null
psql_on B -c "SELECT edge_crdt.add_peer('n_A', '$(dsn_of A)')" >/dev/null
psql_on A -c "INSERT INTO crdt_t SELECT g, 0 FROM generate_series(1, $ROWS) g"
until [ "$(psql_on B -c "SELECT (SELECT count(*) FROM native_t) + (SELECT count(*) FROM crdt_t)")" = $((2 * ROWS)) ]; do
	sleep 0.2
done

for t in native crdt; do
	printf '\\set id random(1, %d)\nUPDATE %s_t SET v = v + 1 WHERE id = :id;\n' "$ROWS" "$t" >"$BENCH_DIR/upd_$t.sql"
done
chmod 644 "$BENCH_DIR"/*.sql

# catch_up KIND: load A while B's apply is paused, then time B's catch-up.
catch_up() {
	local kind=$1 target t0 t1
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
	until [ "$(psql_on B -c "SELECT sum(v) FROM ${kind}_t")" = "$target" ]; do
		sleep 0.05
	done
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'
}

native_s=$(catch_up native)
crdt_s=$(catch_up crdt)
echo "apply throughput, $TXNS single-row UPDATE transactions:"
echo "  native logical replication  ${native_s} s  ($(awk -v n=$TXNS -v s=$native_s 'BEGIN { printf "%d", n / s }') txn/s)"
echo "  edge_crdt                   ${crdt_s} s  ($(awk -v n=$TXNS -v s=$crdt_s 'BEGIN { printf "%d", n / s }') txn/s)"
echo "  edge_crdt / native time = $(bench_ratio "$crdt_s" "$native_s") (target <= 1.0)"
psql_on B -c "DROP SUBSCRIPTION native_sub" >/dev/null

# --- 2. lag through the WAN proxy --------------------------------------------
# Commits must be durable for the walsender to ship them at once (with
# synchronous_commit = off it waits for the WAL writer): measure lag as a
# real application would see it.
psql_on A -c "ALTER SYSTEM SET synchronous_commit = on" -c "SELECT pg_reload_conf()" >/dev/null
psql_on B -c "SELECT edge_crdt.remove_peer('n_A')" >/dev/null
"$BENCH_DIR/wanproxy" --listen 55601 --target 55501 --control 55602 \
	--latency-up 25 --latency-down 25 >"$BENCH_DIR/proxy.log" 2>&1 &
sleep 0.3
psql_on B -c "SELECT edge_crdt.add_peer('n_A', 'host=127.0.0.1 port=55601 dbname=postgres user=postgres')" >/dev/null
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

# --- 3. origin cost ---------------------------------------------------------
psql_on A -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
# The same two-subscriber setup with native logical replication is measured
# too: on two cores, every walsender competes with the writers for CPU.
psql_on B -c "SELECT edge_crdt.remove_peer('n_A')" >/dev/null
tps() { pgbench_on A -n -c 2 -j 2 -T "$SECS" -f "$BENCH_DIR/upd_$1.sql" postgres 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }
alone=$(tps crdt)
native_alone=$(tps native)
psql_on B -c "SELECT edge_crdt.add_peer('n_A', '$(dsn_of A)')" >/dev/null
psql_on C -c "SELECT edge_crdt.add_peer('n_A', '$(dsn_of A)')" >/dev/null
sleep 2
streamed=$(tps crdt)
psql_on B -c "SELECT edge_crdt.pause_peer('n_A')" >/dev/null
psql_on C -c "SELECT edge_crdt.pause_peer('n_A')" >/dev/null
for n in B C; do
	psql_on $n -c "TRUNCATE native_t" >/dev/null
	psql_on $n -c "CREATE SUBSCRIPTION native_sub_$n CONNECTION '$(dsn_of A)' PUBLICATION native_pub WITH (slot_name = 'native_${n,,}')" >/dev/null
done
sleep 3
native_streamed=$(tps native)
echo "origin cost, pgbench single-row UPDATE on A (2 clients), ${SECS}s each:"
echo "  edge_crdt: no peers $(printf %.0f "$alone") tps, two peers streaming $(printf %.0f "$streamed") tps, ratio $(bench_ratio "$streamed" "$alone") (target >= 0.90)"
echo "  native:    no subscribers $(printf %.0f "$native_alone") tps, two subscribers $(printf %.0f "$native_streamed") tps, ratio $(bench_ratio "$native_streamed" "$native_alone")"
