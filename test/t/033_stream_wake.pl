# Waiting readers are woken without a lost wake-up (src/stream/stream.c).
# A commit wakes one sleeping reader of a shared group, not all of them;
# these tests fail if a wake-up goes missing: a reader that is not woken
# sleeps for its whole wait (60 s), far past the bound checked here.
# - messages published one per transaction reach every waiting reader;
# - one transaction that publishes more than a woken reader takes: the
#   reader that returns a full batch wakes the next sleeper, and so on;
# - every group of the stream is woken by one commit (a shared and an
#   exclusive group).
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

my $node = new_node('wake', 701);
my $BOUND = 20;    # seconds; the readers wait up to 60

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Start a reader waiting in read_group; returns [harness, \stdout, \stderr].
sub start_reader
{
	my ($stream, $group, $consumer) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'psql', '-X', '-At', '-d', $node->connstr('postgres'), '-c',
			"SELECT payload FROM edge_crdt.read_group('$stream', '$group', '$consumer', 1, '30 s', '60 s')"
		],
		'>', \$out, '2>', \$err);
	return [ $h, \$out, \$err ];
}

sub wait_sleeping
{
	my ($n, $stream, $what) = @_;
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) = $n FROM pg_stat_activity WHERE wait_event_type = 'Extension' "
			  . "AND query LIKE '%read_group(''$stream''%'"),
		"$what: $n readers sleep");
}

# Finish every reader; the payloads they returned, sorted.
sub finish_readers
{
	my ($readers, $what) = @_;
	my $t0 = time();
	my @got;
	foreach my $r (@$readers)
	{
		$r->[0]->finish;
		is(${ $r->[2] }, '', "$what: reader ran without error");
		push @got, grep { $_ ne '' } split /\n/, ${ $r->[1] };
	}
	my $elapsed = time() - $t0;
	cmp_ok($elapsed, '<', $BOUND, sprintf("$what: all readers returned within %.1f s", $elapsed));
	return join(',', sort @got);
}

sql("SELECT edge_crdt.stream_create('w', 'local'); SELECT edge_crdt.group_create('w', 'g')");

# 1. Three messages in three transactions, three sleeping readers.
my @r = map { start_reader('w', 'g', "r$_") } 1 .. 3;
wait_sleeping(3, 'w', 'one per transaction');
$node->psql('postgres', join(' ', map { "SELECT edge_crdt.publish('w', '$_');" } 1 .. 3));
is(finish_readers(\@r, 'one per transaction'), '1,2,3',
	'one per transaction: each reader got one message');

# 2. Three messages in one transaction: the woken reader takes one (its
# count) and passes the wake-up on.
@r = map { start_reader('w', 'g', "r$_") } 1 .. 3;
wait_sleeping(3, 'w', 'one transaction');
sql("SELECT edge_crdt.publish_batch('w', ARRAY['4', '5', '6']::jsonb[])");
is(finish_readers(\@r, 'one transaction'), '4,5,6',
	'one transaction: every reader got one message');
is(sql("SELECT count(*) FROM edge_crdt.pending('w', 'g')"), '6',
	'nothing was delivered twice (six pending, none acknowledged)');

# 3. One commit wakes every group of the stream.
sql("SELECT edge_crdt.group_create('w', 'x', mode => 'exclusive')");
@r = (start_reader('w', 'g', 'shared'), start_reader('w', 'x', 'excl'));
wait_sleeping(2, 'w', 'two groups');
sql("SELECT edge_crdt.publish('w', '7')");
is(finish_readers(\@r, 'two groups'), '7,7', 'two groups: the reader of each group got the message');

done_testing();
