#!/bin/bash
#
# stream_bench.sh -- edge_crdt streams against a pgmq-style queue table
# (FOR UPDATE SKIP LOCKED) and PgQ, in one run, on the same instance.
#
# 1. Publish throughput: one producer, N messages of 1 kB, one per
#    transaction.
# 2. Consume throughput: four consumers drain the N messages, BENCH_COUNT
#    (100) per transaction, reading and acknowledging (deleting) in one
#    transaction (the exactly-once pattern).
# 3. Mixed: one producer and four consumers at once for BENCH_SECONDS;
#    messages consumed per second.
#    PgQ consumes in batches between ticks and has no competing consumers:
#    its consumer is one process that fetches the current batch (a ticker
#    call every 10 ms plays pgqd).  BENCH_IDLE=spin (default): a consumer
#    that finds nothing asks again at once; BENCH_IDLE=wait: as each system
#    is meant to be used when idle -- edge_crdt's read_group waits (wait =>
#    '1 s', woken by the publisher's commit), the pgmq-style and PgQ
#    consumers sleep 10 ms before asking again.  Also printed: messages per
#    consumer call (track_functions counts the calls of the consumer
#    functions during the mixed run), and the CPU time the consumer and
#    producer backends used per 1000 messages (from /proc, between the 2nd
#    second of the mixed run and the last but one; the producer's also in
#    the publish run, alone).
# 4. Wake-up latency of read_group(wait => ...): a publisher commits one
#    message every 10 ms (synchronous_commit = off so that the commit itself
#    does not dominate), a waiting consumer records receive time - publish
#    time; p50 / p99.
#
# The instance runs with synchronous_commit = off so that the numbers show
# the cost of each design rather than the fsync of every commit;
# BENCH_SYNC=on measures with durable commits (PostgreSQL's default).
#
# BENCH_CPU_LATENCY=0 (root only) holds /dev/cpu_dma_latency at 0 us for
# the run: idle CPUs poll instead of halting, as on a server tuned for
# latency (tuned's latency-performance profile does the same).  On a
# virtual machine a halted CPU takes long to wake, and a producer whose
# consumers mostly sleep pays that on every round trip, where consumers
# that keep a CPU busy spare their producer from it.
#
# BENCH_PROTOCOL=prepared runs every client (producers and consumers, all
# three systems) with pgbench -M prepared, as drivers that use the extended
# query protocol do: statements are parsed and planned once per session
# instead of once per call (default: simple).
#
# Ratios > 1 mean edge_crdt is faster.  Environment: BENCH_MESSAGES (100000;
# with fewer, the drain lasts a fraction of a second and measures pgbench's
# connection start-up more than the consumers),
# BENCH_SECONDS (15), BENCH_WAKEUPS (500), BENCH_SCOPE (local | global),
# BENCH_COUNT (100, read_group's default: messages a consumer reads per
# transaction, edge_crdt and pgmq-style alike; a PgQ batch is whatever
# arrived between two ticks).
#
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${BENCH_MESSAGES:-100000}
SECS=${BENCH_SECONDS:-15}
WAKEUPS=${BENCH_WAKEUPS:-500}
SCOPE=${BENCH_SCOPE:-local}
COUNT=${BENCH_COUNT:-100}
IDLE=${BENCH_IDLE:-spin}
SYNC=${BENCH_SYNC:-off}
PROTOCOL=${BENCH_PROTOCOL:-simple}
CPU_LATENCY=default
if [ -n "${BENCH_CPU_LATENCY:-}" ]; then
	# the request lasts while the file is open: fd 9, until we exit
	if exec 9>/dev/cpu_dma_latency 2>/dev/null; then
		printf '%x' "$BENCH_CPU_LATENCY" >&9
		CPU_LATENCY="${BENCH_CPU_LATENCY} us (PM QoS)"
	else
		echo "BENCH_CPU_LATENCY: cannot open /dev/cpu_dma_latency (root only); CPU idle states unchanged" >&2
	fi
fi

# PgQ from Debian, installed if missing (needs network access to the archive).
PGQ=1
if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/pgq.control" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		timeout 120 apt-get install -y -q postgresql-15-pgq3 >/dev/null 2>&1 || PGQ=0
	else
		PGQ=0
	fi
	[ -f "$("$PG_CONFIG" --sharedir)/extension/pgq.control" ] || PGQ=0
fi

bench_start "max_connections = 50" "synchronous_commit = $SYNC" "track_functions = pl"
$PSQL -q >/dev/null <<SQL
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('bench', NULL, node_id => 1);
SELECT edge_crdt.stream_create('bench', '$SCOPE');
SELECT edge_crdt.group_create('bench', 'g');
-- 1 kB of JSON
CREATE TABLE payload AS SELECT jsonb_build_object('body', repeat('x', 1000)) AS p;

-- the pgmq shape: send = INSERT, read = UPDATE ... FOR UPDATE SKIP LOCKED, delete
CREATE TABLE q (msg_id bigserial PRIMARY KEY, read_ct int NOT NULL DEFAULT 0,
	enqueued_at timestamptz NOT NULL DEFAULT now(), vt timestamptz NOT NULL DEFAULT now(),
	message jsonb);
CREATE FUNCTION q_send(m jsonb) RETURNS bigint LANGUAGE sql AS
\$\$ INSERT INTO q (message) VALUES (m) RETURNING msg_id \$\$;
CREATE FUNCTION q_consume() RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE ids bigint[];
BEGIN
	WITH c AS (SELECT msg_id FROM q WHERE vt <= clock_timestamp() ORDER BY msg_id LIMIT $COUNT FOR UPDATE SKIP LOCKED),
	u AS (UPDATE q SET vt = clock_timestamp() + interval '30 s', read_ct = read_ct + 1
		  FROM c WHERE q.msg_id = c.msg_id RETURNING q.msg_id, q.message)
	SELECT array_agg(msg_id) INTO ids FROM u;
	IF ids IS NULL THEN RETURN 0; END IF;
	DELETE FROM q WHERE msg_id = ANY (ids);
	RETURN cardinality(ids);
END \$\$;

CREATE FUNCTION s_consume() RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE ids text[];
BEGIN
	SELECT array_agg(id) INTO ids FROM edge_crdt.read_group('bench', 'g', 'c' || pg_backend_pid(), $COUNT, '30 s');
	IF ids IS NULL THEN RETURN 0; END IF;
	PERFORM edge_crdt.ack('bench', 'g', ids);
	RETURN cardinality(ids);
END \$\$;

-- the consumers of BENCH_IDLE=wait
CREATE FUNCTION s_consume_wait() RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE ids text[];
BEGIN
	SELECT array_agg(id) INTO ids
	FROM edge_crdt.read_group('bench', 'g', 'c' || pg_backend_pid(), $COUNT, '30 s', '1 s');
	IF ids IS NULL THEN RETURN 0; END IF;
	PERFORM edge_crdt.ack('bench', 'g', ids);
	RETURN cardinality(ids);
END \$\$;
CREATE FUNCTION q_consume_wait() RETURNS int LANGUAGE plpgsql AS \$\$
DECLARE n int := q_consume();
BEGIN
	IF n = 0 THEN PERFORM pg_sleep(0.01); END IF;
	RETURN n;
END \$\$;

CREATE TABLE wake (ms float8);
CREATE PROCEDURE wake_publish(n int) LANGUAGE plpgsql AS \$\$
BEGIN
	SET synchronous_commit = off;
	FOR i IN 1 .. n LOOP
		PERFORM edge_crdt.publish('wake', jsonb_build_object('t', clock_timestamp()));
		COMMIT;
		PERFORM pg_sleep(0.01);
	END LOOP;
END \$\$;
CREATE PROCEDURE wake_consume(n int) LANGUAGE plpgsql AS \$\$
DECLARE r record; got int := 0;
BEGIN
	SET synchronous_commit = off;
	WHILE got < n LOOP
		FOR r IN SELECT * FROM edge_crdt.read_group('wake', 'g', 'w', 1, '30 s', '10 s') LOOP
			INSERT INTO wake VALUES (extract(epoch FROM clock_timestamp() - (r.payload->>'t')::timestamptz) * 1000);
			PERFORM edge_crdt.ack('wake', 'g', ARRAY[r.id]);
			got := got + 1;
		END LOOP;
		COMMIT;
	END LOOP;
END \$\$;
SELECT edge_crdt.stream_create('wake', '$SCOPE');
SELECT edge_crdt.group_create('wake', 'g');
SQL
if [ $PGQ -eq 1 ]; then
	$PSQL -q >/dev/null <<'SQL'
CREATE EXTENSION pgq;
SELECT pgq.create_queue('pq');
SELECT pgq.register_consumer('pq', 'c');
CREATE FUNCTION pq_send(m jsonb) RETURNS bigint LANGUAGE sql AS
$$ SELECT pgq.insert_event('pq', 'm', m::text) $$;
-- one batch per call: everything between the last two ticks
CREATE FUNCTION pq_consume() RETURNS int LANGUAGE plpgsql AS $$
DECLARE b bigint; n int;
BEGIN
	PERFORM pgq.ticker('pq');
	b := pgq.next_batch('pq', 'c');
	IF b IS NULL THEN RETURN 0; END IF;
	SELECT count(*) INTO n FROM pgq.get_batch_events(b);
	PERFORM pgq.finish_batch(b);
	RETURN n;
END $$;
CREATE FUNCTION pq_consume_wait() RETURNS int LANGUAGE plpgsql AS $$
DECLARE n int := pq_consume();
BEGIN
	IF n = 0 THEN PERFORM pg_sleep(0.01); END IF;
	RETURN n;
END $$;
SQL
fi

W="$BENCH_DIR/work"
mkdir -p "$W"
echo "SELECT edge_crdt.publish('bench', (SELECT p FROM payload));" >"$W/s_pub.sql"
echo "SELECT q_send((SELECT p FROM payload));" >"$W/q_pub.sql"
echo "SELECT pq_send((SELECT p FROM payload));" >"$W/pq_pub.sql"
echo "SELECT s_consume();" >"$W/s_con.sql"
echo "SELECT q_consume();" >"$W/q_con.sql"
echo "SELECT pq_consume();" >"$W/pq_con.sql"
for s in s q pq; do echo "SELECT ${s}_consume_wait();" >"$W/${s}_con_wait.sql"; done
MIXSCRIPT=con
[ "$IDLE" = wait ] && MIXSCRIPT=con_wait
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$W"

remaining() {
	case $1 in
		s) $PSQL -At -c "SELECT lag FROM edge_crdt.stream_groups WHERE stream = 'bench'" ;;
		q) $PSQL -At -c "SELECT count(*) FROM q" ;;
		pq) $PSQL -At -c "SELECT coalesce(pending_events, 0) FROM pgq.get_consumer_info('pq', 'c')" ;;
	esac
}

now() { date +%s.%N; }

# the query of system $1's producer, for cpu_ticks
producer_of() { echo "${1}_send|publish\\("; }

# CPU ticks (user + system) of the client backends whose query matches $1
cpu_ticks() {
	local t=0 p
	for p in $($PSQL -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND query ~ '$1'"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
	done
	echo $t
}
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n / (b - a) }'; }

# 1 + 2: publish N, then drain with 4 consumers
declare -A PUB CON MIX MIXPUB CALLS CONCPU PUBCPU SOLOCPU
for s in s q pq; do
	[ $s = pq ] && [ $PGQ -eq 0 ] && continue
	t0=$(now)
	$PGBENCH -n -M $PROTOCOL -c 1 -t "$N" -f "$W/${s}_pub.sql" postgres >/dev/null &
	bpid=$!
	# the producer's CPU from its second second to its last sample
	sleep 1
	a0=$(cpu_ticks "$(producer_of $s)"); ta=$(now); a1=$a0; tb=$ta
	while kill -0 $bpid 2>/dev/null; do
		c=$(cpu_ticks "$(producer_of $s)")
		[ "$c" -gt 0 ] && { a1=$c; tb=$(now); }
		sleep 0.5
	done
	wait $bpid
	t1=$(now)
	PUB[$s]=$(rate "$N" "$t0" "$t1")
	SOLOCPU[$s]=$(awk -v d=$((a1 - a0)) -v hz="$(getconf CLK_TCK)" -v r="${PUB[$s]}" -v a="$ta" -v b="$tb" \
		'BEGIN { n = r * (b - a); printf "%s", (d > 0 && n > 0 ? sprintf("%.0f", d * 1000 / hz * 1000 / n) : "-") }')
	$PSQL -q -c "CHECKPOINT" >/dev/null
	t0=$(now)
	if [ $s = pq ]; then
		while [ "$($PSQL -At -c 'SELECT pq_consume()')" != 0 ] || [ "$(remaining pq)" != 0 ]; do :; done
	else
		while [ "$(remaining $s)" -gt 0 ]; do
			$PGBENCH -n -M $PROTOCOL -c 4 -j 2 -t $((N / (4 * COUNT) + 1)) -f "$W/${s}_con.sql" postgres >/dev/null
		done
	fi
	t1=$(now)
	CON[$s]=$(rate "$N" "$t0" "$t1")
done

# 3: mixed, 1 producer + 4 consumers (PgQ: 1 consumer) for SECS
for s in s q pq; do
	[ $s = pq ] && [ $PGQ -eq 0 ] && continue
	before=$(remaining $s)
	$PSQL -q -c "SELECT pg_stat_reset()" >/dev/null
	consumers=4
	[ $s = pq ] && consumers=1
	$PGBENCH -n -M $PROTOCOL -c 1 -T "$SECS" -f "$W/${s}_pub.sql" postgres >"$W/${s}_mixpub.out" 2>&1 &
	ppid=$!
	$PGBENCH -n -M $PROTOCOL -c $consumers -j $consumers -T "$SECS" -f "$W/${s}_${MIXSCRIPT}.sql" postgres >/dev/null 2>&1 &
	cpid=$!
	sleep 2
	c0=$(cpu_ticks "${s}_consume"); p0=$(cpu_ticks "$(producer_of $s)"); l0=$(remaining $s); t0=$(now)
	sleep $((SECS - 3))
	c1=$(cpu_ticks "${s}_consume"); p1=$(cpu_ticks "$(producer_of $s)"); l1=$(remaining $s); t1=$(now)
	wait $cpid
	wait $ppid
	published=$(awk '/number of transactions actually processed/ { print $6 }' "$W/${s}_mixpub.out")
	after=$(remaining $s)
	MIX[$s]=$(awk -v p="$published" -v b="$before" -v a="$after" -v t="$SECS" 'BEGIN { printf "%.0f", (p + b - a) / t }')
	MIXPUB[$s]=$(awk -v p="$published" -v t="$SECS" 'BEGIN { printf "%.0f", p / t }')
	# messages in the CPU window: the consumption rate, corrected by the change of backlog
	hz=$(getconf CLK_TCK)
	CONCPU[$s]=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v r="${MIXPUB[$s]}" -v a="$t0" -v b="$t1" -v l0="$l0" -v l1="$l1" \
		'BEGIN { n = r * (b - a) - (l1 - l0); printf "%.0f", (n > 0 ? d * 1000 / hz * 1000 / n : 0) }')
	PUBCPU[$s]=$(awk -v d=$((p1 - p0)) -v hz="$hz" -v r="${MIXPUB[$s]}" -v a="$t0" -v b="$t1" \
		'BEGIN { n = r * (b - a); printf "%.0f", (n > 0 ? d * 1000 / hz * 1000 / n : 0) }')
	# consumer calls, to show how many messages one read took
	CALLS[$s]=$($PSQL -At -c "SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions WHERE funcname = '${s}_consume' || CASE WHEN '$MIXSCRIPT' = 'con_wait' THEN '_wait' ELSE '' END")
done

# 4: wake-up latency
$PSQL -q -c "CALL wake_consume($WAKEUPS)" &
cpid=$!
sleep 1
$PSQL -q -c "CALL wake_publish($WAKEUPS)"
wait $cpid
read -r p50 p99 pmax < <($PSQL -At -F ' ' -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2),
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2), round(max(ms)::numeric, 2) FROM wake")

echo
echo "stream bench: $N messages of 1 kB, scope $SCOPE, $COUNT per consumer transaction, mixed run ${SECS}s (idle consumers: $IDLE), synchronous_commit $SYNC, query protocol $PROTOCOL, CPU wake-up latency $CPU_LATENCY, $(nproc) cores"
printf "%-28s %12s %12s %12s %12s\n" "" "publish/s" "consume/s" "mixed pub/s" "mixed con/s"
printf "%-28s %12s %12s %12s %12s\n" "edge_crdt stream" "${PUB[s]}" "${CON[s]}" "${MIXPUB[s]}" "${MIX[s]}"
printf "%-28s %12s %12s %12s %12s\n" "pgmq-style SKIP LOCKED" "${PUB[q]}" "${CON[q]}" "${MIXPUB[q]}" "${MIX[q]}"
if [ $PGQ -eq 1 ]; then
	printf "%-28s %12s %12s %12s %12s\n" "PgQ (1 consumer)" "${PUB[pq]}" "${CON[pq]}" "${MIXPUB[pq]}" "${MIX[pq]}"
fi
echo "ratio vs pgmq-style: publish $(bench_ratio "${PUB[s]}" "${PUB[q]}"), consume $(bench_ratio "${CON[s]}" "${CON[q]}"), mixed consume $(bench_ratio "${MIX[s]}" "${MIX[q]}") (target >= 1.0)"
if [ $PGQ -eq 1 ]; then
	echo "ratio vs PgQ:         publish $(bench_ratio "${PUB[s]}" "${PUB[pq]}"), consume $(bench_ratio "${CON[s]}" "${CON[pq]}"), mixed consume $(bench_ratio "${MIX[s]}" "${MIX[pq]}") (target >= 1.0)"
else
	echo "PgQ: not measured (postgresql-15-pgq3 is not installed and apt-get could not install it)"
fi
per_call() { awk -v m="${MIX[$1]:-0}" -v c="${CALLS[$1]:-0}" -v t="$SECS" 'BEGIN { printf "%.1f", (c > 0 ? m * t / c : 0) }'; }
echo "mixed, messages per consumer call: edge_crdt $(per_call s), pgmq-style $(per_call q)$([ $PGQ -eq 1 ] && echo ", PgQ $(per_call pq)")"
echo "CPU ms per 1000 messages, mixed consumers / mixed producer / producer alone (publish run): edge_crdt ${CONCPU[s]} / ${PUBCPU[s]} / ${SOLOCPU[s]}, pgmq-style ${CONCPU[q]} / ${PUBCPU[q]} / ${SOLOCPU[q]}$([ $PGQ -eq 1 ] && echo ", PgQ ${CONCPU[pq]} / ${PUBCPU[pq]} / ${SOLOCPU[pq]}")"
echo "wake-up latency (publish -> waiting read_group returns), $WAKEUPS messages: p50 ${p50} ms, p99 ${p99} ms, max ${pmax} ms (target p99 <= 5 ms)"
