# A global stream published in three regions at once: each region's
# consumer group (exclusive mode) consumes every message exactly once, the
# consumer's effect and ack committing together, and the messages of each
# origin arrive in the order that origin published them.  A stream created
# on two nodes only appears on the third with its first message; a local
# stream never leaves its node; a reader waiting on one node is woken by a
# message published on another.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('s1', 601));
require_replicator($n[0]);
push @n, new_node('s2', 602), new_node('s3', 603);
my ($s1, $s2, $s3) = @n;
my $N = 200;    # messages per origin

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

full_mesh(@n);
foreach my $node (@n)
{
	ok( $node->poll_query_until(
			'postgres',
			"SELECT count(*) = 2 FROM edge_crdt.peers WHERE state = 'streaming'"),
		$node->name . ' streams from both peers');
}

# s3 does not create the stream: the first message from s1 or s2 does.
foreach my $node ($s1, $s2)
{
	sql($node, "SELECT edge_crdt.stream_create('events'); "
		  . "SELECT edge_crdt.group_create('events', 'g', mode => 'exclusive')");
}

# The consumer: one transaction per batch, effect rows and ack together.
my $consumer_sql = <<'SQL';
CREATE TABLE consumed (seq bigserial PRIMARY KEY, id text NOT NULL, o text NOT NULL, n int NOT NULL);
CREATE FUNCTION consume(c text, wait interval) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	r record;
	ids text[] := '{}';
BEGIN
	FOR r IN SELECT * FROM edge_crdt.read_group('events', 'g', c, 50, '30 s', wait) LOOP
		INSERT INTO consumed (id, o, n) VALUES (r.id, r.payload->>'o', (r.payload->>'n')::int);
		ids := ids || r.id;
	END LOOP;
	IF cardinality(ids) > 0 THEN
		PERFORM edge_crdt.ack('events', 'g', ids);
	END IF;
	RETURN cardinality(ids);
END $$;
SQL
sql($_, $consumer_sql) foreach @n;

# Three publishers at once: single publishes (each its own transaction),
# then one batch.  s3 starts once the stream has reached it.
my @pub;
foreach my $node (@n)
{
	my $o = $node->name;
	my $script = join('',
		map { "SELECT edge_crdt.publish('events', jsonb_build_object('o', '$o', 'n', $_), key => 'k' || ($_ % 7));\n" }
		  1 .. $N - 50)
	  . "SELECT edge_crdt.publish_batch('events', ARRAY(SELECT jsonb_build_object('o', '$o', 'n', g) "
	  . "FROM generate_series(" . ($N - 49) . ", $N) g ORDER BY g));\n";
	my $file = "$PostgreSQL::Test::Utils::tmp_check/publish_$o.sql";
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	push @pub, $file;
}
my @h;
foreach my $i (0, 1)
{
	my ($out, $err) = ('', '');
	push @h, IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $n[$i]->connstr('postgres'), '-f', $pub[$i] ],
		'>', \$out, '2>', \$err);
}
ok($s3->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM edge_crdt.stream WHERE name = 'events' AND scope = 'global'"),
	's3: the global stream is created by its first message');
is(sql($s3, "SELECT scope FROM edge_crdt.streams WHERE stream = 'events'"), 'global',
	's3: auto-created stream is global');
sql($s3, "SELECT edge_crdt.group_create('events', 'g', start => 'earliest', mode => 'exclusive')");
{
	my ($out, $err) = ('', '');
	push @h, IPC::Run::start(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $s3->connstr('postgres'), '-f', $pub[2] ],
		'>', \$out, '2>', \$err);
}

# Consume everywhere while the publishers run, until every node has all.
my $total = 3 * $N;
my $deadline = time() + 180;
my %got = map { $_->name => 0 } @n;
while (grep { $got{ $_->name } < $total } @n)
{
	last if time() > $deadline;
	foreach my $node (@n)
	{
		next if $got{ $node->name } >= $total;
		$got{ $node->name } += sql($node, "SELECT consume('c-" . $node->name . "', '200 ms')");
	}
}
$_->finish foreach @h;
foreach my $node (@n)
{
	my $name = $node->name;
	is($got{$name}, $total, "$name consumed $total messages");
	is(sql($node, 'SELECT count(*) || \'/\' || count(DISTINCT id) FROM consumed'),
		"$total/$total", "$name: every message once, no duplicate effect");
	is( sql($node,
			"SELECT string_agg(o || ':' || ok, ',' ORDER BY o) FROM ("
			  . "SELECT o, bool_and(n = rn) AS ok FROM (SELECT o, n, row_number() OVER (PARTITION BY o ORDER BY seq) AS rn "
			  . "FROM consumed) x GROUP BY o) y"),
		's1:true,s2:true,s3:true',
		"$name: each origin's messages in publication order");
	is(sql($node, 'SELECT count(*) FROM edge_crdt.apply_errors'), '0',
		"$name: no remote transaction quarantined");
	is(sql($node, "SELECT lag FROM edge_crdt.stream_groups WHERE stream = 'events'"), '0',
		"$name: nothing left pending");
	is(sql($node, 'SELECT count(*) FROM consumed c JOIN edge_crdt.read(\'events\', count => 10000) r USING (id) '
		  . 'WHERE split_part(c.id, \'-\', 2)::int = r.origin'), $total,
		"$name: ids name their origin node");
}
my $ids = sql($s1, "SELECT md5(string_agg(id, ',' ORDER BY id)) FROM edge_crdt.read('events', count => 10000)");
is(sql($_, "SELECT md5(string_agg(id, ',' ORDER BY id)) FROM edge_crdt.read('events', count => 10000)"),
	$ids, 'same message ids on ' . $_->name)
  foreach ($s2, $s3);

# A local stream stays home.
sql($s1, "SELECT edge_crdt.stream_create('home', 'local'); SELECT edge_crdt.publish('home', '1')");
sql($s1, "SELECT edge_crdt.publish('events', '{\"o\": \"marker\", \"n\": 0}')");
ok($s2->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM edge_crdt.read('events', count => 10000) WHERE payload->>'o' = 'marker'"),
	's2 received the marker published after the local message');
is(sql($s2, "SELECT count(*) FROM edge_crdt.stream WHERE name = 'home'"), '0',
	'the local stream never left s1');

# Wake-up across regions: a reader waiting on s1 returns when s2 publishes.
sql($s1, "SELECT edge_crdt.stream_create('wake'); SELECT edge_crdt.group_create('wake', 'g')");
sql($s2, "SELECT edge_crdt.stream_create('wake')");
my ($wout, $werr) = ('', '');
my $t0 = time();
my $wh = IPC::Run::start(
	[ 'psql', '-X', '-At', '-d', $s1->connstr('postgres'), '-c',
	  "SELECT payload FROM edge_crdt.read_group('wake', 'g', 'w', 1, '30 s', '60 s')" ],
	'>', \$wout, '2>', \$werr);
ok($s1->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Extension' AND query LIKE '%read_group(''wake''%'"),
	'the reader on s1 waits (wait event Extension)');
my $tp = time();
sql($s2, "SELECT edge_crdt.publish('wake', '\"hello\"')");
$wh->finish;
my $latency = time() - $tp;
is($wout, "\"hello\"\n", 'the waiting reader on s1 got the message published on s2');
cmp_ok($latency, '<', 10, sprintf('woken %.3f s after the remote publish (replication included)', $latency));

done_testing();
