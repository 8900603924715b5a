--
-- wire: edge_crdt.changeset_to_json renders one change-set wire message
-- (src/wire, format in src/include/edge_crdt/wire.h).  The messages are
-- encoded by hand, one field per line: big-endian integers, strings as a
-- 2-byte length + bytes, values as a 4-byte length + bytes.  Shared values:
--   commit_time 000304259596d640 = 2026-11-26 05:00:00.123456 UTC
--   hlc         019abe8860800007 = 115614233395200007
--   node        000003e8         = 1000
--
SET search_path = public, edge_crdt;
-- begin
SELECT changeset_to_json(
	'\x'
	'0142'				-- protocol version 1, type 'B'
	'00000000016b3748'	-- final_lsn 0/16B3748
	'000304259596d640'	-- commit_time
	'000002ee'			-- xid 750
	'000003e8');		-- origin_node 1000
-- commit
SELECT changeset_to_json(
	'\x'
	'0143'				-- version 1, type 'C'
	'00000000016b3748'	-- commit_lsn 0/16B3748
	'00000001016b3778'	-- end_lsn 1/16B3778
	'000304259596d640');	-- commit_time
-- row: public.wire_t, cl 1, five columns (int4, text, NULL, bool, text
-- format); the relation need not exist here
SELECT jsonb_pretty(changeset_to_json(
	'\x'
	'0152'				-- version 1, type 'R'
	'0006 7075626c6963'	-- nspname "public"
	'0006 776972655f74'	-- relname "wire_t"
	'0000000000000001'	-- cl 1
	'0005'				-- 5 columns
	'0002 6964'		-- name "id"
	'0007 696e7465676572'	-- type "integer"
	'019abe8860800007 000003e8'	-- hlc, node
	'62 00000004 0000002a'	-- 'b', 4 bytes: int4 42
	'0004 6e616d65'	-- name "name"
	'0004 74657874'	-- type "text"
	'019abe8860800007 000003e8'
	'62 00000005 68656c6c6f'	-- 'b', 5 bytes: "hello"
	'0004 6e6f7465'	-- name "note"
	'0004 74657874'	-- type "text"
	'019abe8860800007 000003e8'
	'6e'				-- 'n': NULL, no value
	'0002 6f6b'		-- name "ok"
	'0007 626f6f6c65616e'	-- type "boolean"
	'0000000000000001 00000007'	-- hlc 1, node 7
	'62 00000001 01'	-- 'b', 1 byte: true
	'0005 6c6162656c'	-- name "label"
	'0004 74657874'	-- type "text"
	'019abe8860800007 000003e8'
	'74 00000003 616263'));	-- 't', text format: "abc"
-- row: other values.  float8, jsonb, an unchanged value, an unknown type
-- (hex), a text value with a NUL byte (hex), an empty text value; the
-- schema and relation names need quoting.
SELECT jsonb_pretty(changeset_to_json(
	'\x'
	'0152'				-- version 1, type 'R'
	'0002 4e53'		-- nspname "NS"
	'0003 612062'		-- relname "a b"
	'0000000000000003'	-- cl 3
	'0006'				-- 6 columns
	'0001 66'			-- name "f"
	'0010 646f75626c6520707265636973696f6e'	-- type "double precision"
	'019abe8860800007 000003e8'
	'62 00000008 3ff8000000000000'	-- 'b': float8 1.5
	'0001 6a'			-- name "j"
	'0005 6a736f6e62'	-- type "jsonb"
	'019abe8860800007 000003e8'
	'62 00000008 017b2261223a317d'	-- 'b': jsonb version 1, {"a":1}
	'0001 75'			-- name "u"
	'0004 74657874'	-- type "text"
	'019abe8860800007 000003e8'
	'75'				-- 'u': unchanged, no value
	'0001 78'			-- name "x"
	'0013 7075626c69632e776972655f6e6f5f74797065'	-- type "public.wire_no_type"
	'019abe8860800007 000003e8'
	'62 00000003 010203'	-- 'b': 3 bytes of an unknown type
	'0001 7a'			-- name "z"
	'0004 74657874'	-- type "text"
	'019abe8860800007 000003e8'
	'74 00000003 610062'	-- 't': "a", NUL, "b"
	'0001 65'			-- name "e"
	'0004 74657874'	-- type "text"
	'019abe8860800007 000003e8'
	'74 00000000'));	-- 't': empty
-- delete: tombstone of public.wire_t id 42; key column versions are zero
SELECT jsonb_pretty(changeset_to_json(
	'\x'
	'0144'				-- version 1, type 'D'
	'0006 7075626c6963'	-- nspname "public"
	'0006 776972655f74'	-- relname "wire_t"
	'0000000000000002'	-- cl 2
	'019abe8860800008 000003e8'	-- tombstone hlc, node
	'0001'				-- 1 key column
	'0002 6964'		-- name "id"
	'0007 696e7465676572'	-- type "integer"
	'0000000000000000 00000000'	-- zero version
	'62 00000004 0000002a'));	-- 'b': int4 42
-- message: transactional, text content
SELECT changeset_to_json(
	'\x'
	'014d'				-- version 1, type 'M'
	'01'				-- transactional
	'0009 656467655f63726474'	-- prefix "edge_crdt"
	'00000005 68656c6c6f');	-- content "hello"
-- message: not transactional, binary content shown as hex, then empty
SELECT changeset_to_json('\x014d00 0001 70 00000002 00ff');
SELECT changeset_to_json('\x014d00 0001 70 00000000');
-- A row with no columns is well-formed.
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0000');
-- The type name is looked up in this database: a domain over int4 prints
-- as a number, a varchar(3) value is checked against its typmod.
CREATE DOMAIN wire_posint AS integer CHECK (VALUE > 0);
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0001'
	'0001 64 0012 7075626c69632e776972655f706f73696e74'	-- "public.wire_posint"
	'0000000000000001 00000001 62 00000004 00000005');
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0001'
	'0001 64 0012 7075626c69632e776972655f706f73696e74'
	'0000000000000001 00000001 62 00000004 ffffffff');	-- -1: domain check fails
-- Binary values the type's receive function rejects: the context names
-- relation, column and type.
SELECT changeset_to_json('\x0152 0006 7075626c6963 0006 776972655f74'
	'0000000000000001 0001'
	'0002 6964 0007 696e7465676572'
	'0000000000000001 00000001'
	'62 00000003 00002a');	-- int4 with 3 bytes
SELECT changeset_to_json('\x0152 0006 7075626c6963 0006 776972655f74'
	'0000000000000001 0001'
	'0002 6964 0007 696e7465676572'
	'0000000000000001 00000001'
	'62 00000005 0000002a00');	-- int4 with 5 bytes: one left over
SELECT changeset_to_json('\x0152 0006 7075626c6963 0006 776972655f74'
	'0000000000000001 0001'
	'0001 76 000a 76617263686172283329'	-- type "varchar(3)"
	'0000000000000001 00000001'
	'62 00000004 61626364');	-- "abcd": too long for varchar(3)
SELECT changeset_to_json('\x0152 0006 7075626c6963 0006 776972655f74'
	'0000000000000001 0001'
	'0002 6964 0008 696e746567657229'	-- type "integer)": not a type name
	'0000000000000001 00000001'
	'62 00000004 0000002a');
-- Decoder errors.
SELECT changeset_to_json('\x');				-- empty
SELECT changeset_to_json('\x01');			-- no type
SELECT changeset_to_json('\x0142 00000000016b3748 0003');	-- begin cut in commit_time
SELECT changeset_to_json('\x0242 00000000016b3748 000304259596d640'
	'000002ee 000003e8');		-- protocol version 2
SELECT changeset_to_json('\x0158');			-- unknown type 'X'
SELECT changeset_to_json('\x0143 00000000016b3748 00000001016b3778'
	'000304259596d640 00');	-- commit + 1 trailing byte
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0641');	-- 1601 columns: over the limit
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0640');	-- 1600 columns in 0 bytes
SELECT changeset_to_json('\x0152 0001 73 0002 7400'
	'0000000000000001 0000');	-- relname "t\0"
SELECT changeset_to_json('\x0152 0001 73 0000'
	'0000000000000001 0000');	-- empty relname
SELECT changeset_to_json('\x0152 0040 7373737373737373737373737373737373737373737373737373737373737373'
	'7373737373737373737373737373737373737373737373737373737373737373'
	'0001 74 0000000000000001 0000');	-- 64-byte nspname
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0001'
	'0001 63 0004 74657874 0000000000000001 00000001'
	'78');		-- value kind 'x'
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0001'
	'0001 63 0004 74657874 0000000000000001 00000001'
	'62 40000000');	-- value length 2^30: over the limit
SELECT changeset_to_json('\x0152 0001 73 0001 74'
	'0000000000000001 0001'
	'0001 63 0004 74657874 0000000000000001 00000001'
	'62 00000004 6869');	-- value of 4 bytes with 2 left
SELECT changeset_to_json('\x014d02 0001 70 00000000');	-- transactional 2
DROP DOMAIN wire_posint;
