#!/bin/bash
#
# demo.sh -- the local multi-region demo (README: "make demo").
#
# Starts three regions (us-east, eu-west, ap-south) as local PostgreSQL
# instances whose replication links run through test/tools/wanproxy with
# realistic one-way latencies, creates a product catalogue with CRDT
# columns, writes concurrently in every region while printing convergence
# and lag, checks that all regions end identical, and leaves the cluster
# running.
#
# Usage: test/tools/demo.sh [start|stop]    (DEMO_SECONDS=20 of writes)
#
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR=/tmp/edge_crdt_demo
SECONDS_OF_WRITES=${DEMO_SECONDS:-20}
REGIONS=(us-east eu-west ap-south)
PORTS=(6501 6502 6503)
# one-way latency in ms between regions i and j (i < j): 0-1, 0-2, 1-2
declare -A LATENCY=([0,1]=40 [0,2]=110 [1,2]=70)

stop_all() {
	local bindir=/usr/lib/postgresql/15/bin runas=()
	[ "$(id -u)" -eq 0 ] && runas=(runuser -u postgres --)
	for r in "${REGIONS[@]}"; do
		[ -f "$DIR/$r/postmaster.pid" ] &&
			"${runas[@]}" "$bindir/pg_ctl" -D "$DIR/$r" -m fast -w stop >/dev/null 2>&1 || true
	done
	pkill -f "$DIR/wanproxy" 2>/dev/null || true
}

if [ "${1:-start}" = stop ]; then
	stop_all
	rm -rf "$DIR"
	echo "demo stopped"
	exit 0
fi

. "$SRC/test/tools/setup.sh" >/dev/null

stop_all
rm -rf "$DIR"
mkdir -p "$DIR"
cc -O2 -Wall -o "$DIR/wanproxy" "$SRC/test/tools/wanproxy.c"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$DIR"

psql_r() {
	local i=$1; shift
	"$PG_BINDIR/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${PORTS[$i]}" -U postgres -d app "$@"
}

log "starting three regions"
for i in 0 1 2; do
	r=${REGIONS[$i]}
	"${RUNAS[@]}" "$PG_BINDIR/initdb" -D "$DIR/$r" -A trust -U postgres >/dev/null
	cat >>"$DIR/$r/postgresql.conf" <<CONF
port = ${PORTS[$i]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
shared_preload_libraries = 'edge_crdt'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_worker_processes = 20
output_plugin_libraries = 'pgoutput, test_decoding, edge_crdt'
cluster_name = '$r'
CONF
	"${RUNAS[@]}" "$PG_BINDIR/pg_ctl" -D "$DIR/$r" -l "$DIR/$r.log" -w start >/dev/null
	"$PG_BINDIR/createdb" -h 127.0.0.1 -p "${PORTS[$i]}" -U postgres app
	psql_r "$i" <<SQL
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('${r//-/_}', '$r', node_id => $((i + 1)));
ALTER DATABASE app SET search_path = "\$user", public, edge_crdt;
CREATE TABLE product (
	id		bigint PRIMARY KEY,
	name	text NOT NULL,
	price	numeric(10,2),
	stock	edge_crdt.pncounter,
	views	edge_crdt.gcounter,
	tags	edge_crdt.orset,
	attrs	edge_crdt.doc
);
SELECT edge_crdt.replicate_table('product');
SQL
done

log "linking the regions through the WAN proxy"
for i in 0 1 2; do
	for j in 0 1 2; do
		[ "$i" = "$j" ] && continue
		a=$((i < j ? i : j)); b=$((i < j ? j : i))
		ms=${LATENCY[$a,$b]}
		lport=$((7000 + 10 * i + j))
		"$DIR/wanproxy" --listen "$lport" --target "${PORTS[$j]}" --control $((lport + 100)) \
			--latency-up "$ms" --latency-down "$ms" --jitter $((ms / 10)) >"$DIR/proxy-$i-$j.log" 2>&1 &
	done
done
sleep 0.5
for i in 0 1 2; do
	for j in 0 1 2; do
		[ "$i" = "$j" ] && continue
		psql_r "$i" -c "SELECT edge_crdt.add_peer('${REGIONS[$j]//-/_}', 'host=127.0.0.1 port=$((7000 + 10 * i + j)) dbname=app user=postgres')" >/dev/null
		echo "  ${REGIONS[$i]} streams from ${REGIONS[$j]} with ${LATENCY[$((i < j ? i : j)),$((i < j ? j : i))]} ms one-way latency"
	done
done

log "seeding 100 products in us-east"
psql_r 0 -c "INSERT INTO product SELECT g, 'product ' || g, 10 + g % 90, 100, 0, ARRAY['new'], '{\"color\": \"grey\"}'::jsonb FROM generate_series(1, 100) g"
psql_r 0 -c "SELECT edge_crdt.wait_for_sync('60s')" >/dev/null

log "writing concurrently in every region for ${SECONDS_OF_WRITES}s"
writers=()
for i in 0 1 2; do
	r=${REGIONS[$i]}
	cat >"$DIR/writes-$r.sql" <<SQL
\\set id random(1, 100)
\\set op random(1, 5)
UPDATE product SET views = views + 1 WHERE id = :id;
UPDATE product SET stock = stock - 1, tags = tags + '$r' WHERE id = :id AND :op = 1;
UPDATE product SET price = price + 1, attrs = doc_patch(attrs, '{"last_sold_in": "$r"}') WHERE id = :id AND :op = 2;
SQL
	"$PG_BINDIR/pgbench" -n -h 127.0.0.1 -p "${PORTS[$i]}" -U postgres -c 2 -j 1 -R 40 \
		-T "$SECONDS_OF_WRITES" -f "$DIR/writes-$r.sql" app >"$DIR/pgbench-$r.log" 2>&1 &
	writers+=($!)
done
start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt "$SECONDS_OF_WRITES" ]; do
	sleep 2
	line=$(printf 't=%3ss' $(( $(date +%s) - start )))
	for i in 0 1 2; do
		v=$(psql_r "$i" -c "SELECT sum(value(views)) FROM product")
		lag=$(psql_r "$i" -c "SELECT coalesce(round(max(lag_seconds) * 1000), 0) FROM edge_crdt.peers")
		line="$line | ${REGIONS[$i]}: views=$v lag=${lag}ms"
	done
	echo "$line"
done
wait "${writers[@]}"

log "waiting for every region to apply everything"
for i in 0 1 2; do psql_r "$i" -c "SELECT edge_crdt.wait_for_sync('120s')" >/dev/null; done
sums=()
for i in 0 1 2; do
	sums+=("$(psql_r "$i" -c "SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', id, name, price, value(stock), value(views), stock IS NULL, attrs::jsonb) || (tags::text[])::text, ',' ORDER BY id)) FROM product")")
	echo "  ${REGIONS[$i]}: $(psql_r "$i" -c "SELECT count(*) || ' products, ' || sum(value(views)) || ' views, ' || sum(value(stock)) || ' in stock' FROM product"), checksum ${sums[$i]}"
done
if [ "${sums[0]}" = "${sums[1]}" ] && [ "${sums[1]}" = "${sums[2]}" ]; then
	echo "CONVERGED: all three regions are identical"
else
	echo "NOT CONVERGED: the regions differ" >&2
	exit 1
fi

cat <<MSG

The regions keep running:
  psql -h 127.0.0.1 -p 6501 -U postgres app    # us-east
  psql -h 127.0.0.1 -p 6502 -U postgres app    # eu-west
  psql -h 127.0.0.1 -p 6503 -U postgres app    # ap-south
  SELECT * FROM edge_crdt.peers;               # replication state in a region
Stop them with: make demo-stop
MSG
