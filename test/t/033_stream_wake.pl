# Waiting readers are woken without a lost wake-up (src/stream/stream.c).
# A commit wakes one sleeping reader of a shared group, not all of them;
# these tests fail if a wake-up goes missing: a reader that is not woken
# sleeps for its whole wait (60 s), far past the bound checked here.
# - messages published one per transaction reach every waiting reader;
# - one transaction that publishes more than a woken reader takes: the
#   reader that returns a full batch wakes the next sleeper, and so on;
# - every group of the stream is woken by one commit (a shared and an
#   exclusive group);
# - a message becomes deliverable again without a publish: when the lease
#   of a consumer that did not acknowledge it is due (shared group) or the
#   other consumer's hold ends (exclusive group), when a consumer nacks it,
#   when the transaction that took it rolls back;
# - on a busy shared group readers batch: while one reader is in its batch
#   delay, a reader that arrives sleeps without looking and a commit wakes
#   nobody; the delaying reader takes it all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use EdgeCrdt::Mesh qw(:all);

my $node = new_node('wake', 701);
my $BOUND = 20;    # seconds; the readers wait up to 60

sub sql { return $node->safe_psql('postgres', $_[0]); }

# Run psql in the background; returns [harness, \stdout, \stderr].
sub start_psql
{
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start([ 'psql', '-X', '-At', '-d', $node->connstr('postgres'), '-c', $sql ],
		'>', \$out, '2>', \$err);
	return [ $h, \$out, \$err ];
}

# A reader waiting in read_group (up to 60 s) for one message.
sub start_reader
{
	my ($stream, $group, $consumer, $columns) = @_;
	$columns //= 'payload';
	return start_psql("SELECT $columns FROM edge_crdt.read_group('$stream', '$group', '$consumer', 1, '30 s', '60 s')");
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

# 4. Redelivery without a publish.  Each case: a reader sleeps while the
# only message is leased to another consumer, then gets it once it is
# deliverable again (a second delivery).
sql("SELECT edge_crdt.stream_create('r', 'local'); SELECT edge_crdt.group_create('r', 'g')");

# 4a. The lease is due (visibility 2 s, never acknowledged): the reader's
# sleep ends then, not at its 60 s deadline.
sql("SELECT edge_crdt.publish('r', '\"due\"')");
is(sql("SELECT payload FROM edge_crdt.read_group('r', 'g', 'a', 1, '2 s')"), '"due"',
	'due: consumer a took the message for 2 s');
@r = (start_reader('r', 'g', 'b', 'payload, deliveries'));
wait_sleeping(1, 'r', 'due');
is(finish_readers(\@r, 'due'), '"due"|2', 'due: the sleeping reader got it again when the lease expired');
sql("SELECT edge_crdt.ack('r', 'g', ARRAY(SELECT id FROM edge_crdt.read('r')))");

# 4a'. The same for an exclusive group: another consumer's hold on the group
# and its delivery end after 2 s.
sql("SELECT edge_crdt.stream_create('rx', 'local'); "
	  . "SELECT edge_crdt.group_create('rx', 'x', mode => 'exclusive')");
sql("SELECT edge_crdt.publish('rx', '\"held\"')");
is(sql("SELECT payload FROM edge_crdt.read_group('rx', 'x', 'a', 1, '2 s')"), '"held"',
	'exclusive: consumer a holds the group for 2 s');
@r = (start_reader('rx', 'x', 'b', 'payload, deliveries'));
wait_sleeping(1, 'rx', 'exclusive');
is(finish_readers(\@r, 'exclusive'), '"held"|2',
	'exclusive: the sleeping reader got it again when the hold expired');

# 4b. A nack wakes the group's sleeping reader.
sql("SELECT edge_crdt.publish('r', '\"nacked\"')");
my $id = sql("SELECT id FROM edge_crdt.read_group('r', 'g', 'a', 1, '60 s')");
@r = (start_reader('r', 'g', 'b', 'payload, deliveries'));
wait_sleeping(1, 'r', 'nack');
sql("SELECT edge_crdt.nack('r', 'g', ARRAY['$id'])");
is(finish_readers(\@r, 'nack'), '"nacked"|2', 'nack: the sleeping reader got the message');
sql("SELECT edge_crdt.ack('r', 'g', ARRAY['$id'])");

# 4c. The transaction that took the message rolls back: it is fresh again.
sql("SELECT edge_crdt.publish('r', '\"rolled back\"')");
my $a = start_psql("BEGIN; SELECT count(*) FROM edge_crdt.read_group('r', 'g', 'a', 1, '60 s'); "
	  . "SELECT pg_sleep(3); ROLLBACK;");
ok($node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep'"),
	'rollback: consumer a holds the message in an open transaction');
@r = (start_reader('r', 'g', 'b', 'payload, deliveries'));
wait_sleeping(1, 'r', 'rollback');
is(finish_readers(\@r, 'rollback'), '"rolled back"|1',
	'rollback: the sleeping reader got the message (a first delivery: the other never happened)');
$a->[0]->finish;

# 5. Batching on a busy shared group.  Reader A (stream_batch_delay 100 ms)
# takes a message and calls read_group again at once: its group is busy,
# so it first waits its batch delay (wait event PgSleep).  Meanwhile, from
# one procedure: message 1 is published; reader B, held back until then by
# an advisory lock, arrives and must sleep without looking (wait event
# Extension), although message 1 is there for the taking; message 2 is
# published and must not wake B.  A then takes both, B nothing.  The
# procedure checks that A was still in its delay after message 2 (else the
# machine was too slow for 100 ms and the round is repeated, at most 3
# times).
sql(<<'SQL');
CREATE TABLE batch_log (round int, step text, val text);
CREATE FUNCTION batch_ev(app text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE ev text;
BEGIN
	PERFORM pg_stat_clear_snapshot();
	SELECT coalesce(wait_event, 'running') INTO ev FROM pg_stat_activity WHERE application_name = app;
	RETURN coalesce(ev, 'gone');
END $$;
CREATE PROCEDURE batch_ctl(round int, stream text) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp(); b_ev text;
BEGIN
	-- B waits for our lock, A is in its batch delay
	WHILE batch_ev('B' || round) <> 'advisory' OR batch_ev('A' || round) <> 'PgSleep' LOOP
		IF clock_timestamp() > t0 + interval '30 s' THEN
			RAISE EXCEPTION 'A never entered its batch delay';
		END IF;
		PERFORM pg_sleep(0.001);
	END LOOP;
	PERFORM edge_crdt.publish(stream, '1');
	COMMIT;
	PERFORM pg_advisory_unlock(round);
	LOOP
		b_ev := batch_ev('B' || round);
		EXIT WHEN b_ev IN ('Extension', 'gone') OR clock_timestamp() > t0 + interval '30 s';
		PERFORM pg_sleep(0.001);
	END LOOP;
	INSERT INTO batch_log VALUES (round, 'b before 2', b_ev);
	PERFORM edge_crdt.publish(stream, '2');
	COMMIT;
	INSERT INTO batch_log VALUES (round, 'a after 2', batch_ev('A' || round));
	PERFORM pg_sleep(0.02);
	INSERT INTO batch_log VALUES (round, 'b after 2', batch_ev('B' || round));
END $$;
SQL

# Run psql with several commands in one session, as application_name $app.
sub start_session
{
	my ($app, @sql) = @_;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-qAt', '-d', $node->connstr('postgres') . " application_name=$app",
			map { ('-c', $_) } @sql ],
		'>', \$out, '2>', \$err);
	return [ $h, \$out, \$err ];
}

my ($round, $a_got, $b_got, $log);
for $round (1 .. 3)
{
	my $stream = "batch$round";
	sql("SELECT edge_crdt.stream_create('$stream', 'local'); SELECT edge_crdt.group_create('$stream', 'g'); "
		  . "SELECT edge_crdt.publish('$stream', '0')");
	my $read = "SELECT coalesce(string_agg(payload::text, ',' ORDER BY payload::text), '') "
	  . "FROM edge_crdt.read_group('$stream', 'g', '%s', 10, '30 s', '%s')";
	my $ctl = start_session("C$round", "SELECT pg_advisory_lock($round)",
		"CALL batch_ctl($round, '$stream')");
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = $round AND granted")
	  or die "the controller did not take its lock";
	my $b = start_session("B$round", "SELECT pg_advisory_lock($round)",
		sprintf($read, 'B', '1 s'));
	my $a = start_session("A$round", "SET edge_crdt.stream_batch_delay = 100",
		sprintf($read, 'A', '10 s'), sprintf($read, 'A', '10 s'));
	$_->[0]->finish foreach ($ctl, $a, $b);
	is(${ $ctl->[2] } . ${ $a->[2] } . ${ $b->[2] }, '', "batching round $round: sessions ran without error");
	$a_got = (split /\n/, ${ $a->[1] })[1] // '';
	$b_got = (split /\n/, ${ $b->[1] })[1] // '';
	$log = sql("SELECT string_agg(step || '=' || val, ' ' ORDER BY step) FROM batch_log WHERE round = $round");
	last if $log =~ /a after 2=PgSleep/;
	note "batching round $round: A's delay ended before message 2 ($log); again";
}
like($log, qr/a after 2=PgSleep/, 'batching: message 2 was committed during A\'s batch delay');
like($log, qr/b before 2=Extension/, 'batching: B slept without looking although message 1 was there');
like($log, qr/b after 2=Extension/, 'batching: the commit of message 2 did not wake B');
is($a_got, '1,2', 'batching: A took both messages in one read');
is($b_got, '', 'batching: B took nothing');

# 6. Under load: six waiting consumers (one to five messages per read, 5%
# of reads nacked, 5% rolled back), two producers publishing batches of one
# to eight.  Every message is consumed exactly once, and nothing is left
# once the producers stop: a lost wake-up would leave messages behind while
# every consumer sleeps (up to 60 s).
sql("SELECT edge_crdt.stream_create('load', 'local'); SELECT edge_crdt.group_create('load', 'g')");
sql(<<'SQL');
CREATE TABLE got (id text);
CREATE FUNCTION consume() RETURNS int LANGUAGE plpgsql AS $$
DECLARE ids text[]; r float8 := random();
BEGIN
	SELECT array_agg(id) INTO ids FROM edge_crdt.read_group('load', 'g', 'c' || pg_backend_pid(),
		1 + (random() * 4)::int, '5 s', '60 s');
	IF ids IS NULL THEN RETURN 0; END IF;
	IF r < 0.05 THEN
		PERFORM edge_crdt.nack('load', 'g', ids);
		RETURN 0;
	ELSIF r < 0.10 THEN
		RAISE EXCEPTION 'rolled back on purpose';
	END IF;
	INSERT INTO got SELECT unnest(ids);
	PERFORM edge_crdt.ack('load', 'g', ids);
	RETURN cardinality(ids);
EXCEPTION WHEN raise_exception THEN
	RETURN 0;
END $$;
SQL
my $dir = PostgreSQL::Test::Utils::tempdir();
open(my $fh, '>', "$dir/pub.sql") or die;
print $fh "\\set n random(1, 8)\n"
  . "SELECT edge_crdt.publish_batch('load', ARRAY(SELECT to_jsonb(i) FROM generate_series(1, :n) i));\n"
  . "SELECT pg_sleep(random() * 0.01);\n";
close $fh;
open($fh, '>', "$dir/con.sql") or die;
print $fh "SELECT consume();\n";
close $fh;
my ($cout, $pout) = ('', '');
my $consumers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '6', '-j', '6', '-T', '25', '-f', "$dir/con.sql", $node->connstr('postgres') ],
	'>', \$cout, '2>&1');
IPC::Run::run(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '6', '-f', "$dir/pub.sql", $node->connstr('postgres') ],
	'>', \$pout, '2>&1') or die "pgbench: $pout";
my $t0 = time();
my $lag;
do
{
	usleep(100_000);
	$lag = sql("SELECT lag FROM edge_crdt.stream_groups WHERE stream = 'load'");
} while ($lag ne '0' && time() - $t0 < 15);
is($lag, '0', sprintf('load: nothing left %.1f s after the producers stopped', time() - $t0));
my $published = sql("SELECT length FROM edge_crdt.streams WHERE stream = 'load'");
cmp_ok($published, '>', 100, "load: $published messages published");
is(sql("SELECT count(*) || ' ' || count(DISTINCT id) FROM got"), "$published $published",
	'load: every message consumed exactly once');
# release the consumers still waiting
for (my $i = 0; $i < 600 && $consumers->pumpable; $i++)
{
	$consumers->pump_nb;
	sql("SELECT edge_crdt.publish_batch('load', ARRAY(SELECT to_jsonb(i) FROM generate_series(1, 10) i))");
	usleep(100_000);
}
$consumers->finish;
like($cout, qr/number of failed transactions: 0/, 'load: no consumer failed');

done_testing();
