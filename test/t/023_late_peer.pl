# Peer management over time: remove_peer leaves no slot retaining WAL on the
# peer and no origin behind; a removed and re-added peer streams again at
# once; a third region joins an existing mesh with edge_crdt.join, and the
# rows (and deletions) made before it joined reach it through the initial
# copy.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('l1', 1401));
require_replicator($n[0]);
push @n, new_node('l2', 1402), new_node('l3', 1403);
my ($l1, $l2, $l3) = @n;

create_replicated(\@n, 'lt', 'CREATE TABLE lt (id int PRIMARY KEY, v text, c edge_crdt.gcounter)');
full_mesh($l1, $l2);
$l1->safe_psql('postgres', "INSERT INTO lt SELECT g, 'l1', g FROM generate_series(1, 10) g");
$l2->safe_psql('postgres', "INSERT INTO lt SELECT g, 'l2', g FROM generate_series(11, 20) g");
$l2->safe_psql('postgres', 'DELETE FROM lt WHERE id = 1');
ok(wait_converged($l1, $l2), 'l1 and l2 converge');

# --- remove_peer cleans up on both sides
my $slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'edge_crdt_1402'";
is($l1->safe_psql('postgres', $slots), '1', 'l2 has its slot on l1');
my $origins = "SELECT count(*) FROM pg_replication_origin WHERE roname ~ '1401'";
is($l2->safe_psql('postgres', $origins), '1', 'l2 has an origin for l1');
$l2->safe_psql('postgres', "SELECT edge_crdt.remove_peer('l1')");
is($l1->safe_psql('postgres', $slots), '0', 'remove_peer drops the slot on the peer');
is($l2->safe_psql('postgres', $origins), '0', 'and the local replication origin');
is($l2->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.peers"), '0', 'and the peer');
add_peer_via($l2, $l1, connstr_for($l1));
ok(wait_converged($l1, $l2), 'l2 re-added l1');

# Changing a peer's DSN = remove + add (here in one transaction): the new
# worker must start at once (adding a peer takes effect within a second),
# not after the hold remove_peer puts on the old worker.
my $dsn = connstr_for($l1);
my $t0 = time();
$l2->safe_psql('postgres',
	"BEGIN; SELECT edge_crdt.remove_peer('l1'); SELECT edge_crdt.add_peer('l1', '$dsn'); COMMIT;");
my $deadline = time() + 40;
usleep(50_000)
  until $l2->safe_psql('postgres', "SELECT state FROM edge_crdt.peers WHERE peer_name = 'l1'") eq 'streaming'
  || time() > $deadline;
my $took = time() - $t0;
cmp_ok($took, '<', 5, sprintf('a re-added peer streams promptly (%.1f s)', $took));
ok(wait_converged($l1, $l2), 'l2 streams from l1 again');

# --- l3 joins the existing pair with one call
my ($ret, $out, $err) = $l3->psql('postgres',
	"SELECT edge_crdt.join('" . connstr_for($l1) . "')");
isnt($ret, 0, 'join without a local DSN is refused');
like($err, qr/would not know how to reach this node/, 'and says what is missing');
is($l3->safe_psql('postgres',
		"SELECT edge_crdt.join('" . connstr_for($l1) . "', '" . connstr_for($l3) . "')"),
	'2', 'l3 joins the two members through l1');
foreach my $node (@n)
{
	my $expect = join(',', map { $_->name } grep { $_ != $node } @n);
	is($node->safe_psql('postgres', "SELECT string_agg(peer_name, ',' ORDER BY peer_name) FROM edge_crdt.peers"),
		$expect, 'full mesh after join on ' . $node->name);
}
ok(wait_converged(@n, { tables => [] }), 'three nodes sync');
# the initial copy of lt from l1 may still be running (rows first, then
# tombstones): wait for it to finish before counting what it brought
$l3->poll_query_until('postgres',
	"SELECT count(*) > 0 AND bool_and(state = 'done') FROM edge_crdt.sync_status")
  or die 'the initial copy on l3 did not finish';
is($l3->safe_psql('postgres', 'SELECT count(*) FROM lt'), '19',
	'l3 received the rows written before it joined');
is($l3->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.tombstone"), '1',
	'and the tombstone of the row deleted before');
is($l3->safe_psql('postgres',
		"SELECT string_agg(peer_name || ':' || table_name || ':' || state || ':' || rows_copied, ',') FROM edge_crdt.sync_status"),
	'l1:public.lt:done:20', 'l3 copied from l1 alone: 19 rows and 1 tombstone');
assert_identical(\@n, 'lt', 'l3 equals the others');

# Changes after the join reach everyone in any case.
$l3->safe_psql('postgres', "INSERT INTO lt VALUES (100, 'l3', 1)");
$l1->safe_psql('postgres', "UPDATE lt SET v = 'l1 again' WHERE id = 2");
ok(wait_converged(@n, { tables => [] }), 'converged after the join');
is($_->safe_psql('postgres', 'SELECT count(*) FROM lt WHERE id = 100'), '1',
	'row written by the newcomer on ' . $_->name)
  foreach @n;

done_testing();
