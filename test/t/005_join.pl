# edge_crdt.join: one call on a new node joins the whole mesh.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

sub new_node
{
	my ($name, $id) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical');
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'edge_crdt'
max_replication_slots = 10
max_wal_senders = 10
max_worker_processes = 20
output_plugin_libraries = 'pgoutput, test_decoding, edge_crdt'
});
	$node->start;
	$node->safe_psql('postgres', qq{
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('$name', NULL, node_id => $id);
CREATE TABLE kv (k text PRIMARY KEY, v text);
SELECT edge_crdt.replicate_table('kv');
});
	return $node;
}

sub dsn { my $n = shift; return 'host=' . $n->host . ' port=' . $n->port . ' dbname=postgres'; }

my $a = new_node('ja', 1);
my $b = new_node('jb', 2);
my $c = new_node('jc', 3);
$a->safe_psql('postgres', "SELECT edge_crdt.add_peer('jb', '" . dsn($b) . "')");
$b->safe_psql('postgres', "SELECT edge_crdt.add_peer('ja', '" . dsn($a) . "')");

my ($ret, $out, $err) = $c->psql('postgres', "SELECT edge_crdt.join('" . dsn($a) . "')");
isnt($ret, 0, 'join without a local DSN fails');
like($err, qr/would not know how to reach this node/, 'and says what is missing');
like($err, qr/set_local_dsn/, 'with a hint');

is($c->safe_psql('postgres', "SELECT edge_crdt.join('" . dsn($a) . "', '" . dsn($c) . "')"),
	'2', 'join reaches both members through one of them');
is($c->safe_psql('postgres', 'SELECT string_agg(peer_name, \',\' ORDER BY peer_name) FROM edge_crdt.peer'),
	'ja,jb', 'the new node streams from both');
for my $n ($a, $b)
{
	is($n->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.peer WHERE peer_name = 'jc'"),
		'1', $n->name . ' streams from the new node');
}
is($c->safe_psql('postgres', 'SELECT local_dsn IS NOT NULL FROM edge_crdt.node'), 't',
	'the local DSN is remembered');
is($c->safe_psql('postgres', "SELECT edge_crdt.join('" . dsn($b) . "')"), '2',
	'joining again is harmless');
is($c->safe_psql('postgres', 'SELECT count(*) FROM edge_crdt.peer'), '2', 'no duplicate peers');

for my $n ($a, $b, $c)
{
	$n->poll_query_until('postgres',
		"SELECT count(*) = 2 FROM edge_crdt.peers WHERE state = 'streaming'")
	  or die $n->name . ' peers not streaming';
}
$a->safe_psql('postgres', "INSERT INTO kv VALUES ('from a', 'x')");
$c->safe_psql('postgres', "INSERT INTO kv VALUES ('from c', 'y')");
$b->safe_psql('postgres', "INSERT INTO kv VALUES ('from b', 'z')");
for my $n ($a, $b, $c)
{
	is($n->safe_psql('postgres', "SELECT edge_crdt.wait_for_sync('30s')"), 't',
		'wait_for_sync on ' . $n->name);
}
for my $n ($a, $b, $c)
{
	is($n->safe_psql('postgres', 'SELECT string_agg(k, \',\' ORDER BY k) FROM kv'),
		'from a,from b,from c', 'all writes on ' . $n->name);
}
done_testing();
