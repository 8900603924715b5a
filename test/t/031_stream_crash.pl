# Exactly-once effects across crashes: a consumer that writes its effect and
# acknowledges in one transaction applies every message exactly once, even
# when the server dies between the effect and the ack.
#
# Case 1: read, effect, (crash), ack in one transaction: the delivery rolls
#         back with the effect; the message is delivered again at once.
# Case 2: read committed on its own; effect + ack in a later transaction,
#         crash before its commit: the message is redelivered when its
#         visibility timeout expires (deliveries = 2), effect once.
# Case 3: four consumers run a loop while the postmaster is killed (SIGKILL)
#         twice; afterwards every message has exactly one effect row.
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

my $node = new_node('c1', 701);

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Run SQL in the background (psql -f); returns the harness.
sub background
{
	my ($name, $script) = @_;
	my $file = "$PostgreSQL::Test::Utils::tmp_check/$name.sql";
	unlink $file;
	PostgreSQL::Test::Utils::append_to_file($file, $script);
	my ($out, $err) = ('', '');
	return IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', \$out, '2>', \$err);
}

sub crash
{
	$node->kill9;
	ok(restart_after_kill($node), 'server restarted after SIGKILL');
}

sql(<<'SQL');
SELECT edge_crdt.stream_create('jobs', 'local');
SELECT edge_crdt.group_create('jobs', 'workers');
CREATE TABLE effect (id text NOT NULL, consumer text NOT NULL, at timestamptz DEFAULT clock_timestamp());
SQL

# --- case 1: crash inside the consumer's transaction, after the effect
my $id1 = sql("SELECT edge_crdt.publish('jobs', '{\"job\": 1}')");
my $h = background('case1', <<'SQL');
BEGIN;
INSERT INTO effect (id, consumer)
	SELECT id, 'case1' FROM edge_crdt.read_group('jobs', 'workers', 'case1', 1);
SELECT pg_sleep(60);
SELECT edge_crdt.ack('jobs', 'workers', array_agg(id)) FROM effect WHERE consumer = 'case1';
COMMIT;
SQL
wait_for('case 1 to sleep between effect and ack',
	sub { sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'") == 1 }) or die 'timed out';
crash();
$h->kill_kill;
is(sql('SELECT count(*) FROM effect'), '0', 'case 1: the effect rolled back with the crash');
is(sql("SELECT string_agg(id || ' ' || deliveries, ',') FROM edge_crdt.read_group('jobs', 'workers', 'again', 10)"),
	"$id1 1", 'case 1: redelivered at once, the rolled-back delivery not counted');
sql("BEGIN; INSERT INTO effect (id, consumer) VALUES ('$id1', 'again'); "
	  . "SELECT edge_crdt.ack('jobs', 'workers', ARRAY['$id1']); COMMIT;");

# --- case 2: delivery committed, crash before effect + ack commit
my $id2 = sql("SELECT edge_crdt.publish('jobs', '{\"job\": 2}')");
is(sql("SELECT id FROM edge_crdt.read_group('jobs', 'workers', 'case2', 1, '3 s')"), $id2,
	'case 2: delivered, visible again in 3 s');
$h = background('case2', <<"SQL");
BEGIN;
INSERT INTO effect (id, consumer) VALUES ('$id2', 'case2');
SELECT pg_sleep(60);
SELECT edge_crdt.ack('jobs', 'workers', ARRAY['$id2']);
COMMIT;
SQL
wait_for('case 2 to sleep between effect and ack',
	sub { sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(60)%'") == 1 }) or die 'timed out';
crash();
$h->kill_kill;
is(sql("SELECT count(*) FROM edge_crdt.read_group('jobs', 'workers', 'early', 10)"), '0',
	'case 2: not redelivered inside its visibility timeout');
my $row = '';
wait_for('case 2 redelivery', sub {
	$row = sql("SELECT id || ' ' || deliveries FROM edge_crdt.read_group('jobs', 'workers', 'late', 10)");
	return $row ne '';
}) or die 'timed out';
is($row, "$id2 2", 'case 2: redelivered after the timeout, second delivery');
sql("BEGIN; INSERT INTO effect (id, consumer) VALUES ('$id2', 'late'); "
	  . "SELECT edge_crdt.ack('jobs', 'workers', ARRAY['$id2']); COMMIT;");

# --- case 3: four consumer loops, the postmaster killed twice meanwhile
my $M = 2000;
sql("SELECT count(*) FROM edge_crdt.publish_batch('jobs', ARRAY(SELECT jsonb_build_object('job', g) "
	  . "FROM generate_series(3, " . ($M + 2) . ") g))");
sql(<<'SQL');
CREATE FUNCTION consume_batch(c text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
	ids text[];
BEGIN
	SELECT array_agg(id) INTO ids FROM edge_crdt.read_group('jobs', 'workers', c, 10, '2 s');
	IF ids IS NULL THEN
		RETURN 0;
	END IF;
	INSERT INTO effect (id, consumer) SELECT unnest(ids), c;
	PERFORM pg_sleep(0.002);
	PERFORM edge_crdt.ack('jobs', 'workers', ids);
	RETURN cardinality(ids);
END $$;
SQL
sub start_loops
{
	my @hs;
	foreach my $i (1 .. 4)
	{
		push @hs, background("loop$i", "SELECT consume_batch('loop$i');\n" x 400);
	}
	return @hs;
}
foreach my $round (1, 2)
{
	my @hs = start_loops();
	my $before = sql('SELECT count(*) FROM effect');
	wait_for("round $round: consumers making progress",
		sub { sql('SELECT count(*) FROM effect') >= $before + 200 }) or die 'timed out';
	crash();
	$_->kill_kill foreach @hs;
}
# drain what is left (messages in flight at the crash come back after 2 s)
my $deadline = time() + 60;
while (time() < $deadline)
{
	last if sql("SELECT lag FROM edge_crdt.stream_groups WHERE stream = 'jobs'") == 0;
	usleep(100_000) if sql("SELECT consume_batch('drain')") == 0;
}
is(sql("SELECT lag FROM edge_crdt.stream_groups WHERE stream = 'jobs'"), '0', 'case 3: all acknowledged');
is(sql('SELECT count(*) || \'/\' || count(DISTINCT id) FROM effect'), ($M + 2) . '/' . ($M + 2),
	'every message has exactly one effect');
is(sql("SELECT count(*) FROM edge_crdt.read('jobs', count => 10000) r LEFT JOIN effect e USING (id) WHERE e.id IS NULL"),
	'0', 'no message without its effect');

done_testing();
