--
-- Streams, single node: the SQL API, its errors, consumer group semantics,
-- dead letters, trimming, and the remote-message body (hostile input).
-- Message ids carry a clock reading, so outputs show their shape only.
--
\set SHOW_CONTEXT never

-- management: validation and errors
SELECT edge_crdt.stream_create('rs_orders');
SELECT edge_crdt.stream_create('rs_orders');
SELECT edge_crdt.stream_create('1bad');
SELECT edge_crdt.stream_create('rs_x', scope => 'regional');
SELECT edge_crdt.stream_create('rs_x', retention => '-1 day');
SELECT edge_crdt.stream_create('rs_x', max_len => 0);
SELECT edge_crdt.group_create('rs_nope', 'g');
SELECT edge_crdt.group_create('rs_orders', 'g', mode => 'round_robin');
SELECT edge_crdt.group_create('rs_orders', 'g', start => 'yesterday');
SELECT edge_crdt.group_create('rs_orders', 'billing');
SELECT edge_crdt.group_create('rs_orders', 'billing');
SELECT stream, scope, retention, max_len, length, group_lag, dead_letter
FROM edge_crdt.streams WHERE stream LIKE 'rs\_%' ORDER BY 1;

-- publish: ids "<hlc>-<origin>-<seq>", bounds, dedup
SELECT edge_crdt.publish('rs_orders', '{"n": 1}') ~ '^[0-9]+-1000-0$' AS id_shape;
SELECT edge_crdt.publish('rs_nope', '{}');
SELECT edge_crdt.publish('rs_orders', NULL);
SELECT edge_crdt.publish('rs_orders', to_jsonb(repeat('x', 1048577)));
SELECT edge_crdt.publish('rs_orders', '{}', key => repeat('k', 1025));
SELECT edge_crdt.publish('rs_orders', '{}', headers => '[1]');
SELECT edge_crdt.publish('rs_orders', '{}', dedup_id => '');
SELECT edge_crdt.publish('rs_orders', '{"n": 2}', key => 'k2', headers => '{"h": 2}', dedup_id => 'order-2') AS d1 \gset
SELECT edge_crdt.publish('rs_orders', '{"n": 2, "again": true}', dedup_id => 'order-2') = :'d1' AS dedup_returns_first_id;
SELECT count(*) AS one_order_2 FROM edge_crdt.read('rs_orders') WHERE payload->>'n' = '2';
-- a batch shares one clock reading; seq numbers its messages
SELECT count(DISTINCT split_part(id, '-', 1)) AS hlcs, string_agg(split_part(id, '-', 3), ',') AS seqs
FROM edge_crdt.publish_batch('rs_orders', ARRAY['{"n": 3}', '{"n": 4}', '{"n": 5}']::jsonb[]) id;
SELECT edge_crdt.publish_batch('rs_orders', ARRAY['{}', NULL]::jsonb[]);

-- shared group: delivery, visibility timeout, ack, nack, pending, claim
SELECT payload, key, headers, deliveries, origin
FROM edge_crdt.read_group('rs_orders', 'billing', 'c1', count => 2);
-- in flight for c1: c2 gets only the rest
SELECT payload, deliveries FROM edge_crdt.read_group('rs_orders', 'billing', 'c2');
SELECT count(*) AS nothing_left FROM edge_crdt.read_group('rs_orders', 'billing', 'c3');
SELECT consumer, deliveries FROM edge_crdt.pending('rs_orders', 'billing') ORDER BY id;
SELECT edge_crdt.ack('rs_orders', 'billing', array_agg(id)) AS acked
FROM edge_crdt.pending('rs_orders', 'billing') WHERE consumer = 'c1';
-- acknowledging twice is an error: an effect committed with the ack must not happen twice
SELECT set_config('rs.d1', :'d1', false) IS NOT NULL AS saved;
DO $$
BEGIN
	PERFORM edge_crdt.ack('rs_orders', 'billing', ARRAY[current_setting('rs.d1')]);
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE '% %', SQLSTATE, SQLERRM;
END
$$;
SELECT edge_crdt.ack('rs_orders', 'billing', ARRAY['5-1000-0', '6-1000-0']);
SELECT edge_crdt.ack('rs_orders', 'billing', ARRAY['12-x-3']);
SELECT edge_crdt.ack('rs_orders', 'billing', ARRAY['99999999999999999999-1-0']);
SELECT edge_crdt.ack('rs_orders', 'billing', ARRAY['12-0-3']);
SELECT edge_crdt.ack('rs_orders', 'nope', ARRAY['12-1-3']);
-- give one back: it is delivered again, counting deliveries
SELECT edge_crdt.nack('rs_orders', 'billing', ARRAY[min(id)]) AS nacked
FROM edge_crdt.pending('rs_orders', 'billing');
SELECT payload, deliveries FROM edge_crdt.read_group('rs_orders', 'billing', 'c3');
-- claim what c2 holds
SELECT payload, deliveries FROM edge_crdt.claim('rs_orders', 'billing', 'c4', '0 s', 10);
SELECT consumer, deliveries FROM edge_crdt.pending('rs_orders', 'billing') ORDER BY id;
SELECT edge_crdt.ack('rs_orders', 'billing', array_agg(id)) AS acked
FROM edge_crdt.pending('rs_orders', 'billing');
SELECT lag, in_flight FROM edge_crdt.stream_groups WHERE stream = 'rs_orders';
-- argument checks
SELECT edge_crdt.read_group('rs_orders', 'billing', '', 1);
SELECT edge_crdt.read_group('rs_orders', 'billing', 'c', 0);
SELECT edge_crdt.read_group('rs_orders', 'billing', 'c', 1, '0 s');
SELECT edge_crdt.read_group('rs_orders', 'billing', 'c', 1, '1 s', '-1 s');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT edge_crdt.read_group('rs_orders', 'billing', 'c', 1, '1 s', '1 s');
ROLLBACK;
-- waiting with nothing to read returns empty at the deadline
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS waited_empty FROM edge_crdt.read_group('rs_orders', 'billing', 'c', 1, '1 s', '200 ms');
SELECT clock_timestamp() - :'t0'::timestamptz >= interval '190 ms' AS waited;
-- the delay of a reader woken on a busy stream (stream.c): bounded
SHOW edge_crdt.stream_batch_delay;
SET edge_crdt.stream_batch_delay = '101ms';
SET edge_crdt.stream_batch_delay = 0;
RESET edge_crdt.stream_batch_delay;

-- start positions
SELECT edge_crdt.group_create('rs_orders', 'replay', start => 'earliest');
SELECT count(*) AS all_messages FROM edge_crdt.read_group('rs_orders', 'replay', 'r', 100);
SELECT id AS third FROM edge_crdt.read('rs_orders') OFFSET 2 LIMIT 1 \gset
SELECT edge_crdt.group_create('rs_orders', 'from_third', start => :'third');
SELECT payload FROM edge_crdt.read_group('rs_orders', 'from_third', 'r', 100);
SELECT edge_crdt.group_create('rs_orders', 'latest');
SELECT count(*) AS none_yet FROM edge_crdt.read_group('rs_orders', 'latest', 'r', 100);

-- read(): replay without a group, paging after an id
SELECT payload FROM edge_crdt.read('rs_orders', count => 2);
SELECT payload FROM edge_crdt.read('rs_orders', after => :'third');
SELECT edge_crdt.read('rs_orders', after => '1-1000-0');
SELECT edge_crdt.read('rs_orders', after => 'x');

-- dead letters: after max_deliveries the message moves to "<stream>:<group>:dead"
SELECT edge_crdt.stream_create('rs_dl', 'local');
SELECT edge_crdt.group_create('rs_dl', 'g');
SELECT edge_crdt.group_configure('rs_dl', 'g', 2);
SELECT edge_crdt.group_configure('rs_dl', 'g', 0);
SELECT edge_crdt.publish('rs_dl', '"poison"', key => 'p') AS poison \gset
SELECT deliveries FROM edge_crdt.read_group('rs_dl', 'g', 'c');
SELECT edge_crdt.nack('rs_dl', 'g', ARRAY[:'poison']);
SELECT deliveries FROM edge_crdt.read_group('rs_dl', 'g', 'c');
SELECT edge_crdt.nack('rs_dl', 'g', ARRAY[:'poison']);
SELECT count(*) AS not_delivered_a_third_time FROM edge_crdt.read_group('rs_dl', 'g', 'c');
SELECT payload, key, headers->'dead_letter'->>'id' = :'poison' AS same_id,
	   headers->'dead_letter'->>'deliveries' AS deliveries, headers->'dead_letter'->>'group' AS grp
FROM edge_crdt.read('rs_dl:g:dead');
SELECT lag FROM edge_crdt.stream_groups WHERE stream = 'rs_dl';
SELECT edge_crdt.stream_drop('rs_dl:g:dead');

-- exclusive: one consumer at a time, per-origin FIFO across redeliveries
SELECT edge_crdt.stream_create('rs_ex', 'local');
SELECT edge_crdt.group_create('rs_ex', 'g', mode => 'exclusive');
SELECT edge_crdt.publish_batch('rs_ex', ARRAY['1', '2', '3']::jsonb[]) IS NOT NULL;
SELECT payload FROM edge_crdt.read_group('rs_ex', 'g', 'a', 1);
SELECT count(*) AS b_locked_out FROM edge_crdt.read_group('rs_ex', 'g', 'b', 10);
SELECT count(*) AS blocked_behind_in_flight FROM edge_crdt.read_group('rs_ex', 'g', 'a', 10);
SELECT edge_crdt.nack('rs_ex', 'g', array_agg(id)) FROM edge_crdt.pending('rs_ex', 'g');
SELECT payload, deliveries FROM edge_crdt.read_group('rs_ex', 'g', 'a', 10);
SELECT owner FROM edge_crdt.stream_groups WHERE stream = 'rs_ex';

-- key_shared: a key is never in flight twice; other keys go ahead
SELECT edge_crdt.stream_create('rs_ks', 'local');
SELECT edge_crdt.group_create('rs_ks', 'g', mode => 'key_shared');
SELECT edge_crdt.publish('rs_ks', '"a1"', key => 'a') IS NOT NULL;
SELECT edge_crdt.publish('rs_ks', '"b1"', key => 'b') IS NOT NULL;
SELECT edge_crdt.publish('rs_ks', '"a2"', key => 'a') IS NOT NULL;
SELECT payload FROM edge_crdt.read_group('rs_ks', 'g', 'x', 1);
SELECT payload FROM edge_crdt.read_group('rs_ks', 'g', 'y', 10);
SELECT edge_crdt.ack('rs_ks', 'g', array_agg(id)) FROM edge_crdt.pending('rs_ks', 'g') WHERE consumer = 'x';
SELECT payload FROM edge_crdt.read_group('rs_ks', 'g', 'y', 10);

-- trimming: TRUNCATE of the oldest segment, never unacknowledged messages inside retention
SELECT edge_crdt.stream_create('rs_trim', 'local', max_len => 2);
SELECT edge_crdt.stream_create('rs_trim_held', 'local', max_len => 2);
SELECT edge_crdt.group_create('rs_trim_held', 'g');
CREATE TABLE rs_filenode AS
SELECT s.name, pg_relation_filenode(format('edge_crdt.stream_msg_%s_0', s.stream_id)::regclass) AS before
FROM edge_crdt.stream s WHERE s.name LIKE 'rs\_trim%';
DO $$
BEGIN
	FOR i IN 1 .. 4 LOOP
		PERFORM edge_crdt.publish_batch(s, ARRAY['1', '2', '3']::jsonb[])
		FROM unnest(ARRAY['rs_trim', 'rs_trim_held']) s;
		RAISE NOTICE 'round %: trimmed % and %', i, edge_crdt.stream_trim('rs_trim'),
			edge_crdt.stream_trim('rs_trim_held');
	END LOOP;
END
$$;
SELECT stream, length, group_lag FROM edge_crdt.streams WHERE stream LIKE 'rs\_trim%' ORDER BY 1;
SELECT f.name, pg_relation_filenode(format('edge_crdt.stream_msg_%s_0', s.stream_id)::regclass) <> f.before
	AS truncated
FROM rs_filenode f JOIN edge_crdt.stream s USING (name) ORDER BY 1;
-- once acknowledged, the held stream trims too
SELECT edge_crdt.ack('rs_trim_held', 'g', array_agg(id)) FROM edge_crdt.read_group('rs_trim_held', 'g', 'c', 100);
SELECT edge_crdt.stream_trim('rs_trim_held') AS trimmed;
SELECT stream, length FROM edge_crdt.streams WHERE stream LIKE 'rs\_trim%' ORDER BY 1;

-- past retention the oldest segment goes even when unacknowledged (aged here
-- by hand: stored_at and seg_started two hours back)
SELECT edge_crdt.stream_create('rs_ret', 'local', retention => '1 hour');
SELECT edge_crdt.group_create('rs_ret', 'g');
DO $$
BEGIN
	FOR i IN 1 .. 4 LOOP
		PERFORM edge_crdt.publish_batch('rs_ret', ARRAY['1', '2']::jsonb[]);
		UPDATE edge_crdt.stream_message SET stored_at = now() - interval '2 hours'
		WHERE stream_id = (SELECT stream_id FROM edge_crdt.stream WHERE name = 'rs_ret');
		UPDATE edge_crdt.stream SET seg_started = now() - interval '2 hours' WHERE name = 'rs_ret';
		RAISE NOTICE 'round %: trimmed %', i, edge_crdt.stream_trim('rs_ret');
	END LOOP;
END
$$;
SELECT stream, length, group_lag FROM edge_crdt.streams WHERE stream = 'rs_ret';
SELECT edge_crdt.stream_drop('rs_ret');

-- messages from another node (what the replicator hands over)
SELECT edge_crdt._stream_encode('rs_remote', 7, 123456789, 0, 'k', '{"h": 1}', '[1, 2]', 'd', '2026-01-01 00:00+00') AS body \gset
SELECT edge_crdt._stream_apply_remote(:'body', 7);
SELECT edge_crdt._stream_apply_remote(:'body', 7);	-- applied twice: stored once
SELECT stream, scope, length FROM edge_crdt.streams WHERE stream = 'rs_remote';
SELECT id, origin, key, payload, headers, published_at FROM edge_crdt.read('rs_remote');
SELECT edge_crdt._stream_apply_remote(:'body', 8);
SELECT edge_crdt._stream_apply_remote(edge_crdt._stream_encode('rs_orders', 7, 2, 0, NULL, NULL, '1', NULL, now()), 7);
SELECT count(*) AS from_node_7 FROM edge_crdt.read('rs_orders') WHERE origin = 7;
SELECT edge_crdt._stream_apply_remote(edge_crdt._stream_encode('rs_trim', 7, 3, 0, NULL, NULL, '1', NULL, now()), 7);
-- hostile bodies: every truncation, bad version, flags, lengths, trailing bytes, text, JSON
DO $$
DECLARE
	body bytea := edge_crdt._stream_encode('rs_remote', 7, 99, 1, 'key', '{"a": "b"}', '{"x": [1]}', 'dd', now());
	bad int := 0;
	codes text[] := '{}';
BEGIN
	FOR i IN 0 .. length(body) - 1 LOOP
		BEGIN
			PERFORM edge_crdt._stream_apply_remote(substring(body FROM 1 FOR i), 7);
		EXCEPTION WHEN OTHERS THEN
			bad := bad + 1;
			IF NOT SQLSTATE = ANY (codes) THEN codes := codes || SQLSTATE; END IF;
		END;
	END LOOP;
	RAISE NOTICE '% of % truncations rejected with %', bad, length(body), codes;
END
$$;
SELECT edge_crdt._stream_apply_remote(set_byte(:'body', 0, 2), 7);
SELECT edge_crdt._stream_apply_remote(set_byte(:'body', 1, 255), 7);
SELECT edge_crdt._stream_apply_remote(:'body' || '\x00'::bytea, 7);
SELECT edge_crdt._stream_apply_remote(overlay(:'body' PLACING '\x7fffffff'::bytea FROM 27 FOR 4), 7);
SELECT edge_crdt._stream_apply_remote(set_byte(:'body', 30, 49), 7);	-- name "1s_remote"
SELECT edge_crdt._stream_apply_remote(set_byte(:'body', 43, 0), 7);	-- NUL in the key
SELECT edge_crdt._stream_apply_remote(edge_crdt._stream_encode('rs_remote', 7, 0, 0, NULL, NULL, '1', NULL, now()), 7);
SELECT edge_crdt._stream_apply_remote(overlay(edge_crdt._stream_encode('rs_remote', 7, 5, 0, NULL, NULL, '[1]', NULL, now())
	PLACING '[1,'::bytea FROM 44 FOR 3), 7);	-- payload "[1,", not JSON
SELECT edge_crdt._stream_apply_remote(edge_crdt._stream_encode('rs_remote', 7, 6, 0, NULL, NULL,
	(repeat('[', 1001) || repeat(']', 1001))::jsonb, NULL, now()), 7);
SELECT edge_crdt._stream_apply_remote(edge_crdt._stream_encode('rs_remote', 7, 7, 0, NULL, '[1]', '1', NULL, now()), 7);
SELECT stream, length FROM edge_crdt.streams WHERE stream = 'rs_remote';

-- privileges: nothing for PUBLIC; EXECUTE granted to a role is enough to use a stream
CREATE ROLE rs_app;
SET ROLE rs_app;
SELECT edge_crdt.publish('rs_orders', '{}');
SELECT * FROM edge_crdt.stream_message;
RESET ROLE;
GRANT USAGE ON SCHEMA edge_crdt TO rs_app;
GRANT EXECUTE ON FUNCTION edge_crdt.publish(text, jsonb, text, jsonb, text),
	edge_crdt.read_group(text, text, text, int, interval, interval),
	edge_crdt.ack(text, text, text[]) TO rs_app;
SET ROLE rs_app;
SELECT edge_crdt.publish('rs_orders', '"from app"') IS NOT NULL AS published;
SELECT payload FROM edge_crdt.read_group('rs_orders', 'latest', 'app');
SELECT * FROM edge_crdt.stream_message;
SELECT edge_crdt.stream_create('rs_app_stream');
RESET ROLE;
REVOKE ALL ON FUNCTION edge_crdt.publish(text, jsonb, text, jsonb, text),
	edge_crdt.read_group(text, text, text, int, interval, interval),
	edge_crdt.ack(text, text, text[]) FROM rs_app;
REVOKE USAGE ON SCHEMA edge_crdt FROM rs_app;
DROP ROLE rs_app;

-- publish writes the segment tables without SQL: it refuses tables that
-- have triggers or generated columns, which it would not run or compute
SELECT edge_crdt.stream_create('rs_raw', 'local');
CREATE FUNCTION rs_raw_publish() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM edge_crdt.publish('rs_raw', '1');
	RETURN 'published';
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	RETURN regexp_replace(SQLERRM, 'stream_msg_\d+_\d+', 'stream_msg_<id>_<seg>');
END $$;
CREATE FUNCTION rs_raw_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
DO $$
BEGIN
	EXECUTE format('CREATE TRIGGER t BEFORE INSERT ON edge_crdt.%I FOR EACH ROW EXECUTE FUNCTION rs_raw_trg()',
				   (SELECT 'stream_msg_' || stream_id || '_' || cur_seg FROM edge_crdt.stream WHERE name = 'rs_raw'));
END $$;
SELECT rs_raw_publish();
DO $$
BEGIN
	EXECUTE format('DROP TRIGGER t ON edge_crdt.%I',
				   (SELECT 'stream_msg_' || stream_id || '_' || cur_seg FROM edge_crdt.stream WHERE name = 'rs_raw'));
END $$;
DROP FUNCTION rs_raw_trg();
ALTER TABLE edge_crdt.stream_message ADD COLUMN rs_g int GENERATED ALWAYS AS (1) STORED;
SELECT rs_raw_publish();
ALTER TABLE edge_crdt.stream_message DROP COLUMN rs_g;
SELECT rs_raw_publish() AS again;
DROP FUNCTION rs_raw_publish();
SELECT edge_crdt.stream_drop('rs_raw');

-- drop: the stream, its groups, dead-letter streams and partitions
SELECT edge_crdt.stream_drop(s) FROM unnest(ARRAY['rs_orders', 'rs_dl', 'rs_ex', 'rs_ks', 'rs_trim',
	'rs_trim_held', 'rs_remote']) s;
SELECT edge_crdt.stream_drop('rs_orders');
SELECT count(*) AS streams_left FROM edge_crdt.streams WHERE stream LIKE 'rs\_%';
SELECT count(*) AS partitions_left FROM pg_inherits WHERE inhparent = 'edge_crdt.stream_message'::regclass;
DROP TABLE rs_filenode;
