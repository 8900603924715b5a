# Three nodes, full mesh: bidirectional insert/update/delete converge, and the
# conflict rules of DESIGN.md section 2 hold on every node: concurrent updates
# of different columns both survive, the same column gets the same (greatest
# version) winner everywhere, a delete wins over a concurrent update, a
# re-insert after a delete starts a fresh row.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);
use EdgeCrdt::Oracle;

my @n = (new_node('n1', 101));
require_replicator($n[0]);
push @n, new_node('n2', 102), new_node('n3', 103);
my ($n1, $n2, $n3) = @n;

create_replicated(\@n, 't', 'CREATE TABLE t (id int PRIMARY KEY, a text, b text)');
full_mesh(@n);

is($n1->safe_psql('postgres', 'SELECT string_agg(peer_name, \',\' ORDER BY 1) FROM edge_crdt.peers'),
	'n2,n3', 'n1 has two peers');
ok( $n1->poll_query_until(
		'postgres',
		"SELECT count(*) = 2 FROM edge_crdt.peers WHERE state = 'streaming'"),
	'n1 streams from both peers');

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

sub dump_is
{
	my ($expected, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $exp = render_rows([ [qw(id a b)], @$expected ]);
	foreach my $node (@n)
	{
		my $got = table_dump($node, 't');
		return is($got, $exp, "$name (" . $node->name . ")") if $got ne $exp;
	}
	return pass($name);
}

# --- bidirectional insert / update / delete
sql($n1, "INSERT INTO t VALUES (1, 'a1', 'b1')");
sql($n2, "INSERT INTO t VALUES (2, 'a2', 'b2')");
sql($n3, "INSERT INTO t VALUES (3, 'a3', 'b3')");
ok(wait_converged(@n), 'inserts on three nodes converge');
dump_is([ [ 1, 'a1', 'b1' ], [ 2, 'a2', 'b2' ], [ 3, 'a3', 'b3' ] ],
	'every node has every insert');

sql($n2, "UPDATE t SET a = 'a1-n2' WHERE id = 1");
sql($n3, "DELETE FROM t WHERE id = 2");
sql($n1, "UPDATE t SET b = 'b3-n1' WHERE id = 3");
ok(wait_converged(@n), 'updates and delete converge');
dump_is([ [ 1, 'a1-n2', 'b1' ], [ 3, 'a3', 'b3-n1' ] ],
	'updates and delete from other nodes applied everywhere');

# --- concurrent updates of different columns: both survive
pause_all(@n);
sql($n1, "UPDATE t SET a = 'a-from-n1' WHERE id = 1");
sql($n2, "UPDATE t SET b = 'b-from-n2' WHERE id = 1");
is(sql($n1, 'SELECT b FROM t WHERE id = 1'), 'b1',
	'while paused n1 does not see n2\'s update (the updates are concurrent)');
resume_all(@n);
ok(wait_converged(@n), 'concurrent column updates converge');
dump_is([ [ 1, 'a-from-n1', 'b-from-n2' ], [ 3, 'a3', 'b3-n1' ] ],
	'concurrent updates of different columns both survive');

# --- same column on three nodes: the greatest (hlc, node) version wins
pause_all(@n);
my %version;
for my $i (0 .. 2)
{
	my $meta = sql($n[$i], "UPDATE t SET a = 'same-" . $n[$i]->name
		  . "' WHERE id = 3 RETURNING _edge_crdt::text");
	# column a is attnum 2
	$version{ $n[$i]->name } = EdgeCrdt::Oracle::rowmeta_parse($meta)->{versions}{2};
}
my ($winner) = sort { EdgeCrdt::Oracle::version_cmp($version{$b}, $version{$a}) } keys %version;
note "versions of column a: "
  . join(', ', map { "$_=$version{$_}[0]\@$version{$_}[1]" } sort keys %version)
  . "; expected winner $winner";
resume_all(@n);
ok(wait_converged(@n), 'concurrent same-column updates converge');
my $a3 = "same-$winner";
my ($applied, $conflicts) = (0, 0);
foreach my $node (@n)
{
	my ($a, $c) = split /\|/, sql($node, 'SELECT sum(changes_applied), sum(conflicts) FROM edge_crdt.peers');
	$applied += $a;
	$conflicts += $c;
}
cmp_ok($applied, '>', 0, "peers view counts applied changes ($applied)");
cmp_ok($conflicts, '>', 0, "peers view counts resolved conflicts ($conflicts)");
dump_is([ [ 1, 'a-from-n1', 'b-from-n2' ], [ 3, $a3, 'b3-n1' ] ],
	"same column: the greatest version ($winner) wins on every node");

# The winner must not depend on who wrote last in wall-clock terms only by
# accident: repeat with the writes in the opposite node order.
pause_all(@n);
%version = ();
for my $i (reverse 0 .. 2)
{
	my $meta = sql($n[$i], "UPDATE t SET b = 'rev-" . $n[$i]->name
		  . "' WHERE id = 1 RETURNING _edge_crdt::text");
	$version{ $n[$i]->name } = EdgeCrdt::Oracle::rowmeta_parse($meta)->{versions}{3};
}
($winner) = sort { EdgeCrdt::Oracle::version_cmp($version{$b}, $version{$a}) } keys %version;
resume_all(@n);
ok(wait_converged(@n), 'second round converges');
dump_is([ [ 1, 'a-from-n1', "rev-$winner" ], [ 3, $a3, 'b3-n1' ] ],
	"same column, other order: the greatest version ($winner) wins");

# --- delete vs concurrent update: the delete wins, even against an update
# with a later clock
pause_all(@n);
sql($n1, 'DELETE FROM t WHERE id = 1');
sql($n2, "UPDATE t SET a = 'late-update' WHERE id = 1");
sql($n3, "UPDATE t SET b = 'late-update-3' WHERE id = 1");
resume_all(@n);
ok(wait_converged(@n), 'delete vs update converges');
is(sql($_, 'SELECT count(*) FROM t WHERE id = 1'), '0', 'delete wins on ' . $_->name)
  foreach @n;

# --- re-insert after delete: a fresh row (cl 3) everywhere, no old columns
sql($n3, "INSERT INTO t (id, a) VALUES (1, 'reborn')");
ok(wait_converged(@n), 're-insert converges');
dump_is([ [ 1, 'reborn', undef ], [ 3, $a3, 'b3-n1' ] ],
	're-inserted row is fresh on every node');
is(EdgeCrdt::Oracle::rowmeta_parse(sql($_, 'SELECT _edge_crdt::text FROM t WHERE id = 1'))->{cl},
	3, 're-inserted row has causal length 3 on ' . $_->name)
  foreach @n;

# Delete and re-insert again on another node, while a third node concurrently
# updates the old incarnation: the re-insert (cl 3 -> 4 -> 5) wins over the
# update of cl 3.
pause_all(@n);
sql($n1, 'DELETE FROM t WHERE id = 1');
sql($n1, "INSERT INTO t VALUES (1, 'third-life', 'x')");
sql($n2, "UPDATE t SET b = 'stale' WHERE id = 1");
resume_all(@n);
ok(wait_converged(@n), 'delete + re-insert vs stale update converges');
dump_is([ [ 1, 'third-life', 'x' ], [ 3, $a3, 'b3-n1' ] ],
	'the newer incarnation wins over an update of the old one');

# --- concurrent inserts of the same key merge into one row, the per-column
# greater version winning (checked against the oracle)
my $oracle = EdgeCrdt::Oracle->new(columns => [ [ id => 'key' ], [ a => 'plain' ], [ b => 'plain' ] ]);
pause_all(@n);
$oracle->record_returned(sql($n1, "INSERT INTO t VALUES (10, 'p1', NULL) RETURNING " . $oracle->returning_row));
$oracle->record_returned(sql($n2, "INSERT INTO t VALUES (10, NULL, 'q2') RETURNING " . $oracle->returning_row));
$oracle->record_returned(sql($n2, "UPDATE t SET a = 'p2' WHERE id = 10 RETURNING " . $oracle->returning_row));
$oracle->record_returned(sql($n3, "INSERT INTO t VALUES (10, 'p3', 'q3') RETURNING " . $oracle->returning_row));
resume_all(@n);
ok(wait_converged(@n), 'concurrent inserts converge');
my $row10 = $oracle->expected_rows->[1];
dump_is([ [ 1, 'third-life', 'x' ], [ 3, $a3, 'b3-n1' ], $row10 ],
	'concurrent inserts of one key merge into one row (' . join(',', map { $_ // 'NULL' } @$row10) . ')');
is(join(' ', $oracle->errors), '', 'no version carried two values');

# A delete can arrive before the insert it deletes: n3 does not stream from
# n1 for a while; n1 inserts, n2 deletes what it received.  n3 gets the
# tombstone first and must not resurrect the row when the insert follows.
pause_peers($n3, 'n1');
my $tomb = "SELECT count(*) FROM edge_crdt.tombstone WHERE relid = 't'::regclass";
my $before = sql($n3, $tomb);
sql($n1, "INSERT INTO t VALUES (20, 'early', 'x')");
ok($n2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM t WHERE id = 20'), 'n2 has row 20');
sql($n2, 'DELETE FROM t WHERE id = 20');
ok($n3->poll_query_until('postgres', "SELECT ($tomb) = $before + 1"),
	'n3 records the tombstone of a row it never had');
is(sql($n3, 'SELECT count(*) FROM t WHERE id = 20'), '0', 'and has no row 20');
resume_peers($n3, 'n1');
ok(wait_converged(@n), 'converged after the late insert');
is(sql($_, 'SELECT count(*) FROM t WHERE id = 20'), '0', 'late insert does not resurrect row 20 on ' . $_->name)
  foreach @n;

# A primary key change is a delete of the old key and an insert of the new.
sql($n2, 'UPDATE t SET id = 11 WHERE id = 10');
ok(wait_converged(@n), 'primary key change converges');
is(sql($_, 'SELECT string_agg(id::text, \',\' ORDER BY id) FROM t'), '1,3,11',
	'old key gone and new key present on ' . $_->name)
  foreach @n;

done_testing();
