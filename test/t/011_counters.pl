# gcounter columns under concurrent increments on three nodes: every
# increment counts exactly once everywhere; a paused peer catches up.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('c1', 201));
require_replicator($n[0]);
push @n, new_node('c2', 202), new_node('c3', 203);
my ($c1, $c2, $c3) = @n;

create_replicated(\@n, 'cnt',
	'CREATE TABLE cnt (id int PRIMARY KEY, v edge_crdt.gcounter, note text)');
full_mesh(@n);

$c1->safe_psql('postgres', "INSERT INTO cnt VALUES (1, 0, 'hot row')");
ok(wait_converged(@n), 'counter row replicated');

# $count increments of one row, each its own transaction (psql runs a script
# statement by statement in autocommit), started in the background.
sub start_increments
{
	my ($node, $id, $count, $step) = @_;
	my $script = "SET search_path = public, edge_crdt;\n"
	  . ("UPDATE cnt SET v = v + $step WHERE id = $id;\n" x $count);
	# A file, not a pipe: IPC::Run feeds stdin only while we pump it, and
	# the writers must run at the same time.
	my $file = "$PostgreSQL::Test::Utils::tmp_check/inc_" . $node->name . "_${id}_${count}_$step.sql";
	PostgreSQL::Test::Utils::append_to_file($file, $script) unless -e $file;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', \$out, '2>', \$err);
	return { h => $h, out => \$out, err => \$err, node => $node };
}

sub finish_all
{
	my @jobs = @_;
	my $ok = 1;
	foreach my $j (@jobs)
	{
		if (!$j->{h}->finish || ${ $j->{err} } ne '')
		{
			diag($j->{node}->name . ": " . ${ $j->{err} });
			$ok = 0;
		}
	}
	return $ok;
}

sub counter
{
	my ($node, $id) = @_;
	return $node->safe_psql('postgres',
		"SELECT v::bigint || ' ' || v::text FROM cnt WHERE id = $id");
}

# 200 increments on each node at the same time, on the same row.
ok(finish_all(map { start_increments($_, 1, 200, 1) } @n),
	'600 concurrent increments committed');
ok(wait_converged(@n), 'concurrent increments converge');
is(counter($_, 1), '600 {201:200,202:200,203:200}', 'exact total on ' . $_->name)
  foreach @n;

# Increments mixed with plain-column updates of the same row.
my @jobs = (start_increments($c1, 1, 50, 2), start_increments($c3, 1, 50, 3));
$c2->safe_psql('postgres', "UPDATE cnt SET note = 'n$_' WHERE id = 1") for 1 .. 20;
ok(finish_all(@jobs), 'increments alongside plain updates committed');
ok(wait_converged(@n), 'mixed writes converge');
is(counter($_, 1), '850 {201:300,202:200,203:350}', 'total with steps on ' . $_->name)
  foreach @n;
is($c1->safe_psql('postgres', 'SELECT note FROM cnt WHERE id = 1'), 'n20',
	'last plain update survives the concurrent increments');

# c2 pauses both peers; the others keep writing, c2 too.
pause_peers($c2, 'c1', 'c3');
is($c2->safe_psql('postgres',
		"SELECT string_agg(state, ',' ORDER BY peer_name) FROM edge_crdt.peers"),
	'paused,paused', 'peers view shows the pause');
@jobs = (start_increments($c1, 1, 100, 1), start_increments($c3, 1, 100, 1),
	start_increments($c2, 1, 30, 1));
$c3->safe_psql('postgres', "INSERT INTO cnt VALUES (2, 7, 'made while c2 paused')");
ok(finish_all(@jobs), 'writes during the pause committed');
# c1 and c3 still exchange with each other and receive from c2 (wait_for_sync
# would wait for c2, which applies nothing while paused: poll instead)
ok($_->poll_query_until('postgres', 'SELECT v::bigint = 1080 FROM cnt WHERE id = 1'),
	$_->name . ' sees every increment while c2 is paused')
  foreach ($c1, $c3);
is(counter($c2, 1), '880 {201:300,202:230,203:350}',
	'paused c2 has applied nothing new');
is($c2->safe_psql('postgres', 'SELECT count(*) FROM cnt WHERE id = 2'), '0',
	'paused c2 has not seen the new row');
resume_peers($c2, 'c1', 'c3');
ok(wait_converged(@n), 'c2 catches up after resume');
is(counter($_, 1), '1080 {201:400,202:230,203:450}', 'exact total after catch-up on ' . $_->name)
  foreach @n;
is(counter($_, 2), '7 {203:7}', 'row inserted during the pause on ' . $_->name)
  foreach @n;

done_testing();
