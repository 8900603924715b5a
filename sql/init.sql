--
-- init: runs first.  Creates the extension and a node with a fixed id (1000)
-- so the other tests' outputs are reproducible.
--
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('regress_node', 'local', node_id => 1000);
SELECT node_id, node_name, region FROM edge_crdt.local_node;
