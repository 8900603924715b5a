--
-- ack of messages this backend delivered: by position, without looking the
-- ids up (src/stream/stream_fast.c), with the same answers as the full path.
--
\set SHOW_CONTEXT never
SELECT edge_crdt.stream_create('rsa_s', 'local');
SELECT edge_crdt.group_create('rsa_s', 'g');
SELECT edge_crdt.group_create('rsa_s', 'h');
SELECT count(*) AS published FROM edge_crdt.publish_batch('rsa_s', ARRAY['1', '2', '3', '4']::jsonb[]);

-- duplicates count once; the other group keeps its deliveries
SELECT array_agg(id ORDER BY id) AS ids FROM edge_crdt.read_group('rsa_s', 'g', 'c', 2) \gset
SELECT edge_crdt.ack('rsa_s', 'g', :'ids'::text[] || :'ids'::text[]) AS acked;
SELECT grp, lag FROM edge_crdt.stream_groups WHERE stream = 'rsa_s' ORDER BY grp;

-- delivered here, then acknowledged by someone else (here: taken out of its
-- lease's pending list by hand): ack fails, naming only the id that is not
-- pending, and rolls back the ack of the other one
SELECT array_agg(id ORDER BY id) AS ids, min(id) AS gone, max(id) AS kept
FROM edge_crdt.read_group('rsa_s', 'g', 'c', 2) \gset
SELECT set_config('rsa.ids', array_to_string(:'ids'::text[], ','), false) IS NOT NULL
   AND set_config('rsa.gone', :'gone', false) IS NOT NULL AS saved;
UPDATE edge_crdt.stream_lease l SET pending = array_remove(l.pending, m.pos)
FROM edge_crdt.stream_message m
WHERE l.group_id = (SELECT group_id FROM edge_crdt.stream_group WHERE grp = 'g'
					AND stream_id = m.stream_id)
  AND m.pos = ANY (l.pending) AND m.hlc::text || '-' || m.origin || '-' || m.seq = :'gone';
DO $$
DECLARE
	d			text;
BEGIN
	PERFORM edge_crdt.ack('rsa_s', 'g', string_to_array(current_setting('rsa.ids'), ','));
EXCEPTION WHEN object_not_in_prerequisite_state THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RAISE NOTICE '%', SQLERRM;
	RAISE NOTICE 'detail names the missing id: %', d = format('Not pending: %s.', current_setting('rsa.gone'));
END
$$;
SELECT id = :'kept' AS still_pending FROM edge_crdt.pending('rsa_s', 'g');

-- after a nack, the message is delivered again and acknowledged normally
SELECT edge_crdt.nack('rsa_s', 'g', ARRAY[:'kept']) AS nacked;
SELECT edge_crdt.ack('rsa_s', 'g', array_agg(id)) AS acked FROM edge_crdt.read_group('rsa_s', 'g', 'c');
SELECT grp, lag FROM edge_crdt.stream_groups WHERE stream = 'rsa_s' ORDER BY grp;
SELECT edge_crdt.stream_drop('rsa_s');

-- a shared group keeps one lease per read_group: a nack splits it, and the
-- nacked message comes back before fresh ones; an ack finds ids wherever
-- they are pending; once all is acknowledged the floor absorbs the leases
SELECT edge_crdt.stream_create('rsa_l', 'local');
SELECT edge_crdt.group_create('rsa_l', 'g');
CREATE VIEW rsa_leases AS
SELECT count(l.lease_id) AS leases, sum(cardinality(l.pending)) AS pending,
	   g.floor >= (SELECT max(m.pos) FROM edge_crdt.stream_message m WHERE m.stream_id = s.stream_id)
	   AS floor_at_head
FROM edge_crdt.stream s JOIN edge_crdt.stream_group g USING (stream_id)
LEFT JOIN edge_crdt.stream_lease l ON l.group_id = g.group_id
WHERE s.name = 'rsa_l' GROUP BY g.floor, s.stream_id;
SELECT count(*) AS published FROM edge_crdt.publish_batch('rsa_l', ARRAY['1', '2', '3', '4', '5']::jsonb[]);
SELECT array_agg(id ORDER BY id) AS l3 FROM edge_crdt.read_group('rsa_l', 'g', 'c', 3) \gset
SELECT * FROM rsa_leases;
SELECT edge_crdt.nack('rsa_l', 'g', ARRAY[(:'l3'::text[])[2]]) AS nacked;
SELECT * FROM rsa_leases;
SELECT payload, deliveries FROM edge_crdt.read_group('rsa_l', 'g', 'c', 2);
SELECT edge_crdt.ack('rsa_l', 'g', :'l3'::text[]) AS acked;
SELECT edge_crdt.ack('rsa_l', 'g', array_agg(id)) AS acked FROM edge_crdt.read_group('rsa_l', 'g', 'c', 10);
SELECT edge_crdt.ack('rsa_l', 'g', array_agg(id)) AS acked FROM edge_crdt.pending('rsa_l', 'g');
SELECT * FROM rsa_leases;
-- a read that finds nothing moves the floor
SELECT count(*) AS nothing FROM edge_crdt.read_group('rsa_l', 'g', 'c', 10);
SELECT * FROM rsa_leases;
SELECT lag, in_flight FROM edge_crdt.stream_groups WHERE stream = 'rsa_l';
DROP VIEW rsa_leases;
SELECT edge_crdt.stream_drop('rsa_l');
