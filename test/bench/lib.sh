# lib.sh -- shared by the benchmarks in test/bench: private temporary
# PostgreSQL instances with edge_crdt preloaded.  Source it, then:
#
#   bench_start [extra postgresql.conf lines...]      one instance; sets PSQL, PGBENCH
#   bench_node NAME PORT [extra conf lines...]        one more instance named NAME
#   bench_pin NAME CPUS                               before bench_node: run NAME's
#                                                     server and its pgbench on CPUS only
#   psql_on NAME ...  /  pgbench_on NAME ...          clients for it
#   dsn_of NAME                                       a libpq DSN for it
#
# Instances are stopped and removed on exit.  As root, servers and clients
# run as "postgres" (initdb refuses root).  Sockets live in the private
# directory and TCP listens on 127.0.0.1 only (for the WAN proxy).

PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
BINDIR=$("$PG_CONFIG" --bindir)

if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/edge_crdt.control" ]; then
	echo "edge_crdt is not installed: run 'make install' first" >&2
	exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
	BENCH_RUNAS=(runuser -u postgres --)
else
	BENCH_RUNAS=()
fi
declare -A BENCH_PORT
declare -A BENCH_CPUS

bench_run() { "${BENCH_RUNAS[@]}" "$@"; }

# Nodes that stand for different machines can be kept off each other's
# cores (taskset; children inherit the affinity).
bench_pin() { BENCH_CPUS[$1]=$2; }
bench_run_on() {
	local name=$1
	shift
	if [ -n "${BENCH_CPUS[$name]:-}" ]; then
		bench_run taskset -c "${BENCH_CPUS[$name]}" "$@"
	else
		bench_run "$@"
	fi
}

bench_cleanup() {
	local name
	for name in "${!BENCH_PORT[@]}"; do
		[ -f "$BENCH_DIR/$name/postmaster.pid" ] &&
			bench_run "$BINDIR/pg_ctl" -D "$BENCH_DIR/$name" -m immediate -w stop >/dev/null 2>&1
	done
	pkill -f "$BENCH_DIR/wanproxy" 2>/dev/null || true
	[ -n "${BENCH_DIR:-}" ] && rm -rf "$BENCH_DIR"
}

bench_init() {
	[ -n "${BENCH_DIR:-}" ] && return
	BENCH_DIR=$(mktemp -d /tmp/edge_crdt_bench.XXXXXX)
	[ "$(id -u)" -eq 0 ] && chown postgres: "$BENCH_DIR"
	chmod 755 "$BENCH_DIR"
	cd "$BENCH_DIR"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_node() {
	local name=$1 port=$2 line
	shift 2
	bench_init
	BENCH_PORT[$name]=$port
	bench_run "$BINDIR/initdb" -D "$BENCH_DIR/$name" -A trust -U postgres >/dev/null
	{
		echo "port = $port"
		echo "shared_preload_libraries = 'edge_crdt'"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$BENCH_DIR'"
		echo "wal_level = logical"
		echo "max_wal_size = 4GB"
		echo "shared_buffers = 512MB"
		echo "max_replication_slots = 10"
		echo "max_wal_senders = 10"
		echo "max_worker_processes = 20"
		echo "output_plugin_libraries = 'pgoutput, test_decoding, edge_crdt'"
		for line in "$@"; do echo "$line"; done
	} >>"$BENCH_DIR/$name/postgresql.conf"
	bench_run_on "$name" "$BINDIR/pg_ctl" -D "$BENCH_DIR/$name" -l "$BENCH_DIR/$name.log" -w start >/dev/null
}

psql_on() {
	local name=$1
	shift
	bench_run "$BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$BENCH_DIR" \
		-p "${BENCH_PORT[$name]}" -U postgres -d postgres "$@"
}

pgbench_on() {
	local name=$1
	shift
	bench_run_on "$name" "$BINDIR/pgbench" -h "$BENCH_DIR" -p "${BENCH_PORT[$name]}" -U postgres "$@"
}

dsn_of() { echo "host=$BENCH_DIR port=${BENCH_PORT[$1]} dbname=postgres user=postgres"; }

# The single-instance form most benchmarks need.
bench_start() {
	bench_node main 55432 "$@"
	PSQL="bench_run $BINDIR/psql -X -q -v ON_ERROR_STOP=1 -h $BENCH_DIR -p 55432 -U postgres -d postgres"
	PGBENCH="bench_run $BINDIR/pgbench -h $BENCH_DIR -p 55432 -U postgres"
}

# Print a ratio with two decimals.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
