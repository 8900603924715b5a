# Clocks across nodes (DESIGN.md section 3): every applied remote version
# advances the local hybrid logical clock, so a write made after receiving a
# change wins over it even when the sender's clock runs ahead; a version
# further ahead than edge_crdt.max_clock_skew stops that peer with an error
# naming it, and nothing of it is applied.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);
use EdgeCrdt::Oracle;

my @n = (new_node('h1', 1101));
require_replicator($n[0]);
push @n, new_node('h2', 1102, extra_conf => "edge_crdt.max_clock_skew = '10s'\n"),
  new_node('h3', 1103);
my ($h1, $h2, $h3) = @n;

create_replicated(\@n, 'hc', 'CREATE TABLE hc (id int PRIMARY KEY, v text)');
full_mesh(@n);

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

sub ahead
{
	my ($node, $ms) = @_;
	my $v = sql($node,
		"SELECT ((extract(epoch FROM clock_timestamp()) * 1000)::int8 + $ms) << 16");
	sql($node, "SELECT edge_crdt.hlc_observe($v)");
	return $v;
}

sub version_of
{
	my ($meta) = @_;
	return EdgeCrdt::Oracle::rowmeta_parse($meta)->{versions}{2};    # column v
}

sql($h1, "INSERT INTO hc VALUES (1, 'start')");
ok(wait_converged(@n), 'row replicated');

# h1's clock runs 5 s ahead (within every node's skew).  h2 answers right
# after receiving h1's write: its write must get the greater version.
ahead($h1, 5000);
my $v1 = version_of(sql($h1, "UPDATE hc SET v = 'h1 ahead' WHERE id = 1 RETURNING _edge_crdt::text"));
ok($h2->poll_query_until('postgres', "SELECT v = 'h1 ahead' FROM hc WHERE id = 1"),
	'h2 receives h1\'s write');
my $v2 = version_of(sql($h2, "UPDATE hc SET v = 'h2 after' WHERE id = 1 RETURNING _edge_crdt::text"));
cmp_ok(EdgeCrdt::Oracle::version_cmp($v2, $v1), '>', 0,
	"h2's later write has the greater version ($v2->[0] > $v1->[0]): applying advanced its clock");
ok(wait_converged(@n), 'converged');
is(sql($_, 'SELECT v FROM hc WHERE id = 1'), 'h2 after', 'causally later write wins on ' . $_->name)
  foreach @n;

# h1 now runs 30 s ahead: beyond h2's 10 s, within h3's default 60 s.
my $bad = ahead($h1, 30000);
sql($h1, "UPDATE hc SET v = 'from the future' WHERE id = 1");
ok($h3->poll_query_until('postgres', "SELECT v = 'from the future' FROM hc WHERE id = 1"),
	'h3 (60 s skew allowed) applies it');
ok( $h2->poll_query_until(
		'postgres',
		"SELECT last_error ~ 'clock of peer \"h1\" is ahead' FROM edge_crdt.peers WHERE peer_name = 'h1'"),
	'h2 stops peer h1 with an error naming it');
note sql($h2, "SELECT last_error FROM edge_crdt.peers WHERE peer_name = 'h1'");
is(sql($h2, 'SELECT v FROM hc WHERE id = 1'), 'h2 after', 'h2 applied nothing of it');
cmp_ok(sql($h2, 'SELECT edge_crdt.hlc_now()'), '<', $bad, 'and its clock did not jump ahead');

# The DBA allows more skew: the peer resumes and everything converges.
sql($h2, "ALTER SYSTEM SET edge_crdt.max_clock_skew = '60s'");
$h2->reload;
ok(wait_converged(@n), 'converged once the skew is allowed');
is(sql($_, 'SELECT v FROM hc WHERE id = 1'), 'from the future', 'final value on ' . $_->name)
  foreach @n;

done_testing();
