# Randomized convergence against the lattice oracle (EdgeCrdt::Oracle):
# random inserts, updates, deletes and gcounter increments on three nodes, in
# transactions of one or several statements,
# with random pauses of random links so that delivery orders differ; fixed
# seeds.  At the end every node must equal the oracle, row for row.
#
# Tombstone collection runs all the time, as aggressively as it can (every
# 200 ms, no retention): tombstones go while changes are still queued behind
# paused links, re-inserts happen after collection, and the oracle (which
# knows nothing of collection) must still be matched.  Once everything has
# converged, every tombstone must go and the tables must not change.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use EdgeCrdt::Mesh qw(:all);
use EdgeCrdt::Oracle;
use JSON::PP;

# Longer runs: EDGE_CRDT_RANDOM_SEEDS=1,2,3,4 EDGE_CRDT_RANDOM_OPS=2000
my @SEEDS = split /,/, ($ENV{EDGE_CRDT_RANDOM_SEEDS} // '1,42,20261126');
my $OPS = $ENV{EDGE_CRDT_RANDOM_OPS} // 300;
my $KEYS = 20;

my $GC = "edge_crdt.tombstone_gc_interval = 200ms\nedge_crdt.tombstone_retention = 0\n";
my @n = (new_node('r1', 301, extra_conf => $GC));
require_replicator($n[0]);
push @n, new_node('r2', 302, extra_conf => $GC), new_node('r3', 303, extra_conf => $GC);
my $collected_while_running = 0;

foreach my $seed (@SEEDS)
{
	create_replicated(\@n, "rt_$seed",
		"CREATE TABLE rt_$seed (id int PRIMARY KEY, a int, b text, c edge_crdt.gcounter)");
}
full_mesh(@n);
wait_streaming(@n);

# One psql session per node keeps a few hundred statements fast.
my @s = map { $_->background_psql('postgres', on_error_stop => 0) } @n;
foreach (@s)
{
	$_->set_query_timer_restart;    # the timeout is per statement, not per session
	$_->query_safe('SET search_path = public, edge_crdt');
}

# Run one statement; returns (output, error text).  BackgroundPsql keeps
# stderr across queries, so clear it per statement.
sub run
{
	my ($sess, $sql) = @_;
	$sess->{stderr} = '';
	my $out = $sess->query($sql);
	my $err = $sess->{stderr};
	$sess->{stderr} = '';
	return ($out, $err);
}

my @words = qw(alpha beta gamma delta eps zeta eta theta iota kappa);

# One random statement on key $k of table $t, returning the row state.
sub random_statement
{
	my ($t, $ret, $k, $r) = @_;
	if ($r < 0.22)
	{
		my $a = int(rand(1000));
		my $b = rand() < 0.2 ? 'NULL' : "'" . $words[ rand(@words) ] . "'";
		return [ "INSERT INTO $t VALUES ($k, $a, $b, " . int(rand(3)) . ") RETURNING $ret", 'insert' ];
	}
	return [ "UPDATE $t SET a = " . int(rand(1000)) . " WHERE id = $k RETURNING $ret", 'update' ]
	  if $r < 0.40;
	return [ "UPDATE $t SET b = '" . $words[ rand(@words) ] . "' WHERE id = $k RETURNING $ret", 'update' ]
	  if $r < 0.52;
	return [ "UPDATE $t SET a = a + 1, b = NULL WHERE id = $k RETURNING $ret", 'update' ]
	  if $r < 0.60;
	return [ "UPDATE $t SET c = c + " . (1 + int(rand(5))) . " WHERE id = $k RETURNING $ret", 'incr' ]
	  if $r < 0.84;
	return [ "DELETE FROM $t WHERE id = $k RETURNING $ret", 'delete' ];
}

foreach my $seed (@SEEDS)
{
	srand($seed);
	my $t = "rt_$seed";
	my $o = EdgeCrdt::Oracle->new(
		columns => [ [ id => 'key' ], [ a => 'plain' ], [ b => 'plain' ], [ c => 'gcounter' ] ]);
	my $ret = $o->returning_row;
	my %paused;    # "i j" -> node i is not streaming from node j
	my %count = (insert => 0, update => 0, incr => 0, delete => 0, noop => 0, pause => 0, multi => 0);
	my @unexpected;

	for my $op (1 .. $OPS)
	{
		# Toggle a random link now and then: the pause queues one node's
		# changes for another, so they arrive later and in another order.
		if (rand() < 0.06)
		{
			my $i = int(rand(3));
			my $j = ($i + 1 + int(rand(2))) % 3;
			my $peer = $n[$j]->name;
			my $fn = $paused{"$i $j"} ? 'resume_peer' : 'pause_peer';
			my (undef, $err) = run($s[$i], "SELECT edge_crdt.$fn('$peer')");
			push @unexpected, "$fn on " . $n[$i]->name . ": $err" if $err ne '';
			$paused{"$i $j"} = !$paused{"$i $j"};
			$count{pause}++;
		}

		# Let replication deliver now and then, so that many operations act
		# on rows other nodes wrote (not only on concurrent states).
		usleep(int(50_000 + rand(200_000))) if rand() < 0.04;

		my $i = int(rand(3));
		# Most transactions are one statement; some are several, often on
		# the same key.  Only the state a transaction commits is ever
		# shipped, so only that is recorded (last state per key).
		my $nstmt = rand() < 0.75 ? 1 : 2 + int(rand(3));
		my (@stmts, $k);
		for (1 .. $nstmt)
		{
			my $r = rand();
			# Mostly insert keys that are dead and touch keys that are
			# alive (according to the oracle: the node may not know yet).
			my @alive = grep { my $st = $o->state($_); $st && $st->{cl} % 2 } 1 .. $KEYS;
			my %is_alive = map { $_ => 1 } @alive;
			my @dead = grep { !$is_alive{$_} } 1 .. $KEYS;
			my $pool = $r < 0.22 ? \@dead : \@alive;
			$k = (defined $k && rand() < 0.5) ? $k
			  : (@$pool && rand() < 0.8) ? $pool->[ rand(@$pool) ]
			  : 1 + int(rand($KEYS));
			push @stmts, random_statement($t, $ret, $k, $r);
		}

		my ($failed, @results);
		run($s[$i], 'BEGIN') if $nstmt > 1;
		foreach my $st (@stmts)
		{
			my ($sql, $kind) = @$st;
			my ($out, $err) = run($s[$i], $sql);
			if ($err ne '')
			{
				# An insert of a key the node already has (or is applying
				# right now) is the only statement allowed to fail.
				push @unexpected, $n[$i]->name . ": $sql: $err"
				  unless $kind eq 'insert'
				  && $err =~ /duplicate key value violates unique constraint/;
				$failed = 1;
				last;
			}
			push @results, [ $kind, $out ] if $out ne '';
		}
		if ($nstmt > 1)
		{
			my (undef, $err) = run($s[$i], $failed ? 'ROLLBACK' : 'COMMIT');
			push @unexpected, $n[$i]->name . ": commit: $err" if $err ne '';
			$count{multi}++ unless $failed;
		}
		if ($failed || !@results)
		{
			$count{noop}++;
			next;
		}
		my (%last, @order);
		foreach my $res (@results)
		{
			my $key = decode_json($res->[1])->[0];
			push @order, $key unless exists $last{$key};
			$last{$key} = $res;
		}
		foreach my $key (@order)
		{
			my ($kind, $out) = @{ $last{$key} };
			if ($kind eq 'delete') { $o->record_deleted_returned($out) }
			else { $o->record_returned($out) }
			$count{$kind}++;
		}
	}
	note "seed $seed: " . join(', ', map { "$_=$count{$_}" } sort keys %count);
	is(join("\n", @unexpected), '', "seed $seed: no statement failed unexpectedly");

	# Floors only rise when tombstones are collected.
	my $floors = join(' ',
		map { $_->safe_psql('postgres', "SELECT edge_crdt.table_floor('$t')") } @n);
	note "seed $seed: floors before the final resume: $floors";
	$collected_while_running++ if $floors =~ /[1-9]/;

	# Resume every paused link, then everything must converge to the oracle.
	foreach my $pair (grep { $paused{$_} } keys %paused)
	{
		my ($i, $j) = split / /, $pair;
		run($s[$i], "SELECT edge_crdt.resume_peer('" . $n[$j]->name . "')");
	}
	ok(wait_converged(@n, { tables => [$t] }), "seed $seed: nodes converge");
	is(join("\n", $o->errors), '', "seed $seed: every version carried one value");
	my $expected = render_rows($o->expected_rows);
	foreach my $node (@n)
	{
		is(table_dump($node, $t), $expected,
			"seed $seed: " . $node->name . ' equals the oracle row for row');
	}
	cmp_ok(scalar(@{ $o->expected_rows }) - 1, '>', 0, "seed $seed: some rows survive");

	# With every link up, every tombstone goes, and nothing else changes.
	my $tombs = "SELECT count(*) FROM edge_crdt.tombstone WHERE relid = '$t'::regclass AND pk <> ''";
	ok( wait_for(
			"seed $seed: tombstones collected",
			sub { (grep { $_->safe_psql('postgres', $tombs) ne '0' } @n) == 0 }),
		"seed $seed: every tombstone is collected on every node");
	foreach my $node (@n)
	{
		is(table_dump($node, $t), $expected,
			"seed $seed: " . $node->name . ' still equals the oracle after collection');
	}
}
cmp_ok($collected_while_running, '>', 0,
	'tombstones were collected while changes were still queued');

$_->quit foreach @s;
done_testing();
