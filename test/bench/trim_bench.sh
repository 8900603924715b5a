#!/bin/bash
#
# trim_bench.sh -- how much stream trimming delays publishers.
#
# One instance, two streams: "a" (max_len 1, so every trim rotates or
# truncates it) and "b" (BENCH_ROWS messages of 1 kB and a max_len it never
# reaches, so every trim counts all of it).  One producer publishes to "a"
# for BENCH_SECONDS, once with the manager trimming every 500 ms and once
# with trimming off (the baseline, same instance, same data); pgbench's
# per-transaction log gives the latencies.  A trim that held a's locks
# while it counted b would show as publishes of a taking as long as that
# count.
#
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROWS=${BENCH_ROWS:-300000}
SECS=${BENCH_SECONDS:-10}

bench_start "synchronous_commit = off" "edge_crdt.stream_trim_interval = 0"
$PSQL -q >/dev/null <<'SQL'
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('bench', NULL, node_id => 1);
SELECT edge_crdt.stream_create('a', 'local', max_len => 1);
SELECT edge_crdt.stream_create('b', 'local', max_len => 1000000000);
CREATE TABLE payload AS SELECT jsonb_build_object('body', repeat('x', 1000)) AS p;
SQL
for ((i = 0; i < ROWS; i += 10000)); do
	$PSQL -q -c "SELECT count(*) FROM edge_crdt.publish_batch('b', (SELECT array_agg(p) FROM payload, generate_series(1, 10000)))" >/dev/null
done

W="$BENCH_DIR/work"
mkdir -p "$W"
[ "$(id -u)" -eq 0 ] && chown postgres: "$W"
echo "SELECT edge_crdt.publish('a', (SELECT p FROM payload));" >"$W/pub.sql"
[ "$(id -u)" -eq 0 ] && chown postgres: "$W/pub.sql"

# publish to a for SECS with the given trim interval; prints count, p99, max (ms)
run() {
	$PSQL -q -c "ALTER SYSTEM SET edge_crdt.stream_trim_interval = '$1'" -c "SELECT pg_reload_conf()" >/dev/null
	rm -f "$W"/pgbench_log.*
	(cd "$W" && $PGBENCH -n -c 1 -T "$SECS" -l -f "$W/pub.sql" postgres >/dev/null 2>&1)
	cat "$W"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -n |
		awk '{ v[NR] = $1 } END { printf "%d %.2f %.1f\n", NR, v[int(NR * 0.99)], v[NR] }'
}

left_in_a() { $PSQL -At -c "SELECT count(*) FROM edge_crdt.stream_message m JOIN edge_crdt.stream s USING (stream_id) WHERE s.name = 'a'"; }
read -r n0 p0 m0 < <(run 0)
read -r n1 p1 m1 < <(run 500ms)

echo "trim bench: stream b holds $ROWS messages of 1 kB (counted by every trim), one producer publishes to stream a for ${SECS}s, $(nproc) cores"
printf "%-30s %10s %10s %10s\n" "" "publishes" "p99 ms" "max ms"
printf "%-30s %10s %10s %10s\n" "no trimming (baseline)" "$n0" "$p0" "$m0"
printf "%-30s %10s %10s %10s\n" "trimming every 500 ms" "$n1" "$p1" "$m1"
echo "messages left in stream a: $(left_in_a) of $((n0 + n1)) published (the trims truncated the rest)"
echo "ratio, slowest publish with trimming / without: $(bench_ratio "$m1" "$m0")"
