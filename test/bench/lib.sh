# lib.sh -- shared by the benchmarks in test/bench: a private temporary
# PostgreSQL instance with edge_crdt preloaded.  Source it, then:
#
#   bench_start [extra postgresql.conf lines...]   # sets BENCH_DIR, PSQL, PGBENCH
#   $PSQL -c '...'                                 # psql -X -q -v ON_ERROR_STOP=1
#   $PGBENCH ...                                   # pgbench against the instance
#
# The instance is stopped and removed on exit.  As root, the server and the
# clients run as "postgres" (initdb refuses root).  The socket lives in the
# private directory and TCP is off, so nothing clashes with another server.

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

bench_run() { "${BENCH_RUNAS[@]}" "$@"; }

bench_cleanup() {
	if [ -n "${BENCH_DIR:-}" ] && [ -f "$BENCH_DIR/data/postmaster.pid" ]; then
		bench_run "$BINDIR/pg_ctl" -D "$BENCH_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	[ -n "${BENCH_DIR:-}" ] && rm -rf "$BENCH_DIR"
}

bench_start() {
	BENCH_DIR=$(mktemp -d /tmp/edge_crdt_bench.XXXXXX)
	[ "$(id -u)" -eq 0 ] && chown postgres: "$BENCH_DIR"
	chmod 700 "$BENCH_DIR"
	cd "$BENCH_DIR"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
	bench_run "$BINDIR/initdb" -D "$BENCH_DIR/data" -A trust -U postgres >/dev/null
	{
		echo "shared_preload_libraries = 'edge_crdt'"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$BENCH_DIR'"
		echo "wal_level = logical"
		echo "max_wal_size = 4GB"
		echo "shared_buffers = 512MB"
		echo "output_plugin_libraries = 'pgoutput, test_decoding, edge_crdt'"
		for line in "$@"; do echo "$line"; done
	} >>"$BENCH_DIR/data/postgresql.conf"
	bench_run "$BINDIR/pg_ctl" -D "$BENCH_DIR/data" -l "$BENCH_DIR/server.log" -w start >/dev/null
	PSQL="bench_run $BINDIR/psql -X -q -v ON_ERROR_STOP=1 -h $BENCH_DIR -U postgres -d postgres"
	PGBENCH="bench_run $BINDIR/pgbench -h $BENCH_DIR -U postgres"
}

# Print a ratio with two decimals.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }
