#!/bin/bash
#
# sync_bench.sh -- the initial copy (add_peer with copy_data) against a
# plain "COPY ... TO STDOUT | COPY ... FROM STDIN" of the same table between
# the same two instances, in one run.
#
# The table has BENCH_ROWS rows (default 500000) of five columns and a
# tombstone per 100 rows.  The baseline copies the user columns into an
# unreplicated table; the initial copy also carries the metadata (causal
# length, column versions) and the tombstones, and merges every row.
# Reported: seconds and rows/s of each, and the ratio of copy rates (the
# copy as edge_crdt.sync_status times it, i.e. without creating the slot,
# which waits for the peer's running transactions) and end to end.
# Target (issue 5): initial copy >= 0.70 x plain COPY.
#
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROWS=${BENCH_ROWS:-500000}

bench_node S 55511
bench_node D 55512

for n in S D; do
	psql_on $n <<SQL
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('n_$n', NULL, node_id => $(( $(printf '%d' "'$n") )));
CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric);
SELECT edge_crdt.replicate_table('t');
CREATE TABLE t_plain (id bigint PRIMARY KEY, a int, b text, c timestamptz, d numeric);
SQL
done
psql_on S <<SQL
INSERT INTO t SELECT g, g % 1000, md5(g::text) || md5((g + 1)::text), now() - g * interval '1 s', g / 7.0
FROM generate_series(1, $ROWS + $ROWS / 100) g;
DELETE FROM t WHERE id > $ROWS;
VACUUM ANALYZE t;
CHECKPOINT;
SQL
echo "rows: $ROWS (+ $((ROWS / 100)) tombstones)"

now() { date +%s.%N; }

# Baseline: plain COPY, text format, through a pipe between the instances.
t0=$(now)
psql_on S -c "COPY t (id, a, b, c, d) TO STDOUT" | psql_on D -c "COPY t_plain FROM STDIN"
t1=$(now)
plain=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
[ "$(psql_on D -c 'SELECT count(*) FROM t_plain')" = "$ROWS" ] || { echo "plain copy incomplete" >&2; exit 1; }

# The initial copy: D adds S as a peer and copies t from it.
t0=$(now)
added=$(psql_on D -c "SELECT edge_crdt.add_peer('s', '$(dsn_of S)'), now()" | cut -d'|' -f2)
until [ "$(psql_on D -c "SELECT state FROM edge_crdt.sync_status WHERE table_name = 'public.t'")" = done ]; do
	state=$(psql_on D -c "SELECT coalesce(last_error, '') FROM edge_crdt.peers")
	[ -n "$state" ] && { echo "peer error: $state" >&2; exit 1; }
	sleep 0.05
done
t1=$(now)
sync=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
[ "$(psql_on D -c 'SELECT count(*) FROM t')" = "$ROWS" ] || { echo "initial copy incomplete" >&2; exit 1; }
[ "$(psql_on D -c "SELECT count(*) FROM edge_crdt.tombstone")" = "$((ROWS / 100))" ] ||
	{ echo "tombstones missing" >&2; exit 1; }
psql_on D -c "SELECT 'sync_status: ' || rows_copied || ' messages, ' || pg_size_pretty(bytes_copied) || ' in ' || round(extract(epoch FROM finished_at - started_at)::numeric, 2) || ' s (' || pg_size_pretty(bytes_per_second) || '/s), started ' || round(extract(epoch FROM started_at - '$added')::numeric, 2) || ' s after add_peer' FROM edge_crdt.sync_status"

copy=$(psql_on D -c "SELECT round(extract(epoch FROM finished_at - started_at)::numeric, 2) FROM edge_crdt.sync_status")
rate() { awk -v r="$ROWS" -v t="$1" 'BEGIN { printf "%d", r / t }'; }
printf '%-44s %8s s %10s rows/s\n' "plain COPY | COPY" "$plain" "$(rate "$plain")"
printf '%-44s %8s s %10s rows/s\n' "edge_crdt initial copy (the copy itself)" "$copy" "$(rate "$copy")"
printf '%-44s %8s s\n' "  add_peer to done (slot creation included)" "$sync"
echo "ratio (copy rate vs plain COPY): $(bench_ratio "$plain" "$copy")   target >= 0.70"
echo "ratio end to end: $(bench_ratio "$plain" "$sync")"
