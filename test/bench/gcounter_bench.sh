#!/bin/bash
#
# gcounter_bench.sh -- cost of a gcounter column against a plain bigint.
#
# Starts a private temporary instance (edge_crdt preloaded), fills a table
# with a gcounter column and one with a bigint column, and runs the same
# pgbench increment ("SET c = c + 1" on a random row) against each,
# alternating, then prints each TPS, the gcounter/bigint ratio (target
# >= 0.90) and the state size of one node entry.  Not part of the pass/fail
# suite: the numbers depend on the machine.
#
# Needs the extension installed (make install).  Run as root (the server
# and pgbench then run as "postgres") or as an ordinary user.
#
# Environment: BENCH_SECONDS (20), BENCH_ROUNDS (2), BENCH_CLIENTS (2),
# BENCH_ROWS (1000).
#
set -euo pipefail

SECONDS_PER_RUN=${BENCH_SECONDS:-20}
ROUNDS=${BENCH_ROUNDS:-2}
CLIENTS=${BENCH_CLIENTS:-2}
ROWS=${BENCH_ROWS:-1000}

. "$(dirname "$0")/lib.sh"
# Without this the WAL flush of every commit hides what the type costs.
bench_start "synchronous_commit = off"
DIR=$BENCH_DIR
psql() { $PSQL "$@"; }

psql -d postgres -c "CREATE DATABASE bench"
psql -d bench <<EOF
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('bench', 'local') \\g /dev/null
ALTER DATABASE bench SET search_path = public, edge_crdt;
CREATE TABLE t_gcounter (id int PRIMARY KEY, c edge_crdt.gcounter NOT NULL DEFAULT 0);
CREATE TABLE t_bigint (id int PRIMARY KEY, c bigint NOT NULL DEFAULT 0);
INSERT INTO t_gcounter SELECT g, 0 FROM generate_series(1, $ROWS) g;
INSERT INTO t_bigint SELECT g, 0 FROM generate_series(1, $ROWS) g;
-- Steady state: every counter already holds the local node's entry.
UPDATE t_gcounter SET c = c OPERATOR(edge_crdt.+) 1;
UPDATE t_bigint SET c = c + 1;
VACUUM ANALYZE t_gcounter;
VACUUM ANALYZE t_bigint;
EOF

for t in gcounter bigint; do
	printf '\\set id random(1, %d)\nUPDATE t_%s SET c = c + 1 WHERE id = :id;\n' \
		"$ROWS" "$t" >"$DIR/$t.sql"
done
chmod 644 "$DIR"/*.sql

pgbench_tps() {
	$PGBENCH -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECONDS_PER_RUN" \
		-f "$DIR/$1.sql" bench 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

echo "pgbench -n -c $CLIENTS -j $CLIENTS -T $SECONDS_PER_RUN, $ROWS rows," \
	"UPDATE t SET c = c + 1 WHERE id = random, synchronous_commit = off"
sum_bigint=0
sum_gcounter=0
for round in $(seq 1 "$ROUNDS"); do
	for t in bigint gcounter; do
		tps=$(pgbench_tps "$t")
		[ -n "$tps" ] || { echo "pgbench failed; see $DIR/server.log" >&2; exit 1; }
		printf 'round %d  %-8s  %10.1f tps\n' "$round" "$t" "$tps"
		if [ "$t" = bigint ]; then
			sum_bigint=$(awk -v a="$sum_bigint" -v b="$tps" 'BEGIN { print a + b }')
		else
			sum_gcounter=$(awk -v a="$sum_gcounter" -v b="$tps" 'BEGIN { print a + b }')
		fi
	done
done
awk -v b="$sum_bigint" -v g="$sum_gcounter" -v n="$ROUNDS" 'BEGIN {
	printf "mean     bigint    %10.1f tps\n", b / n
	printf "mean     gcounter  %10.1f tps\n", g / n
	printf "ratio    gcounter/bigint = %.3f (target >= 0.90)\n", g / b
}'

# Size of the state: the datum as built in memory, and as stored in a row
# (short varlena header), for one and two node entries.
psql -d bench -At -F ' ' <<'EOF' |
CREATE TEMP TABLE sizes (n int, c edge_crdt.gcounter);
INSERT INTO sizes VALUES (1, '{1:1}'), (2, '{1:1,2:1}');
SELECT 'datum', pg_column_size('{1:1}'::edge_crdt.gcounter),
	pg_column_size('{1:1,2:1}'::edge_crdt.gcounter);
SELECT 'stored', (SELECT pg_column_size(c) FROM sizes WHERE n = 1),
	(SELECT pg_column_size(c) FROM sizes WHERE n = 2);
EOF
while read -r what one two; do
	printf 'size     %-6s  1 entry = %d bytes, 2 entries = %d bytes, per node entry = %d bytes (bigint: 8)\n' \
		"$what" "$one" "$two" $((two - one))
done
