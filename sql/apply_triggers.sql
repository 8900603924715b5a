--
-- apply_triggers: which triggers fire when a change is applied.  The apply
-- runs with session_replication_role = replica and hands the executor only
-- the ENABLE ALWAYS and ENABLE REPLICA triggers of a table (cached per
-- table, rebuilt when the table's triggers change): those fire, on INSERT
-- and UPDATE, BEFORE and AFTER; ordinary (origin) and disabled ones do not.
--
CREATE TABLE at_t (id int PRIMARY KEY, v int, note text);
SELECT edge_crdt.replicate_table('at_t');
CREATE TABLE at_log (what text);
SELECT 'slot' FROM pg_create_logical_replication_slot('at_slot', 'edge_crdt');
INSERT INTO at_t VALUES (1, 1);
UPDATE at_t SET v = 2 WHERE id = 1;
CREATE TEMP TABLE at_msg AS
SELECT row_number() OVER () AS n, data
FROM pg_logical_slot_get_binary_changes('at_slot', NULL, NULL)
WHERE get_byte(data, 1) = 82;	-- ROW: the insert, then the update
SELECT count(*) AS row_messages FROM at_msg;
SELECT pg_drop_replication_slot('at_slot');

CREATE FUNCTION at_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'trigger % must not fire on apply', TG_NAME; END $$;
CREATE FUNCTION at_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.note := TG_NAME || ' ' || TG_OP; RETURN NEW; END $$;
CREATE FUNCTION at_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO at_log VALUES (TG_NAME || ' ' || TG_OP || ' ' || NEW.v); RETURN NULL; END $$;
CREATE TRIGGER at_origin BEFORE INSERT OR UPDATE ON at_t FOR EACH ROW EXECUTE FUNCTION at_fail();
CREATE TRIGGER at_disabled BEFORE INSERT OR UPDATE ON at_t FOR EACH ROW EXECUTE FUNCTION at_fail();
ALTER TABLE at_t DISABLE TRIGGER at_disabled;
CREATE TRIGGER at_replica BEFORE INSERT OR UPDATE ON at_t FOR EACH ROW EXECUTE FUNCTION at_note();
ALTER TABLE at_t ENABLE REPLICA TRIGGER at_replica;
CREATE TRIGGER at_always AFTER INSERT OR UPDATE ON at_t FOR EACH ROW EXECUTE FUNCTION at_logged();
ALTER TABLE at_t ENABLE ALWAYS TRIGGER at_always;

-- Forget the row without a tombstone, then apply the insert and the update.
CREATE FUNCTION pg_temp.forget() RETURNS void LANGUAGE sql
SET session_replication_role = replica AS $$
	DELETE FROM at_t;
	DELETE FROM edge_crdt.tombstone WHERE relid = 'at_t'::regclass;
	DELETE FROM at_log;
$$;
SELECT pg_temp.forget();
SELECT edge_crdt.apply_change(data) FROM at_msg WHERE n = 1;
SELECT id, v, note FROM at_t;
SELECT edge_crdt.apply_change(data) FROM at_msg WHERE n = 2;
SELECT id, v, note FROM at_t;
SELECT what FROM at_log ORDER BY what;

-- The triggers change: the next apply sees it (at_origin made REPLICA fires,
-- its error shows it; at_replica disabled does not).
ALTER TABLE at_t DISABLE TRIGGER at_replica;
ALTER TABLE at_t ENABLE REPLICA TRIGGER at_origin;
SELECT pg_temp.forget();
SELECT edge_crdt.apply_change(data) FROM at_msg WHERE n = 1;
ALTER TABLE at_t ENABLE TRIGGER at_origin;
SELECT edge_crdt.apply_change(data) FROM at_msg WHERE n = 1;
SELECT id, v, note FROM at_t;
SELECT what FROM at_log ORDER BY what;

DROP TABLE at_t, at_log;
DROP FUNCTION at_fail(), at_note(), at_logged();
