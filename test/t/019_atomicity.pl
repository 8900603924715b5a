# Atomicity (DESIGN.md section 2): the changes of one origin transaction are
# applied in one local transaction.  Readers on the receiving nodes sample the
# table while multi-row transactions stream in and must never see part of
# one.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use EdgeCrdt::Mesh qw(:all);

# A tiny decoding memory makes a1 spill large transactions to disk.
my @n = (new_node('a1', 1001, extra_conf => "logical_decoding_work_mem = '64kB'\n"));
require_replicator($n[0]);
push @n, new_node('a2', 1002), new_node('a3', 1003);
my ($a1, $a2, $a3) = @n;

create_replicated(\@n, 'acc', 'CREATE TABLE acc (id int PRIMARY KEY, gen int, bal int)');
full_mesh(@n);
$a1->safe_psql('postgres', 'INSERT INTO acc SELECT g, 0, 100 FROM generate_series(1, 50) g');
ok(wait_converged(@n), '50 accounts everywhere');

# 60 transactions on a1: each moves money between two accounts in two
# statements and stamps every row with its generation.
my $GENS = 60;
my $script = '';
srand(7);
for my $g (1 .. $GENS)
{
	my ($x, $y) = (1 + int(rand(50)), 1 + int(rand(50)));
	$script .= "BEGIN;\nUPDATE acc SET bal = bal - 7 WHERE id = $x;\n"
	  . "UPDATE acc SET bal = bal + 7 WHERE id = $y;\n"
	  . "UPDATE acc SET gen = $g;\nCOMMIT;\nSELECT pg_sleep(0.02);\n";
}
my $file = "$PostgreSQL::Test::Utils::tmp_check/atomic_writer.sql";
PostgreSQL::Test::Utils::append_to_file($file, $script);
my ($out, $err) = ('', '');
my $writer = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $a1->connstr('postgres'), '-f', $file ],
	'>', \$out, '2>', \$err);

# Sample a2 and a3 until they show the last generation.
my @obs = map { $_->background_psql('postgres') } ($a2, $a3);
$_->set_query_timer_restart foreach @obs;
my (%seen, @torn);
my $samples = 0;
my $deadline = time() + 60;
my %done;
while (keys %done < 2 && time() < $deadline)
{
	for my $i (0, 1)
	{
		next if $done{$i};
		my $r = $obs[$i]->query_safe(
			'SELECT count(DISTINCT gen) || \' \' || min(gen) || \' \' || sum(bal) FROM acc');
		$samples++;
		my ($distinct, $gen, $sum) = split / /, $r;
		push @torn, ($i ? 'a3' : 'a2') . ": $r" if $distinct != 1 || $sum != 5000;
		$seen{$gen}++;
		$done{$i} = 1 if $gen == $GENS && $distinct == 1;
	}
}
$_->quit foreach @obs;
ok($writer->finish, 'writer committed every transaction') or diag($err);
is(scalar(keys %done), 2, 'both receivers reached the last generation');
is(join("\n", @torn), '', "no torn transaction in $samples samples");
cmp_ok(scalar(keys %seen), '>=', 3,
	'the samples overlapped the stream (' . scalar(keys %seen) . ' generations seen)');
ok(wait_converged(@n), 'converged');

# One transaction of 20000 rows (spilled to disk on a1): a reader on a2 sees
# none or all of it.
create_replicated(\@n, 'big', 'CREATE TABLE big (id int PRIMARY KEY, pad text)');
my $obs = $a2->background_psql('postgres');
$obs->set_query_timer_restart;
# sampling starts before the insert commits
my $ins = IPC::Run::start(
	[
		'psql', '-X', '-q', '-d', $a1->connstr('postgres'), '-c',
		"INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g"
	],
	'>', \$out, '2>', \$err);
my %counts;
$deadline = time() + 60;
while (time() < $deadline)
{
	my $c = $obs->query_safe('SELECT count(*) FROM big');
	$counts{$c}++;
	last if $c == 20000;
}
$obs->quit;
ok($ins->finish, 'large insert committed') or diag($err);
is(join(',', sort { $a <=> $b } keys %counts), '0,20000',
	'a2 saw the 20000-row transaction all at once (counts seen: '
	  . join(',', sort { $a <=> $b } keys %counts) . ')');
ok(wait_converged(@n), 'converged after the large transaction');
is($_->safe_psql('postgres', 'SELECT count(*) || \' \' || sum(length(pad)) FROM big'), '20000 2000000',
	'every row on ' . $_->name)
  foreach @n;
cmp_ok($a1->safe_psql('postgres',
		"SELECT coalesce(sum(spill_txns), 0) FROM pg_stat_replication_slots WHERE slot_name LIKE 'edge_crdt_%'"),
	'>', 0, 'the transaction was spilled to disk on a1 (exercises the spill path)');

done_testing();
