# Columns travel by name (DESIGN.md section 4): the same table with
# different attribute numbers on each node (dropped columns in different
# places) replicates value for value, and per-column versions stay with their
# column.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('m1', 1201));
require_replicator($n[0]);
push @n, new_node('m2', 1202), new_node('m3', 1203);
my ($m1, $m2, $m3) = @n;

# Same columns, different attnums: m1 dropped a column before a, m3 one
# between a and b and had c added last; m2 is plain.
$m1->safe_psql('postgres', q{
CREATE TABLE cb (id int PRIMARY KEY, junk int, a text, b text, n edge_crdt.gcounter);
ALTER TABLE cb DROP COLUMN junk;
ALTER TABLE cb ADD COLUMN c int;
SELECT edge_crdt.replicate_table('cb');});
$m2->safe_psql('postgres', q{
CREATE TABLE cb (id int PRIMARY KEY, a text, b text, n edge_crdt.gcounter, c int);
SELECT edge_crdt.replicate_table('cb');});
$m3->safe_psql('postgres', q{
CREATE TABLE cb (id int PRIMARY KEY, a text, x1 int, x2 text, b text, n edge_crdt.gcounter);
ALTER TABLE cb DROP COLUMN x1, DROP COLUMN x2;
ALTER TABLE cb ADD COLUMN c int;
SELECT edge_crdt.replicate_table('cb');});
isnt($m1->safe_psql('postgres', "SELECT attnum FROM pg_attribute WHERE attrelid = 'cb'::regclass AND attname = 'b'"),
	$m3->safe_psql('postgres', "SELECT attnum FROM pg_attribute WHERE attrelid = 'cb'::regclass AND attname = 'b'"),
	'column b has different attnums on m1 and m3');
full_mesh(@n);

sub sql
{
	my ($node, $query) = @_;
	return $node->safe_psql('postgres', "SET search_path = public, edge_crdt; $query");
}

sql($m1, "INSERT INTO cb VALUES (1, 'a1', 'b1', 1, 10)");
sql($m2, "INSERT INTO cb VALUES (2, 'a2', 'b2', 2, 20)");
sql($m3, "INSERT INTO cb (id, a, b, n, c) VALUES (3, 'a3', 'b3', 3, 30)");
ok(wait_converged(@n), 'inserts converge');
my $expect = "1|a1|b1|1|10\n2|a2|b2|2|20\n3|a3|b3|3|30";
my $q = 'SELECT id, a, b, n::bigint, c FROM cb ORDER BY id';
is(sql($_, $q), $expect, 'values land in the right columns on ' . $_->name) foreach @n;

# Concurrent updates of different columns from nodes with different attnums:
# the versions must follow the names.
pause_all(@n);
sql($m1, "UPDATE cb SET b = 'b-m1' WHERE id = 2");
sql($m3, "UPDATE cb SET a = 'a-m3', n = n + 5 WHERE id = 2");
sql($m2, "UPDATE cb SET c = 22 WHERE id = 2");
resume_all(@n);
ok(wait_converged(@n), 'concurrent column updates converge');
$expect = "1|a1|b1|1|10\n2|a-m3|b-m1|7|22\n3|a3|b3|3|30";
is(sql($_, $q), $expect, 'each column keeps its own winner on ' . $_->name) foreach @n;

# A later write of one column on m2 must beat the earlier ones of that
# column only.
sql($m2, "UPDATE cb SET a = 'a-m2' WHERE id = 2");
ok(wait_converged(@n), 'converged');
is(sql($_, 'SELECT a || b FROM cb WHERE id = 2'), 'a-m2b-m1', 'later write of a only on ' . $_->name)
  foreach @n;

done_testing();
