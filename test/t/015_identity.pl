# Node identity on connect: a node refuses itself and a peer with its own
# node id (e.g. a cloned database) or its next_id prefix (the lowest 12
# bits), two peers cannot claim one id, and a peer
# whose identity changes behind an address is stopped with an error in the
# peers view instead of being merged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my $i1 = new_node('i1', 601);
require_replicator($i1);
my $i2 = new_node('i2', 602);
my $twin = new_node('twin', 601);    # same id as i1, as a clone would have
my $other = new_node('other', 603);
my $cousin = new_node('cousin', 601 + 4096);    # i1's next_id prefix

create_replicated([ $i1, $i2, $twin, $other ], 'it', 'CREATE TABLE it (id int PRIMARY KEY, v text)');

sub try_add
{
	my ($node, $name, $dsn) = @_;
	$dsn =~ s/'/''/g;
	my ($ret, $out, $err) = $node->psql('postgres', "SELECT edge_crdt.add_peer('$name', '$dsn')");
	return ($ret, $err);
}

my ($ret, $err) = try_add($i1, 'myself', connstr_for($i1));
isnt($ret, 0, 'a node refuses to add itself as a peer');
like($err, qr/same node id 601/, 'and says why');

($ret, $err) = try_add($i1, 'twin', connstr_for($twin));
isnt($ret, 0, 'a node refuses a peer with its own node id (a clone)');
like($err, qr/same node id 601/, 'error names the duplicate id');
is($i1->safe_psql('postgres', 'SELECT count(*) FROM edge_crdt.peers'), '0',
	'no peer recorded after the refusals');
is($twin->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'edge_crdt_%'"),
	'0', 'no slot left behind on the refused peer');

($ret, $err) = try_add($i1, 'cousin', connstr_for($cousin));
isnt($ret, 0, 'a node refuses a peer sharing its next_id prefix');
like($err, qr/node 4697.*share the id prefix 601.*next_id/s, 'and says which prefix and why');
is($cousin->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'edge_crdt_%'"),
	'0', 'no slot left behind there either');

# A third node cannot take two peers with one node id.
add_peer_via($i2, $i1, connstr_for($i1));
($ret, $err) = try_add($i2, 'twin', connstr_for($twin));
isnt($ret, 0, 'a second peer claiming node id 601 is refused');
note $err;
is($i2->safe_psql('postgres', 'SELECT string_agg(peer_name, \',\') FROM edge_crdt.peers'), 'i1',
	'only the first one is a peer');

# i2 streams from i1 through a proxy, i1 from i2 directly.
$i2->safe_psql('postgres', "SELECT edge_crdt.remove_peer('i1')");
my $proxy = EdgeCrdt::Mesh::Proxy->new(target_port => $i1->port);
my $port = $proxy->port;
add_peer_via($i2, $i1, $proxy->dsn);
add_peer_via($i1, $i2, connstr_for($i2));
$i1->safe_psql('postgres', "INSERT INTO it VALUES (1, 'from i1')");
ok(wait_converged($i1, $i2), 'i1 and i2 replicate');

# Behind i1's address there is now another node (id 603): i2 must refuse to
# stream from it rather than merge a stranger's changes as i1's.
$proxy->stop;
$other->safe_psql('postgres', "INSERT INTO it VALUES (99, 'stranger')");
my $impostor = EdgeCrdt::Mesh::Proxy->new(target_port => $other->port, port => $port);
ok( $i2->poll_query_until(
		'postgres',
		"SELECT last_error ~ 'node id' FROM edge_crdt.peers WHERE peer_name = 'i1'"),
	'i2 reports the changed identity in the peers view');
note $i2->safe_psql('postgres',
	"SELECT state || ' / ' || last_error FROM edge_crdt.peers WHERE peer_name = 'i1'");
isnt($i2->safe_psql('postgres', "SELECT state FROM edge_crdt.peers WHERE peer_name = 'i1'"),
	'streaming', 'and does not stream from it');
is($i2->safe_psql('postgres', 'SELECT count(*) FROM it WHERE id = 99'), '0',
	'nothing of the impostor was merged');
is($other->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'edge_crdt_%'"),
	'0', 'no slot was created on the impostor');

# The real i1 back behind the address: streaming resumes.
$impostor->stop;
$proxy = EdgeCrdt::Mesh::Proxy->new(target_port => $i1->port, port => $port);
$i1->safe_psql('postgres', "INSERT INTO it VALUES (2, 'after')");
ok(wait_converged($i1, $i2), 'replication resumes once i1 is back');
is($i2->safe_psql('postgres', 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM it'), '1,2',
	'i2 has i1\'s rows and only those');

$proxy->stop;
done_testing();
