--
-- Local writes to CRDT columns of a replicated table must be inflations.
--
\set SHOW_CONTEXT never
SET search_path = public, edge_crdt;

CREATE TABLE capc (id int PRIMARY KEY, views gcounter, tags orset, body doc, stock pncounter);
SELECT edge_crdt.replicate_table('capc');
SELECT crdt_columns FROM edge_crdt.tables WHERE table_name = 'capc'::regclass;

-- ORMs insert ordinary values through the assignment casts
INSERT INTO capc VALUES (1, 0, ARRAY['a'], '{"title": "hello"}'::jsonb, 10);

-- inflations are accepted
UPDATE capc SET views = views + 1, tags = tags + 'b', stock = stock - 3,
	body = doc_set(body, ARRAY['title'], '"hi"') WHERE id = 1;
UPDATE capc SET tags = tags - 'a' WHERE id = 1;
UPDATE capc SET views = merge(views, '{7:5}') WHERE id = 1;
SELECT views::bigint, tags::text[], body::jsonb, stock::bigint FROM capc;

-- assignments that would discard other nodes' contributions are refused
UPDATE capc SET views = 3 WHERE id = 1;
UPDATE capc SET tags = ARRAY['z'] WHERE id = 1;
-- replacing a whole document is a newer write of its root: an inflation
UPDATE capc SET body = '{"title": "overwrite"}'::jsonb WHERE id = 1;
UPDATE capc SET stock = 0 WHERE id = 1;
UPDATE capc SET views = NULL WHERE id = 1;
SELECT views::bigint, tags::text[], body::jsonb, stock::bigint FROM capc;

-- an unchanged CRDT column keeps its version; a changed one is restamped
CREATE TEMP TABLE capc_before AS
	SELECT v.* FROM capc, edge_crdt.row_versions('capc', _edge_crdt) v;
UPDATE capc SET views = views + 1 WHERE id = 1;
SELECT v.column_name, v.hlc > b.hlc AS restamped
FROM capc, edge_crdt.row_versions('capc', _edge_crdt) v
JOIN capc_before b USING (column_name) ORDER BY 1;

DROP TABLE capc;
