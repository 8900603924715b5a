#!/bin/bash
#
# graph_bench.sh -- benchmarks of the graph helpers against baselines
# measured in the same run (DESIGN.md section 7):
#   reach  3-hop reachability from random starts on a power-law graph:
#          edge_crdt.reachable vs a recursive CTE with UNION
#   sp     shortest paths between random pairs on a weighted grid:
#          edge_crdt.shortest_path vs pgr_dijkstra and pgr_bdDijkstra
#
# Starts a private temporary instance (as user postgres when run as root)
# with shared_preload_libraries = edge_crdt, on a Unix socket in its own
# directory, and removes it on exit.  The extension must be installed
# (test/run_all.sh or make install); pgRouting is optional.
#
# Usage: test/bench/graph_bench.sh [reach] [sp]      (default: both)
# Scale: EDGES=1000000 VERTICES=100000 STARTS=100 DEPTH=3 GRID=500 PAIRS=20
# The reach part times each method in a session of its own (and reports its
# peak memory), then both start by start in turn in one session.
# COVERING=1 builds (source) INCLUDE (target[, cost]) indexes instead of plain
# ones (edge_crdt then reads edges from the index alone; the baselines get
# the same indexes).  PG_BINDIR=/usr/lib/postgresql/15/bin
#
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PG_BINDIR=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
EDGES=${EDGES:-1000000}
VERTICES=${VERTICES:-100000}
STARTS=${STARTS:-100}
DEPTH=${DEPTH:-3}
GRID=${GRID:-500}
PAIRS=${PAIRS:-20}
COVERING=${COVERING:-0}
PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(reach sp)

if [ "$(id -u)" -eq 0 ]; then
	RUNAS=(runuser -u postgres --)
else
	RUNAS=()
fi

WORK=$(mktemp -d /tmp/graph_bench.XXXXXX)
chmod 755 "$WORK"
cp "$HERE"/graph_bench_setup.sql "$HERE"/graph_bench_run.sql "$WORK"/
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK"
PGDATA=$WORK/data
# any free port number will do: the socket lives in our own directory
PORT=$((20000 + RANDOM % 20000))

cleanup() {
	"${RUNAS[@]}" "$PG_BINDIR"/pg_ctl -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT

"${RUNAS[@]}" "$PG_BINDIR"/initdb -D "$PGDATA" -A trust -U postgres >/dev/null
cat >> "$PGDATA"/postgresql.conf <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$WORK'
shared_preload_libraries = 'edge_crdt'
shared_buffers = 1GB
work_mem = 64MB
maintenance_work_mem = 512MB
max_wal_size = 8GB
fsync = off
synchronous_commit = off
CONF
"${RUNAS[@]}" "$PG_BINDIR"/pg_ctl -D "$PGDATA" -l "$WORK"/log -w start >/dev/null

psql() {
	"${RUNAS[@]}" "$PG_BINDIR"/psql -h "$WORK" -p "$PORT" -X -q -v ON_ERROR_STOP=1 "$@"
}

psql -c "CREATE EXTENSION edge_crdt"
HAVE_PGR=1
psql -c "CREATE EXTENSION pgrouting CASCADE" 2>/dev/null || HAVE_PGR=0

echo "=== generating graphs (edges=$EDGES vertices=$VERTICES grid=${GRID}x$GRID starts=$STARTS pairs=$PAIRS covering=$COVERING)"
t0=$(date +%s.%N)
psql -v edges="$EDGES" -v vertices="$VERTICES" -v grid="$GRID" -v starts="$STARTS" \
	-v pairs="$PAIRS" -v covering="$COVERING" -f "$WORK"/graph_bench_setup.sql
echo "(setup $(echo "$(date +%s.%N) - $t0" | bc) s)"

# run METHOD LIMIT: one fresh session; prints "method seconds runs checksum peak_rss_mb peak_private_mb"
run() {
	PGOPTIONS="-c bench.method=$1 -c bench.depth=$DEPTH -c bench.limit=$2" \
		psql -f "$WORK"/graph_bench_run.sql | sed -n 's/^RESULT //p'
}

ratio() { echo "scale=2; $1 / $2" | bc; }

# the machine's load average, to report next to the numbers
load() { echo "(load average $(cut -d' ' -f1-3 /proc/loadavg))"; }

for part in "${PARTS[@]}"; do
	case $part in
	reach)
		echo "=== reach: $DEPTH-hop reachability from $STARTS random starts $(load)"
		run reachable 5 >/dev/null; run cte 5 >/dev/null	# warm the cache
		# one session per method: times and peak memory
		read -r _ t_r n_r c_r m_r p_r < <(run reachable "$STARTS")
		read -r _ t_c n_c c_c m_c p_c < <(run cte "$STARTS")
		printf '%-22s %9s s  checksum %-12s peak RSS %5s MB (private ~%s MB)\n' \
			edge_crdt.reachable "$t_r" "$c_r" "$m_r" "$p_r" \
			"recursive CTE" "$t_c" "$c_c" "$m_c" "$p_c"
		[ "$c_r" = "$c_c" ] || echo "MISMATCH: reachable and the CTE disagree"
		echo "speed-up vs recursive CTE, separate sessions: $(ratio "$t_c" "$t_r")x $(load)"
		# the two methods start by start in turn in one session: on a shared
		# machine a change of load then weighs on both alike
		read -r _ t_ri t_ci n_i c_ri c_ci < <(run interleaved "$STARTS")
		printf '%-22s %9s s  vs recursive CTE %9s s (interleaved start by start)\n' \
			edge_crdt.reachable "$t_ri" "$t_ci"
		[ "$c_ri" = "$c_ci" ] && [ "$c_ri" = "$c_r" ] || echo "MISMATCH: reachable and the CTE disagree"
		echo "speed-up vs recursive CTE, interleaved: $(ratio "$t_ci" "$t_ri")x (target >= 10x) $(load)"
		;;
	sp)
		echo "=== sp: shortest paths between $PAIRS random pairs on a ${GRID}x$GRID grid $(load)"
		run shortest_path 3 >/dev/null
		read -r _ t_s n_s c_s m_s p_s < <(run shortest_path "$PAIRS")
		printf '%-22s %9s s  checksum %-12s peak RSS %5s MB (private ~%s MB)\n' \
			edge_crdt.shortest_path "$t_s" "$c_s" "$m_s" "$p_s"
		if [ $HAVE_PGR -eq 1 ]; then
			run pgr_dijkstra 2 >/dev/null
			read -r _ t_d n_d c_d m_d p_d < <(run pgr_dijkstra "$PAIRS")
			read -r _ t_b n_b c_b m_b p_b < <(run pgr_bddijkstra "$PAIRS")
			printf '%-22s %9s s  checksum %-12s peak RSS %5s MB (private ~%s MB)\n' \
				pgr_dijkstra "$t_d" "$c_d" "$m_d" "$p_d" \
				pgr_bdDijkstra "$t_b" "$c_b" "$m_b" "$p_b"
			[ "$c_s" = "$c_d" ] && [ "$c_s" = "$c_b" ] || echo "MISMATCH: path costs differ"
			echo "speed-up vs pgr_dijkstra: $(ratio "$t_d" "$t_s")x, vs pgr_bdDijkstra: $(ratio "$t_b" "$t_s")x (target >= 3x) $(load)"
		else
			echo "pgRouting not available: no baseline (apt-get install postgresql-15-pgrouting)"
		fi
		;;
	*)
		echo "unknown part: $part" >&2
		exit 2
		;;
	esac
done
