# Tables and DDL across the mesh (issue 5): replicate_ddl runs DDL on every
# node at the same point of the change stream, so ADD COLUMN and DROP
# COLUMN under concurrent writes apply everywhere without a quarantined
# change; replicate_table on one node propagates to the others, which copy
# the rows it already had; a table that differs on a peer is reported with
# exactly what differs, and DDL that would break merging is refused.
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

my @n = (new_node('da', 2701));
require_replicator($n[0]);
push @n, new_node('db', 2702), new_node('dc', 2703);
my ($da, $db, $dc) = @n;

create_replicated(\@n, 'dt', 'CREATE TABLE dt (id int PRIMARY KEY, v text, n int)');
full_mesh(@n);
$da->safe_psql('postgres', "INSERT INTO dt SELECT g, 'v' || g, 0 FROM generate_series(1, 2000) g");
ok(wait_converged(@n), 'three nodes converge');

sub start_load
{
	my ($node, $seconds, $sql) = @_;
	my $script = "$PostgreSQL::Test::Utils::tmp_check/ddl_load_" . $node->name . "_$seconds.sql";
	PostgreSQL::Test::Utils::append_to_file($script, $sql) unless -e $script;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '1', '-T', $seconds, '-f', $script, '-d', $node->connstr('postgres') ],
		'>', \$out, '2>', \$err);
	return { h => $h, out => \$out, err => \$err };
}

my $no_errors = 'SELECT count(*) FROM edge_crdt.apply_errors';

# --- ADD COLUMN under load on the other two nodes
my @load = map {
	start_load($_, 4, "\\set id random(1, 2000)\nUPDATE dt SET n = n + 1, v = '" . $_->name . "' WHERE id = :id;\n")
} ($db, $dc);
usleep(700_000);
$da->safe_psql('postgres', "SELECT edge_crdt.replicate_ddl('ALTER TABLE dt ADD COLUMN extra text')");
$da->safe_psql('postgres', "UPDATE dt SET extra = 'set on da' WHERE id <= 100");
foreach my $l (@load)
{
	ok($l->{h}->finish, 'writers ran through the ADD COLUMN') or diag(${ $l->{err} });
}
ok(wait_converged(@n), 'converged after ADD COLUMN');
foreach my $node (@n)
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM dt WHERE extra = 'set on da'"), '100',
		'the new column and its values reached ' . $node->name);
	is($node->safe_psql('postgres', $no_errors), '0', 'nothing quarantined on ' . $node->name);
}
assert_identical(\@n, 'dt', 'dt identical after ADD COLUMN');

# --- DROP COLUMN under load: rows written before a node applied the DROP
# still carry the column and are applied without it.
@load = map {
	start_load($_, 4, "\\set id random(1, 2000)\nUPDATE dt SET n = n + 1, extra = '" . $_->name . "' WHERE id = :id;\n")
} ($db, $dc);
usleep(700_000);
$da->safe_psql('postgres', "SELECT edge_crdt.replicate_ddl('ALTER TABLE dt DROP COLUMN extra')");
$_->{h}->finish foreach @load;
ok(wait_converged(@n), 'converged after DROP COLUMN');
foreach my $node (@n)
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_attribute WHERE attrelid = 'dt'::regclass AND attname = 'extra' AND NOT attisdropped"),
		'0', 'the column is gone on ' . $node->name);
	is($node->safe_psql('postgres', $no_errors), '0', 'nothing quarantined on ' . $node->name);
}
assert_identical(\@n, 'dt', 'dt identical after DROP COLUMN');

# --- dangerous DDL is refused and not propagated
my ($ret, $out, $err) = $da->psql('postgres',
	"SELECT edge_crdt.replicate_ddl('ALTER TABLE dt ALTER COLUMN id TYPE bigint')");
isnt($ret, 0, 'changing the primary key type is refused');
like($err, qr/cannot change the primary key/, 'with a clear error');

# --- a table added later: created everywhere by replicate_ddl, filled on
# one node, then replicated there: the others follow and copy its rows.
$da->safe_psql('postgres',
	"SELECT edge_crdt.replicate_ddl('CREATE TABLE later (id bigint PRIMARY KEY DEFAULT edge_crdt.next_id(), v text)')");
ok(wait_for('the table on every node',
		sub { !grep { $_->safe_psql('postgres', "SELECT to_regclass('later') IS NULL") eq 't' } @n }),
	'replicate_ddl created the table on every node');
$da->safe_psql('postgres', "INSERT INTO later (v) SELECT 'before' FROM generate_series(1, 500)");
$da->safe_psql('postgres', "SELECT edge_crdt.replicate_table('later')");
$da->safe_psql('postgres', "INSERT INTO later (v) SELECT 'after' FROM generate_series(1, 10)");
$db->safe_psql('postgres', "INSERT INTO later (v) VALUES ('from db')");
ok(wait_for('later to be replicated everywhere',
		sub { !grep { $_->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.tables WHERE table_name::text = 'later'") ne '1' } @n }),
	'replicate_table propagated to the peers');
ok(wait_converged(@n), 'converged after the new table');
foreach my $node (@n)
{
	is($node->safe_psql('postgres', "SELECT count(*) FILTER (WHERE v = 'before') || '/' || count(*) FROM later"),
		'500/511', 'rows from before replicate_table reached ' . $node->name);
}
assert_identical(\@n, 'later', 'later is identical');

# --- a peer whose table differs: the change is quarantined with the difference
$da->safe_psql('postgres', 'CREATE TABLE odd (id int PRIMARY KEY, v text)');
$db->safe_psql('postgres', 'CREATE TABLE odd (id int PRIMARY KEY, v integer)');
$dc->safe_psql('postgres', 'CREATE TABLE odd (id int PRIMARY KEY, v text)');
$da->safe_psql('postgres', "SELECT edge_crdt.replicate_table('odd')");
ok(wait_for('the difference to be reported',
		sub { $db->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.apply_errors") eq '1' }),
	'db quarantines the announcement of a table that differs');
like($db->safe_psql('postgres', "SELECT error || ' ' || detail FROM edge_crdt.apply_errors"),
	qr/differs.*column v is integer here but text on the peer/,
	'and says exactly what differs');
like($db->safe_psql('postgres', "SELECT last_error FROM edge_crdt.peers WHERE peer_name = 'da'"),
	qr/differs/, 'edge_crdt.peers shows it too');
ok(wait_for('dc to replicate odd',
		sub { $dc->safe_psql('postgres', "SELECT count(*) FROM edge_crdt.tables WHERE table_name::text = 'odd'") eq '1' }),
	'a peer whose table matches replicates it');
$db->safe_psql('postgres', 'ALTER TABLE odd ALTER COLUMN v TYPE text');
is($db->safe_psql('postgres', "SELECT edge_crdt.retry_apply_error(id) FROM edge_crdt.apply_errors"),
	't', 'after fixing the table, the retry replicates it');

done_testing();
