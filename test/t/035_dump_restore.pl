# What pg_dump carries of a replicated database (README, Known limitations):
# a replicated table's rows, its _edge_crdt column and its capture triggers,
# but none of edge_crdt's own state.  The restored database is not a node
# until create_node, replicate_table refuses the restored table for its
# leftover column, and dropping that column and the two triggers lets
# replicate_table take the table again.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my $node = new_node('dr1', 351);

sub sql { my ($db, $query) = @_; return $node->safe_psql($db, $query); }

sql('postgres', q{
CREATE TABLE t (id int PRIMARY KEY, v text, c edge_crdt.gcounter);
SELECT edge_crdt.replicate_table('t');
INSERT INTO t VALUES (1, 'gone', NULL), (2, 'kept', NULL);
DELETE FROM t WHERE id = 1;
});
is(sql('postgres', 'SELECT count(*) FROM edge_crdt.tombstone'), '1', 'the delete left a tombstone');

dump_and_restore($node, 'postgres', 'restored');

is(sql('restored', q{SELECT string_agg(id || ':' || v, ',') FROM t}), '2:kept', 'the rows came along');
like(sql('restored', 'SELECT _edge_crdt::text FROM t'), qr/\@351/, 'with their metadata (stamped by node 351)');
is(sql('restored', "SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass AND tgname LIKE 'zz_edge_crdt_%'"),
	'2', 'and the capture triggers');
is(sql('restored', 'SELECT count(*) FROM edge_crdt.node') . '/'
	  . sql('restored', 'SELECT count(*) FROM edge_crdt.tombstone') . '/'
	  . sql('restored', 'SELECT count(*) FROM edge_crdt.tables'),
	'0/0/0', 'but no node, tombstone or replicated table');

my ($ret, $stdout, $stderr) = $node->psql('restored', "INSERT INTO t VALUES (3, 'x', NULL)");
isnt($ret, 0, 'a local write before create_node fails');
like($stderr, qr/not an edge_crdt node yet/, 'saying why');

sql('restored', "SELECT edge_crdt.create_node('dr2', NULL, node_id => 352)");
($ret, $stdout, $stderr) = $node->psql('restored', "SELECT edge_crdt.replicate_table('t')");
like($stderr, qr/already has a column named "_edge_crdt"/, 'replicate_table refuses the restored table');

sql('restored', q{
DROP TRIGGER zz_edge_crdt_capture ON t;
DROP TRIGGER zz_edge_crdt_truncate ON t;
ALTER TABLE t DROP COLUMN _edge_crdt;
SELECT edge_crdt.replicate_table('t');
INSERT INTO t VALUES (3, 'new', NULL);
});
is(sql('restored', 'SELECT table_name FROM edge_crdt.tables'), 't',
	'after dropping the column and the triggers it takes the table again');
like(sql('restored', 'SELECT _edge_crdt::text FROM t WHERE id = 3'), qr/\@352/,
	'and new rows are stamped by the new node');

done_testing();
