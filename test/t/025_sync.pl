# Initial copy (DESIGN.md section 1, replicator/sync.c): a region joins a
# running mesh that already has data, under continuous writes on every
# member, and ends identical to them -- rows, deletions (tombstones),
# counters and column versions; its empty tables are bulk-loaded.  A joiner
# that has data of its own merges the copy row by row; killed in the middle
# of that, it resumes at the table it was copying, not from scratch, and
# converges, and its own row reaches everyone.
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

my $a = new_node('sa', 2501);
require_replicator($a);
my $b = new_node('sb', 2502);
my $c = new_node('sc', 2503);
my $d = new_node('sd', 2504);
my @all = ($a, $b, $c, $d);

# a_small sorts before big: the copy does tables in name order.
create_replicated(\@all, 'a_small',
	'CREATE TABLE a_small (id int PRIMARY KEY, v text)');
create_replicated(\@all, 'big',
	'CREATE TABLE big (id int PRIMARY KEY, v text, n int, hits edge_crdt.gcounter)');
full_mesh($a, $b);

$a->safe_psql('postgres', q{
	INSERT INTO a_small SELECT g, 'a' || g FROM generate_series(1, 100) g;
	INSERT INTO big SELECT g, repeat('x', 50) || g, 0, '{}' FROM generate_series(1, 60000) g;
	DELETE FROM big WHERE id % 100 = 0;});
$b->safe_psql('postgres', q{
	SET search_path = public, edge_crdt;
	INSERT INTO big SELECT g, 'b', 0, '{}' FROM generate_series(60001, 61000) g;
	UPDATE big SET hits = hits + 3 WHERE id <= 1000;});
ok(wait_converged($a, $b), 'the two founding regions converge');

# Writers on both members for the whole join: updates of existing rows,
# counter increments, new rows, deletes and re-inserts.
sub start_load
{
	my ($node, $seconds, $base) = @_;
	my $script = "$PostgreSQL::Test::Utils::tmp_check/load_" . $node->name . ".sql";
	PostgreSQL::Test::Utils::append_to_file($script, qq{
\\set id random(1, 61000)
\\set fresh random($base, $base + 50000)
SET search_path = public, edge_crdt;
UPDATE big SET n = n + 1, v = '${\ $node->name} ' || :id WHERE id = :id;
UPDATE big SET hits = hits + 1 WHERE id = :id % 1000 + 1;
INSERT INTO big VALUES (:fresh, 'fresh', 0, '{}') ON CONFLICT (id) DO NOTHING;
DELETE FROM big WHERE id = :id + 7;
INSERT INTO big VALUES (:id + 7, 'again', 1, '{}') ON CONFLICT (id) DO NOTHING;
}) unless -e $script;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '1', '-T', $seconds, '-f', $script, '-d', $node->connstr('postgres') ],
		'>', \$out, '2>', \$err);
	return { h => $h, out => \$out, err => \$err };
}

sub sync_state
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		"SELECT string_agg(peer_name || ':' || table_name || ':' || state, ',' ORDER BY peer_name, table_name) FROM edge_crdt.sync_status");
}

# --- sc joins under load
my @load = (start_load($a, 8, 100000), start_load($b, 8, 200000));
usleep(500_000);
is($c->safe_psql('postgres',
		"SELECT edge_crdt.join('" . connstr_for($a) . "', '" . connstr_for($c) . "')"),
	'2', 'sc joins through sa while both members write');
ok(wait_for('the copy to finish on sc',
		sub { sync_state($c) eq 'sa:public.a_small:done,sa:public.big:done' }),
	'sc copied every table from sa alone, and nothing from sb');
foreach my $l (@load)
{
	ok($l->{h}->finish, 'the load ran through the join') or diag(${ $l->{err} });
	like(${ $l->{out} }, qr/number of transactions actually processed: [1-9]/,
		'and wrote something');
}
my @mesh = ($a, $b, $c);
ok(wait_converged(@mesh), 'three regions converge after the join');
assert_identical(\@mesh, 'big', 'big is identical on all three (values and metadata)');
assert_identical(\@mesh, 'a_small', 'a_small too');
my $tomb = q{SELECT count(*) FROM edge_crdt.tombstone WHERE relid = 'big'::regclass};
is($c->safe_psql('postgres', $tomb), $a->safe_psql('postgres', $tomb),
	'the joiner has every tombstone');
is($c->safe_psql('postgres', 'SELECT sum(hits::bigint) FROM big'),
	$a->safe_psql('postgres', 'SELECT sum(hits::bigint) FROM big'),
	'counters merged exactly');
is($a->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.sync_status WHERE state <> 'done'"),
	'0', 'the members copied the (empty) tables of the joiner too');

# --- sd joins and is killed in the middle of copying big.  sd has a row of
# its own in big, so that table is merged row by row (with progress in
# sync_status), not bulk-loaded as an empty table is.
$d->append_conf('postgresql.conf', "restart_after_crash = off\n");
$d->restart;
$d->safe_psql('postgres', "INSERT INTO big VALUES (999999, 'sd own', 0, '{}')");
is($d->safe_psql('postgres',
		"SELECT edge_crdt.join('" . connstr_for($b) . "', '" . connstr_for($d) . "')"),
	'3', 'sd joins the three through sb');
ok(wait_for('sd to be copying big',
		sub {
			$d->safe_psql('postgres',
				"SELECT rows_copied > 0 FROM edge_crdt.sync_status WHERE table_name = 'public.big' AND state = 'copying'"
			) eq 't';
		}),
	'sd is in the middle of copying big');
my $small_done = $d->safe_psql('postgres',
	"SELECT finished_at FROM edge_crdt.sync_status WHERE table_name = 'public.a_small'");
$d->kill9;
ok(restart_after_kill($d), 'sd restarts after SIGKILL mid-copy');
$a->safe_psql('postgres', "UPDATE big SET v = 'after the kill' WHERE id = 5");
ok(wait_for('sd to finish its copy',
		sub { sync_state($d) eq 'sb:public.a_small:done,sb:public.big:done' }),
	'sd resumed and finished the copy');
is($d->safe_psql('postgres',
		"SELECT finished_at FROM edge_crdt.sync_status WHERE table_name = 'public.a_small'"),
	$small_done, 'a_small, done before the kill, was not copied again');
ok(wait_converged(@all), 'four regions converge');
assert_identical(\@all, 'big', 'big is identical on all four');
assert_identical(\@all, 'a_small', 'a_small too');
is($d->safe_psql('postgres', "SELECT v FROM big WHERE id = 5"), 'after the kill',
	'a change made during the restart arrived');
is($_->safe_psql('postgres', "SELECT v FROM big WHERE id = 999999"), 'sd own',
	'the row sd had before it joined reached ' . $_->name)
  foreach @all;

done_testing();
