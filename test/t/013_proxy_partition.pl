# Three nodes whose replication connections all go through the WAN proxy
# (25 ms one-way latency, 5 ms jitter).  Cut the link between two of them,
# write on both sides, restore: everything converges, counters exact.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use EdgeCrdt::Mesh qw(:all);
use EdgeCrdt::Oracle;

my @n = (new_node('p1', 401));
require_replicator($n[0]);
push @n, new_node('p2', 402), new_node('p3', 403);
my ($p1, $p2, $p3) = @n;

create_replicated(\@n, 'pt',
	'CREATE TABLE pt (id int PRIMARY KEY, v text, c edge_crdt.gcounter)');

# $proxy{"X Y"}: how node X reaches node Y (X streams Y's changes through it).
my %proxy;
foreach my $x (@n)
{
	foreach my $y (@n)
	{
		next if $x == $y;
		my $p = EdgeCrdt::Mesh::Proxy->new(
			target_port => $y->port,
			latency_up => 25,
			latency_down => 25,
			jitter => 5,
			seed => $x->port);
		$proxy{ $x->name . ' ' . $y->name } = $p;
		add_peer_via($x, $y, $p->dsn);
	}
}
wait_streaming(@n);

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

sub counter
{
	my ($node, $id) = @_;
	return sql($node, "SELECT c::bigint FROM pt WHERE id = $id");
}

# Replication really passes through the delayed links.
sql($p1, "INSERT INTO pt VALUES (100, 'shared', 0), (200, 'p3 counts here', 0)");
my $t0 = time();
usleep(5_000) until sql($p2, 'SELECT count(*) FROM pt WHERE id = 100') == 1 || time() - $t0 > 60;
my $elapsed = time() - $t0;
cmp_ok($elapsed, '>=', 0.020, sprintf('p1 -> p2 delivery takes at least the one-way latency (%.0f ms)', $elapsed * 1000));
like($proxy{'p2 p1'}->cmd('status'), qr/^state=up conns=[1-9]\d* .*bytes_down=[1-9]/,
	'p2 streams p1\'s changes through its proxy');
ok(wait_converged(@n), 'initial row everywhere');

# --- partition p1 | p2 (p3 still reaches both)
is($proxy{'p1 p2'}->cmd('cut'), 'ok', 'cut p1 -> p2');
is($proxy{'p2 p1'}->cmd('cut'), 'ok', 'cut p2 -> p1');

sql($p1, "SET search_path = public, edge_crdt; "
	  . join(' ', map { "INSERT INTO pt VALUES ($_, 'from p1', $_);" } 1 .. 5)
	  . join(' ', map { "UPDATE pt SET c = c + 1 WHERE id = 100;" } 1 .. 30));
my %vv;    # version of column v (attnum 2) written on each side
$vv{'p1 during cut'} = EdgeCrdt::Oracle::rowmeta_parse(sql($p1,
	"UPDATE pt SET v = 'p1 during cut' WHERE id = 100 RETURNING _edge_crdt::text"))->{versions}{2};
sql($p2, "SET search_path = public, edge_crdt; "
	  . join(' ', map { "INSERT INTO pt VALUES ($_, 'from p2', 1);" } 6 .. 10)
	  . join(' ', map { "UPDATE pt SET c = c + 2 WHERE id = 100;" } 1 .. 20));
$vv{'p2 during cut'} = EdgeCrdt::Oracle::rowmeta_parse(sql($p2,
	"UPDATE pt SET v = 'p2 during cut' WHERE id = 100 RETURNING _edge_crdt::text"))->{versions}{2};
sql($p3, "SET search_path = public, edge_crdt; UPDATE pt SET c = c + 5 WHERE id = 200;"
	  . " INSERT INTO pt VALUES (11, 'from p3', 0);");

ok($p3->poll_query_until('postgres', 'SELECT count(*) = 13 FROM pt'),
	'p3, connected to both sides, gets both sides\' rows');
ok($p3->poll_query_until('postgres', 'SELECT c::bigint = 70 FROM pt WHERE id = 100'),
	'p3 gets both sides\' increments');
is(sql($p2, 'SELECT count(*) FROM pt WHERE id BETWEEN 1 AND 5'), '0',
	'p2 has none of p1\'s rows while cut');
is(sql($p1, 'SELECT count(*) FROM pt WHERE id BETWEEN 6 AND 10'), '0',
	'p1 has none of p2\'s rows while cut');
ok($p1->poll_query_until('postgres', 'SELECT count(*) = 1 FROM pt WHERE id = 11 AND c::bigint = 0')
	  && $p1->poll_query_until('postgres', 'SELECT c::bigint = 5 FROM pt WHERE id = 200'),
	'p1 still receives p3\'s writes');
is(counter($p1, 100), 30, 'p1 has none of p2\'s increments while cut');
ok($p1->poll_query_until('postgres',
		"SELECT state <> 'streaming' FROM edge_crdt.peers WHERE peer_name = 'p2'"),
	'p1\'s peers view shows p2 is not streaming');
note sql($p1, "SELECT state || ' / ' || coalesce(last_error, '') FROM edge_crdt.peers WHERE peer_name = 'p2'");
is(sql($p1, "SELECT edge_crdt.wait_for_sync('2 s')"), 'f',
	'wait_for_sync on p1 does not claim p2 is in sync');

# A change ships the full merged column state: p3's next increment of row
# 100 carries p2's contributions to p1 across the partition.
sql($p3, 'UPDATE pt SET c = c OPERATOR(edge_crdt.+) 5 WHERE id = 100');
ok($p1->poll_query_until('postgres', 'SELECT c::bigint = 75 FROM pt WHERE id = 100'),
	'p2\'s increments reach p1 through p3\'s merged state');
is(sql($p1, 'SELECT count(*) FROM pt WHERE id BETWEEN 6 AND 10'), '0',
	'but not p2\'s rows');

# --- heal
is($proxy{'p1 p2'}->cmd('restore'), 'ok', 'restore p1 -> p2');
is($proxy{'p2 p1'}->cmd('restore'), 'ok', 'restore p2 -> p1');
$t0 = time();
ok(wait_converged(@n), 'mesh converges after the link is restored');
note sprintf('converged %.1f s after restore', time() - $t0);
is(counter($_, 100), 75, 'exact counter total on ' . $_->name) foreach @n;
is(counter($_, 200), 5, 'second counter exact on ' . $_->name) foreach @n;
is(sql($_, 'SELECT count(*) FROM pt'), '13', 'all rows on ' . $_->name) foreach @n;
my ($winner) = sort { EdgeCrdt::Oracle::version_cmp($vv{$b}, $vv{$a}) } keys %vv;
is(sql($_, 'SELECT v FROM pt WHERE id = 100'), $winner,
	"concurrent updates of v: the greater version ($winner) wins on " . $_->name)
  foreach @n;

# Latency can change under a live stream.
$proxy{$_}->cmd('latency 60 60 10') foreach keys %proxy;
sql($p2, "UPDATE pt SET v = 'after latency change' WHERE id = 100");
ok(wait_converged(@n), 'converges with 60 ms links');
is(sql($_, 'SELECT v FROM pt WHERE id = 100'), 'after latency change',
	'latest update everywhere (' . $_->name . ')')
  foreach @n;

$_->stop foreach values %proxy;
done_testing();
