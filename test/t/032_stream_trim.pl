# Streams are trimmed without anyone calling stream_trim(): the manager of a
# database that has streams (and no peers) runs it every
# edge_crdt.stream_trim_interval.  A stream with a retention of one second
# fed for a few seconds keeps only its recent segments while it is fed (once
# the manager runs: the launcher looks for new databases every 10 s), and
# nothing once it has been idle for longer than its retention.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use EdgeCrdt::Mesh qw(:all);

my $node = new_node('trim', 501, extra_conf => "edge_crdt.stream_trim_interval = 200ms\n");
require_replicator($node);

$node->safe_psql('postgres', "SELECT edge_crdt.stream_create('ticks', 'local', '1 second')");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'edge_crdt manager'"),
	'a manager starts for a database with streams and no peers');
my $published = 0;
for my $i (1 .. 40)
{
	$node->safe_psql('postgres', "SELECT edge_crdt.publish('ticks', '{\"n\": $i}')");
	$published++;
	usleep(100_000);
}
ok( $node->poll_query_until('postgres',
		"SELECT length < $published FROM edge_crdt.streams WHERE stream = 'ticks'"),
	'the manager trims the stream');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM edge_crdt.read('ticks', NULL, 100) WHERE (payload->>'n')::int = 1"),
	'0', 'the first message is gone');
cmp_ok($node->safe_psql('postgres',
		"SELECT count(*) FROM edge_crdt.read('ticks', NULL, 100)"), '>', 0,
	'recent messages are kept');

# A stream that stops receiving is emptied too once all of it is past
# retention (the ring also moves while no message arrives).
ok( $node->poll_query_until('postgres',
		"SELECT length = 0 FROM edge_crdt.streams WHERE stream = 'ticks'"),
	'an idle stream is trimmed to nothing after its retention');

done_testing();
