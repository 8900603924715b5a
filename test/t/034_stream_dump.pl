# pg_dump leaves streams out whole, and a restore is clean: the segment
# tables of each stream are members of the extension like their parent, so
# the dump holds neither them nor their indexes, the restore runs without an
# error, and stream_create works in the restored database.  stream_drop and
# DROP EXTENSION still remove every segment.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my $node = new_node('d1', 341);

sub sql
{
	my ($db, $query) = @_;
	return $node->safe_psql($db, $query);
}

my $segments = "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') AND relname LIKE 'stream\\_msg\\_%'";

sql('postgres', q{
SELECT edge_crdt.stream_create('orders', 'local');
SELECT edge_crdt.group_create('orders', 'billing');
SELECT edge_crdt.group_create('orders', 'audit', mode => 'exclusive');
SELECT edge_crdt.publish('orders', jsonb_build_object('n', i)) FROM generate_series(1, 3) i;
CREATE TABLE app_data (id int PRIMARY KEY);
INSERT INTO app_data VALUES (1), (2);
});
my $streams = sql('postgres', 'SELECT count(*) FROM edge_crdt.stream');
cmp_ok($streams, '>=', 1, 'the stream exists (with any dead-letter streams of its groups)');
is(sql('postgres', $segments), 5 * $streams, 'five segment tables per stream');
is(sql('postgres', qq{
	SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
	WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
	AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'edge_crdt')
	AND c.relname LIKE 'stream\\_msg\\_%'}),
	5 * $streams, 'and every one is a member of the extension');

my $text = slurp_file(dump_and_restore($node, 'postgres', 'restored'));
unlike($text, qr/stream_msg_/, 'the dump holds no segment table or index');
like($text, qr/CREATE TABLE public\.app_data/, 'but the application\'s tables');
is(sql('restored', 'SELECT count(*) FROM app_data'), '2', 'application rows restored');
is(sql('restored', 'SELECT count(*) FROM edge_crdt.stream'), '0', 'no stream in the restored database');
is(sql('restored', $segments), '0', 'and no segment table');

# The restored database takes new streams (the first gets id 1 again).
sql('restored', q{
SELECT edge_crdt.create_node('d1r', NULL, node_id => 342);
SELECT edge_crdt.stream_create('orders', 'local');
SELECT edge_crdt.group_create('orders', 'billing');
SELECT edge_crdt.publish('orders', '{"n": 10}');
});
is(sql('restored', q{SELECT string_agg(payload->>'n', ',') FROM edge_crdt.read_group('orders', 'billing', 'c1')}),
	'10', 'publish and read_group work in the restored database');

# stream_drop releases the segments from the extension and drops them.
sql('postgres', q{SELECT edge_crdt.stream_drop('orders')});
is(sql('postgres', 'SELECT count(*) FROM edge_crdt.stream'), '0',
	'stream_drop removes the stream and its dead-letter streams');
is(sql('postgres', $segments), '0', 'and every segment table');

# DROP EXTENSION takes the member segments with it.
cmp_ok(sql('restored', $segments), '>', 0, 'the restored database has segment tables');
sql('restored', 'DROP EXTENSION edge_crdt');
is(sql('restored', $segments), '0', 'DROP EXTENSION drops them');

done_testing();
