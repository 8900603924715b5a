-- next_id: unique, strictly increasing on one node, and carrying the node
-- prefix; the node of this suite is 1000, whose prefix is 1000.
SET search_path = public, edge_crdt;
-- 20000 ids in one statement: far more than 1024 per millisecond, so the
-- sequence part wraps into the next millisecond many times.
CREATE TEMP TABLE ids AS
	SELECT ord, edge_crdt.next_id() AS id
	FROM generate_series(1, 20000) WITH ORDINALITY AS g(x, ord);
SELECT count(*) AS ids, count(DISTINCT id) AS distinct_ids FROM ids;
SELECT bool_and(id > prev) AS strictly_increasing
FROM (SELECT id, lag(id) OVER (ORDER BY ord) AS prev FROM ids) s
WHERE prev IS NOT NULL;
SELECT min(i.node_prefix) AS min_prefix, max(i.node_prefix) AS max_prefix,
	   max(i.seq) < 1024 AS seq_in_range, min(i.seq) >= 0 AS seq_non_negative
FROM ids, edge_crdt.next_id_info(id) i;
-- The time part follows the clock (the clock test may have moved it up to
-- ten minutes ahead of the wall clock).
SELECT (i.issued_at BETWEEN now() - interval '1 minute' AND now() + interval '11 minutes') AS recent
FROM edge_crdt.next_id_info(edge_crdt.next_id()) i;
-- A millisecond whose logical clock is past 1023 is skipped, not wrapped:
-- move the clock to logical 65000, and the next id starts the next ms.
-- (The clock test may have left the clock minutes ahead of the wall.)
SET edge_crdt.max_clock_skew = '1h';
SELECT edge_crdt.hlc_observe(((edge_crdt.hlc_now() >> 16) << 16) | 65000) AS h \gset
SELECT i.seq, i.issued_at > edge_crdt.hlc_to_timestamptz(:h) AS later
FROM edge_crdt.next_id_info(edge_crdt.next_id()) i;
RESET edge_crdt.max_clock_skew;
-- A key default that works for replicated tables.
CREATE TABLE next_id_t (id bigint PRIMARY KEY DEFAULT edge_crdt.next_id(), v text);
INSERT INTO next_id_t (v) VALUES ('a'), ('b'), ('c');
SELECT count(DISTINCT id) FROM next_id_t;
DROP TABLE next_id_t;
-- Decoding takes ids apart; a negative number is no id.
SELECT * FROM edge_crdt.next_id_info((1::int8 << 22) | (5 << 10) | 7);
SELECT * FROM edge_crdt.next_id_info(-1);
