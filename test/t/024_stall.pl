# A silent partition (the proxy stalls: connections stay open, nothing moves,
# new connections hang): the peer worker must notice within
# wal_receiver_timeout, stay controllable (pause takes effect promptly even
# while it is trying to reconnect), and catch up once the link heals.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use EdgeCrdt::Mesh qw(:all);

my $conf = "wal_receiver_timeout = '2s'\nwal_sender_timeout = '5s'\n";
my $s1 = new_node('s1', 1501, extra_conf => $conf);
require_replicator($s1);
my $s2 = new_node('s2', 1502, extra_conf => $conf);
my @n = ($s1, $s2);

create_replicated(\@n, 'st', 'CREATE TABLE st (id int PRIMARY KEY, v text)');
my $p21 = EdgeCrdt::Mesh::Proxy->new(target_port => $s1->port, latency_up => 10, latency_down => 10);
my $p12 = EdgeCrdt::Mesh::Proxy->new(target_port => $s2->port, latency_up => 10, latency_down => 10);
add_peer_via($s2, $s1, $p21->dsn);
add_peer_via($s1, $s2, $p12->dsn);
$s1->safe_psql('postgres', "INSERT INTO st VALUES (1, 'before')");
ok(wait_converged(@n), 'replicating through the proxies');
# The stall below is one of a streaming link: let the initial copies finish
# first (a copy caught by the stall times out as "timed out waiting for
# peer", and every reconnection after that as "timed out connecting").
wait_streaming(@n);

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

# --- stall both directions; the connections stay open
is($p21->cmd('stall'), 'ok', 'stall s2 <- s1');
is($p12->cmd('stall'), 'ok', 'stall s1 <- s2');
my $t0 = time();
sql($s1, "INSERT INTO st VALUES (2, 'during stall from s1')");
sql($s2, "INSERT INTO st VALUES (3, 'during stall from s2')");
ok( $s2->poll_query_until(
		'postgres',
		"SELECT last_error ~ 'sent nothing' FROM edge_crdt.peers WHERE peer_name = 's1'"),
	's2 detects the silent peer');
my $detect = time() - $t0;
cmp_ok($detect, '<', 15, sprintf('within a few wal_receiver_timeouts (%.1f s)', $detect));
note sql($s2, "SELECT state || ' / ' || last_error FROM edge_crdt.peers WHERE peer_name = 's1'");
is(sql($s2, 'SELECT count(*) FROM st WHERE id = 2'), '0', 'nothing arrived during the stall');

# The worker now retries into the stalled link.  A pause must still take
# effect promptly (DESIGN.md section 5: without a restart, issue 4: within a
# second), not only when a blocking connection attempt gives up.
ok($s2->poll_query_until('postgres',
		"SELECT state = 'connecting' AND pid IS NOT NULL FROM edge_crdt.peers WHERE peer_name = 's1'"),
	's2\'s worker is trying to reconnect');
usleep(500_000);
$t0 = time();
sql($s2, "SELECT edge_crdt.pause_peer('s1')");
my $deadline = time() + 30;
usleep(50_000)
  until sql($s2, "SELECT pid IS NULL FROM edge_crdt.peers WHERE peer_name = 's1'") eq 't'
  || time() > $deadline;
my $stop = time() - $t0;
cmp_ok($stop, '<', 3, sprintf('pause stops the reconnecting worker promptly (%.1f s)', $stop));

# The same for a server shutdown: a fast stop must not wait for a worker
# stuck in a connection attempt.
sql($s2, "SELECT edge_crdt.resume_peer('s1')");
ok($s2->poll_query_until('postgres',
		"SELECT state = 'connecting' AND pid IS NOT NULL FROM edge_crdt.peers WHERE peer_name = 's1'"),
	's2\'s worker is trying to reconnect again');
usleep(500_000);
$t0 = time();
$s2->stop('fast');
$stop = time() - $t0;
cmp_ok($stop, '<', 3, sprintf('fast shutdown is not held up by the reconnecting worker (%.1f s)', $stop));
$s2->start;

# --- heal
is($p21->cmd('restore'), 'ok', 'restore s2 <- s1');
is($p12->cmd('restore'), 'ok', 'restore s1 <- s2');
ok(wait_converged(@n), 'converged after the stall');
is(sql($_, "SELECT string_agg(id::text, ',' ORDER BY id) FROM st"), '1,2,3', 'all rows on ' . $_->name)
  foreach @n;

$_->stop foreach ($p21, $p12);
done_testing();
