#!/bin/bash
#
# capture_bench.sh -- what change capture costs a writer.
#
# 1. pgbench with a custom script on a 10-column table: replicated vs the
#    same table not replicated, same server, same run, wal_level = logical
#    for both.  Prints TPS, WAL bytes per transaction and the ratio (target
#    TPS ratio >= 0.90), plus metadata bytes per row.
# 2. The unchanged-TOAST cost: a table with a 100 kB text column where the
#    UPDATE touches another column.  Capture rewrites the large value so
#    the change set is complete; this prints TPS and WAL bytes per update
#    with and without replication.
#
# Environment: BENCH_SECONDS (15), BENCH_ROUNDS (2), BENCH_CLIENTS (2),
# BENCH_SYNC_COMMIT (on; "off" makes the run CPU-bound instead of
# fsync-bound).
#
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SECS=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-2}
CLIENTS=${BENCH_CLIENTS:-2}
ROWS=10000

bench_start "synchronous_commit = ${BENCH_SYNC_COMMIT:-on}"
echo "synchronous_commit = ${BENCH_SYNC_COMMIT:-on}, $CLIENTS clients, ${SECS}s x $ROUNDS rounds"
$PSQL <<SQL
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('bench');
CREATE TABLE t_plain (id int PRIMARY KEY, c1 int, c2 int, c3 bigint, c4 text,
	c5 text, c6 float8, c7 timestamptz, c8 boolean, c9 numeric);
CREATE TABLE t_repl (LIKE t_plain INCLUDING ALL);
INSERT INTO t_plain SELECT g, g, g, g, md5(g::text), md5((g+1)::text), g / 3.0,
	now(), g % 2 = 0, g * 1.5 FROM generate_series(1, $ROWS) g;
INSERT INTO t_repl SELECT * FROM t_plain;
SELECT edge_crdt.replicate_table('t_repl');
CREATE TABLE big_plain (id int PRIMARY KEY, n int, body text);
CREATE TABLE big_repl (LIKE big_plain INCLUDING ALL);
-- 100 kB of incompressible text per row
INSERT INTO big_plain SELECT g, 0, (SELECT string_agg(md5(random()::text), '')
	FROM generate_series(1, 3200) WHERE g > 0) FROM generate_series(1, 100) g;
INSERT INTO big_repl SELECT * FROM big_plain;
SELECT edge_crdt.replicate_table('big_repl');
CHECKPOINT;
SQL

for t in plain repl; do
	cat >"$BENCH_DIR/mixed_$t.sql" <<SQL
\set id random(1, $ROWS)
\set nid random($((ROWS + 1)), 1000000000)
BEGIN;
UPDATE t_$t SET c1 = c1 + 1, c4 = md5(random()::text) WHERE id = :id;
INSERT INTO t_$t VALUES (:nid, 1, 2, 3, 'x', 'y', 1.5, now(), true, 2.5) ON CONFLICT (id) DO NOTHING;
SELECT c2, c5 FROM t_$t WHERE id = :id;
END;
SQL
	cat >"$BENCH_DIR/toast_$t.sql" <<SQL
\set id random(1, 100)
UPDATE big_$t SET n = n + 1 WHERE id = :id;
SQL
done
chmod 644 "$BENCH_DIR"/*.sql

# run SCRIPT -> "tps wal_bytes_per_xact"
run() {
	local script=$1 lsn0 lsn1 out tps xacts
	lsn0=$($PSQL -At -c "SELECT pg_current_wal_lsn()")
	out=$($PGBENCH -n -c "$CLIENTS" -j "$CLIENTS" -T "$SECS" -f "$BENCH_DIR/$script" postgres 2>&1)
	lsn1=$($PSQL -At -c "SELECT pg_current_wal_lsn()")
	tps=$(echo "$out" | awk '/^tps/ { print $3; exit }')
	xacts=$(echo "$out" | awk '/number of transactions actually processed/ { split($NF, a, "/"); print a[1] }')
	$PSQL -At -c "SELECT round($tps::numeric, 1), round(pg_wal_lsn_diff('$lsn1', '$lsn0') / greatest($xacts, 1))"
}

for kind in mixed toast; do
	tp=0; tr=0; wp=0; wr=0
	for r in $(seq "$ROUNDS"); do
		read -r a b <<<"$(run ${kind}_plain.sql | tr '|' ' ')"
		read -r c d <<<"$(run ${kind}_repl.sql | tr '|' ' ')"
		tp=$(awk -v x="$tp" -v y="$a" 'BEGIN { print x + y }'); wp=$((wp + b))
		tr=$(awk -v x="$tr" -v y="$c" 'BEGIN { print x + y }'); wr=$((wr + d))
		echo "  $kind round $r: plain $a tps ($b WAL B/xact), replicated $c tps ($d WAL B/xact)"
	done
	echo "$kind: plain $(bench_ratio "$tp" "$ROUNDS") tps, replicated $(bench_ratio "$tr" "$ROUNDS") tps," \
		"TPS ratio $(bench_ratio "$tr" "$tp"); WAL/xact plain $((wp / ROUNDS)) B, replicated $((wr / ROUNDS)) B"
done

$PSQL -At -c "SELECT 'metadata bytes per row (10 columns, one version): ' || round(avg(pg_column_size(_edge_crdt)), 1) FROM t_repl WHERE id > $ROWS"
$PSQL -At -c "SELECT 'metadata bytes per row (10 columns, after updates): ' || round(avg(pg_column_size(_edge_crdt)), 1) FROM t_repl WHERE id <= $ROWS"
