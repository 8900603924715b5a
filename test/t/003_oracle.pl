# The convergence oracle (test/perl/EdgeCrdt/Oracle.pm) against hand-computed
# cases of DESIGN.md section 2.  No server needed: this checks the checker.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use Test::More;
use EdgeCrdt::Oracle;
use EdgeCrdt::Mesh qw(render_rows);

*rp = \&EdgeCrdt::Oracle::rowmeta_parse;
*gp = \&EdgeCrdt::Oracle::gcounter_parse;
*gr = \&EdgeCrdt::Oracle::gcounter_render;
*gm = \&EdgeCrdt::Oracle::gcounter_merge;

# --- text forms
is_deeply(rp('1;1=111562359190339584@1000,3=5@7'),
	{ cl => 1, versions => { 1 => [ '111562359190339584', 1000 ], 3 => [ 5, 7 ] } },
	'rowmeta text parsed');
is_deeply(rp('4;'), { cl => 4, versions => {} }, 'rowmeta without versions');
ok(!eval { rp('x;1=2@3'); 1 }, 'bad rowmeta rejected');
ok(!eval { rp('1;1=2@3,1=4@5'); 1 }, 'duplicate attnum rejected');
is(gr(gp(' { 9 : 3 , 2:0, 7: +5 } ')), '{7:5,9:3}', 'gcounter canonical like the type');
is(gr(gp('{}')), '{}', 'empty gcounter');
is(gr(gm(gp('{1:5,2:1}'), gp('{2:7,3:1}'))), '{1:5,2:7,3:1}', 'gcounter merge is per-node max');
is(gr(gm(gp('{1:9223372036854775807}'), gp('{1:999999999999999999}'))),
	'{1:9223372036854775807}', 'counts compare as integers, not strings');
is(EdgeCrdt::Oracle::uint_cmp('99999999999999999', '111562359190339584'), -1,
	'shorter clock value is smaller');

my @cols = ([ id => 'key' ], [ a => 'plain' ], [ b => 'plain' ], [ c => 'gcounter' ]);

# A row state as json (what returning_row yields), for brevity.
sub st
{
	my ($id, $a, $b, $c, $meta) = @_;
	return JSON::PP->new->encode([ $id, $a, $b, $c, $meta ]);
}

sub expect
{
	my ($states, $expected, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $exp = render_rows([ [qw(id a b c)], @$expected ]);
	# every delivery order must give the same answer
	my @orders = permutations(scalar @$states);
	foreach my $perm (@orders)
	{
		my $o = EdgeCrdt::Oracle->new(columns => \@cols);
		foreach my $i (@$perm)
		{
			my $s = $states->[$i];
			if (ref $s) { $o->record_delete(@$s) }
			else { $o->record_returned($s) }
		}
		my $got = render_rows($o->expected_rows);
		if ($got ne $exp || $o->errors)
		{
			diag("order @$perm; errors: " . join('; ', $o->errors));
			return is($got, $exp, $name);
		}
	}
	return pass("$name (" . scalar(@orders) . " orders)");
}

sub permutations
{
	my ($n) = @_;
	return ([]) if $n == 0;
	my @out;
	foreach my $p (permutations($n - 1))
	{
		for my $pos (0 .. @$p)
		{
			my @q = @$p;
			splice(@q, $pos, 0, $n - 1);
			push @out, \@q;
		}
	}
	return @out;
}

# Insert on node 1 (all columns stamped 100@1), then concurrent updates of
# different columns on nodes 2 and 3: both survive.
expect(
	[
		st(1, 'x', 'y', '{}', '1;1=100@1,2=100@1,3=100@1,4=100@1'),
		st(1, 'x2', 'y', '{}', '1;1=100@1,2=200@2,3=100@1,4=100@1'),
		st(1, 'x', 'y3', '{}', '1;1=100@1,2=100@1,3=150@3,4=100@1'),
	],
	[ [ 1, 'x2', 'y3', '{}' ] ],
	'concurrent updates of different columns both survive');

# Same column: greater hlc wins, whatever the value or node.
expect(
	[
		st(1, 'zzz', 'y', '{}', '1;2=300@1,3=100@1'),
		st(1, 'aaa', 'y', '{}', '1;2=301@0,3=100@1'),
	],
	[ [ 1, 'aaa', 'y', '{}' ] ],
	'same column: greater hlc wins');
expect(
	[
		st(1, 'zzz', 'y', '{}', '1;2=300@5,3=100@1'),
		st(1, 'aaa', 'y', '{}', '1;2=300@9,3=100@1'),
	],
	[ [ 1, 'aaa', 'y', '{}' ] ],
	'same column, equal hlc: greater node id wins, not the greater value');

# A column without a version loses to any version; NULL is a value.
expect(
	[
		st(1, 'old', undef, '{}', '1;2=100@1'),
		st(1, undef, 'b', '{}', '1;2=101@1,3=1@1'),
	],
	[ [ 1, undef, 'b', '{}' ] ],
	'NULL with a newer version wins; a versionless column loses');

# gcounters merge regardless of versions.
expect(
	[
		st(1, 'x', 'y', '{1:3}', '1;2=100@1,4=500@1'),
		st(1, 'x', 'y', '{1:1,2:4}', '1;2=100@1,4=900@2'),
		st(1, 'x', 'y', '{3:2}', '1;2=100@1,4=100@3'),
	],
	[ [ 1, 'x', 'y', '{1:3,2:4,3:2}' ] ],
	'gcounter columns merge by per-node max');

# Delete (cl 2) against a concurrent update with a newer version: delete wins.
expect(
	[
		st(1, 'x', 'y', '{1:1}', '1;2=100@1,3=100@1,4=100@1'),
		[ 1, 2 ],
		st(1, 'late', 'y', '{1:1,2:9}', '1;2=999@2,3=100@1,4=999@2'),
	],
	[],
	'delete wins over a concurrent update');

# Re-insert after delete: cl 3 beats the tombstone and starts a fresh row
# (no counter contributions or values of the old incarnation).
expect(
	[
		st(2, 'x', 'y', '{1:5}', '1;2=900@1,3=900@1,4=900@1'),
		[ 2, 2 ],
		st(2, 'new', undef, '{2:1}', '3;2=100@2,3=100@2,4=100@2'),
		st(3, 'other', 'o', '{}', '1;2=1@1,3=1@1,4=1@1'),
	],
	[ [ 2, 'new', undef, '{2:1}' ], [ 3, 'other', 'o', '{}' ] ],
	're-insert after delete starts a fresh row; keys are independent');

# Concurrent deletes and a concurrent re-insert on the same incarnation.
expect(
	[ [ 4, 2 ], [ 4, 2 ], st(4, 'a', 'b', '{}', '3;2=5@1,3=5@1,4=5@1'), [ 4, 4 ] ],
	[],
	'the later tombstone (cl 4) deletes the re-inserted row');

# Keys order numerically.
expect(
	[
		st(10, 'ten', 't', '{}', '1;2=1@1'),
		st(9, 'nine', 'n', '{}', '1;2=1@1'),
		st(100, 'h', 'h', '{}', '1;2=1@1'),
	],
	[ [ 9, 'nine', 'n', '{}' ], [ 10, 'ten', 't', '{}' ], [ 100, 'h', 'h', '{}' ] ],
	'rows ordered by key');

# The oracle notices one version carrying two values (an implementation that
# restamps nothing, or reuses a clock value).
my $o = EdgeCrdt::Oracle->new(columns => \@cols);
$o->record_returned(st(1, 'x', 'y', '{}', '1;2=100@1'));
$o->record_returned(st(1, 'z', 'y', '{}', '1;2=100@1'));
is(scalar($o->errors), 1, 'same version, two values is an inconsistency');
like(($o->errors)[0], qr/key 1 column a: version 100\@1 seen with values 'x' and 'z'/,
	'and says which');

# Deletes read back from DELETE ... RETURNING: old cl + 1.
$o = EdgeCrdt::Oracle->new(columns => \@cols);
$o->record_returned(st(5, 'x', 'y', '{}', '3;2=100@1'));
$o->record_deleted_returned(st(5, 'x', 'y', '{}', '3;2=100@1'));
is($o->state(5)->{cl}, 4, 'deleting a row with cl 3 leaves cl 4');
ok(!eval { $o->record_delete(5, 5); 1 }, 'odd tombstone cl refused');

is($o->returning_row,
	'json_build_array("id"::text, "a"::text, "b"::text, "c"::text, _edge_crdt::text)',
	'returning expression');

done_testing();
