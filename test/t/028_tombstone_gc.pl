# Tombstone collection (sql/install/88_gc.sql) on a three-node mesh, with
# collection as aggressive as it gets (every 200 ms, no retention):
#  - tombstones go on every node once every node has them, and the floor
#    rises;
#  - a tombstone is kept while a change that it must beat is still queued
#    behind a paused link (else the row would come back);
#  - a key re-inserted on a node that collected its tombstone starts above
#    the floor and wins on a node that still keeps the tombstone;
#  - join refuses a node with rows in a table whose tombstones the mesh has
#    collected, and a joiner takes the floors over.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my $GC = "edge_crdt.tombstone_gc_interval = 200ms\nedge_crdt.tombstone_retention = 0\n";
my @n = (new_node('g1', 401, extra_conf => $GC));
require_replicator($n[0]);
push @n, new_node('g2', 402, extra_conf => $GC), new_node('g3', 403, extra_conf => $GC);
my ($g1, $g2, $g3) = @n;

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

# The tombstone of key $id: an int4 key encodes as 'b', length 4, int4send.
sub tombstone_of
{
	my ($node, $id) = @_;
	return sql($node,
		"SELECT count(*) FROM edge_crdt.tombstone WHERE relid = 'gt'::regclass "
		  . "AND pk = '\\x6200000004'::bytea || int4send($id)");
}

sub tombstones
{
	my ($node) = @_;
	return sql($node, "SELECT tombstones FROM edge_crdt.tombstone_status WHERE table_name = 'gt'::regclass");
}

create_replicated(\@n, 'gt', 'CREATE TABLE gt (id int PRIMARY KEY, v text)');
full_mesh(@n);
wait_streaming(@n);

sql($g1, "INSERT INTO gt SELECT i, 'v' || i FROM generate_series(1, 100) i");
ok(wait_converged(@n), 'rows reach every node');

# --- collection everywhere, floors rise
sql($g2, 'DELETE FROM gt WHERE id > 90');
is(tombstones($g2), '10', 'a delete leaves tombstones');
ok( wait_for('collection',
		sub { (grep { tombstones($_) ne '0' } @n) == 0 }),
	'once every node has them, every node collects them');
is(join(',', map { sql($_, "SELECT edge_crdt.table_floor('gt')") } @n), '2,2,2',
	'and raises the floor to their causal length');
is(sql($g1, 'SELECT string_agg(reporter::text, \',\' ORDER BY reporter) FROM '
	  . '(SELECT DISTINCT reporter FROM edge_crdt.frontier) f'),
	'402,403', 'g1 keeps the frontiers of both peers');
assert_identical(\@n, 'gt', 'identical after collection');

# --- a tombstone stays while a change it must beat is queued
# g3 does not see g2's delete, and g1 does not see g3's update of the same
# row yet: g1 must not collect the tombstone before that update arrives.
pause_peers($g3, 'g2');
pause_peers($g1, 'g3');
sql($g2, 'DELETE FROM gt WHERE id = 60');
sql($g3, "UPDATE gt SET v = 'stale' WHERE id = 60");
sleep(3);    # fifteen collection rounds
is(tombstone_of($g1, 60), '1', 'g1 keeps the tombstone while g3 has not applied the delete');
is(tombstone_of($g2, 60), '1', 'so does g2');
resume_peers($g3, 'g2');
resume_peers($g1, 'g3');
ok(wait_converged(@n), 'converged after the links are back');
is(sql($_, 'SELECT count(*) FROM gt WHERE id = 60'), '0',
	$_->name . ': the stale update did not bring the row back')
  foreach @n;
ok(wait_for('collection', sub { (grep { tombstones($_) ne '0' } @n) == 0 }),
	'then the tombstone is collected everywhere');
assert_identical(\@n, 'gt', 'identical');

# --- re-insert on nodes that collected, against one that did not
# g1 gets nothing from g3, so it cannot learn that g3 has the delete: it
# keeps the tombstone while g2 and g3 collect it.
pause_peers($g1, 'g3');
sql($g2, 'DELETE FROM gt WHERE id = 70');
ok( wait_for('g2 and g3 collect',
		sub { tombstone_of($g2, 70) eq '0' && tombstone_of($g3, 70) eq '0' }),
	'g2 and g3 collect the tombstone');
is(tombstone_of($g1, 70), '1', 'g1 still keeps it');
sql($g3, "INSERT INTO gt VALUES (70, 'reborn')");
is(sql($g3, 'SELECT edge_crdt.row_cl(_edge_crdt) FROM gt WHERE id = 70'), '3',
	'the re-insert starts above the floor, not at 1');
resume_peers($g1, 'g3');
ok(wait_converged(@n), 'converged');
is(sql($_, 'SELECT v FROM gt WHERE id = 70'), 'reborn',
	$_->name . ': the re-inserted row is there')
  foreach @n;
assert_identical(\@n, 'gt', 'identical after the re-insert');

# --- join
my $g4 = new_node('g4', 404, extra_conf => $GC);
sql($g4, 'CREATE TABLE gt (id int PRIMARY KEY, v text); '
	  . "SELECT edge_crdt.replicate_table('gt'); INSERT INTO gt VALUES (91, 'local')");
my ($ret, $out, $err) =
  $g4->psql('postgres', "SELECT edge_crdt.join('" . connstr_for($g1) . "', '" . connstr_for($g4) . "')");
isnt($ret, 0, 'join refuses a table with rows the mesh may have deleted');
like($err, qr/cannot join: table public\.gt has rows here, and the mesh has already collected tombstones of it/,
	'and says why');
is(sql($g1, "SELECT count(*) FROM edge_crdt.peer WHERE peer_name = 'g4'"), '0',
	'before any member added the joiner');
sql($g4, 'DELETE FROM gt');
# The seed keeps a tombstone for the copy (retention), and the joiner has one
# of its own, so the copy merges: the copied tombstone must come with its
# commit position, or the joiner could never collect it.  The joiner keeps
# it too until we have looked.
sql($_, "ALTER SYSTEM SET edge_crdt.tombstone_retention = '1h'; SELECT pg_reload_conf()")
  foreach ($g1, $g4);
sql($g1, 'DELETE FROM gt WHERE id = 80');
is(sql($g4, "SELECT edge_crdt.join('" . connstr_for($g1) . "', '" . connstr_for($g4) . "')"),
	'3', 'an empty joiner joins');
is(sql($g4, "SELECT edge_crdt.table_floor('gt')"), '2', 'and takes the floor over');
push @n, $g4;
ok($g4->poll_query_until('postgres',
		"SELECT count(*) = 3 FROM edge_crdt.peers WHERE state = 'streaming'"),
	'g4 streams from every member');
sql($g4, "INSERT INTO gt VALUES (95, 'from g4')");
ok(wait_converged(@n), 'four nodes converge');
assert_identical(\@n, 'gt', 'identical on four nodes');
is(sql($g1, 'SELECT v FROM gt WHERE id = 95'), 'from g4', 'the joiner\'s insert is everywhere');
is(tombstone_of($g4, 80), '1', 'the joiner copied the seed\'s tombstone');
sql($_, "ALTER SYSTEM RESET edge_crdt.tombstone_retention; SELECT pg_reload_conf()")
  foreach ($g1, $g4);
ok(wait_for('collection', sub { (grep { tombstones($_) ne '0' } @n) == 0 }),
	'every tombstone is collected on all four nodes, copied ones too');

# A removed peer's frontier goes with it.
is(sql($g4, 'SELECT count(*) > 0 FROM edge_crdt.frontier WHERE reporter = 401'), 't',
	'g4 has g1\'s frontier');
sql($g4, "SELECT edge_crdt.remove_peer('g1')");
is(sql($g4, 'SELECT count(*) FROM edge_crdt.frontier WHERE reporter = 401'), '0',
	'and forgets it when g1 is removed');

done_testing();
