# orset and doc columns under concurrent writes on three nodes: an add wins
# over a concurrent remove, document writes to different paths all survive,
# and every node ends with the same state.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('o1', 801));
require_replicator($n[0]);
push @n, new_node('o2', 802), new_node('o3', 803);
my ($o1, $o2, $o3) = @n;

create_replicated(\@n, 'dt',
	'CREATE TABLE dt (id int PRIMARY KEY, tags edge_crdt.orset, body edge_crdt.doc, title text)');
full_mesh(@n);

sub sql
{
	my ($node, $query) = @_;
	return $node->safe_psql('postgres', "SET search_path = public, edge_crdt; $query");
}

sub state_of
{
	my ($node) = @_;
	return sql($node,
		"SELECT (SELECT string_agg(e, ',' ORDER BY e) FROM unnest(tags::text[]) e) "
		  . "|| ' ' || body::jsonb::text || ' ' || title FROM dt WHERE id = 1");
}

sql($o1, qq{INSERT INTO dt VALUES (1, ARRAY['a', 'b'], '{"title": "t", "n": 1, "meta": {"x": 1}}'::jsonb, 'first')});
ok(wait_converged(@n), 'row replicated');
is(state_of($_), 'a,b {"n": 1, "meta": {"x": 1}, "title": "t"} first', 'initial state on ' . $_->name)
  foreach @n;

pause_all(@n);
# o2 removes a and b; o3 concurrently re-adds a (a new add o2 has not seen)
# and adds d; o1 adds c.
sql($o1, "UPDATE dt SET tags = tags + 'c' WHERE id = 1");
sql($o2, "UPDATE dt SET tags = tags - 'a' WHERE id = 1");
sql($o2, "UPDATE dt SET tags = tags - 'b' WHERE id = 1");
sql($o3, "UPDATE dt SET tags = tags + 'a' WHERE id = 1");
sql($o3, "UPDATE dt SET tags = tags + 'd' WHERE id = 1");
# Documents: every node writes its own path; o1 and o3 both write meta.x.
sql($o1, q{UPDATE dt SET body = doc_set(body, '{title}', '"t1"') WHERE id = 1});
sql($o2, q{UPDATE dt SET body = doc_set(body, '{n}', '2') WHERE id = 1});
sql($o3, q{UPDATE dt SET body = doc_set(body, '{extra}', 'true') WHERE id = 1});
sql($o1, q{UPDATE dt SET body = doc_set(body, '{meta,x}', '"o1"') WHERE id = 1});
sql($o3, q{UPDATE dt SET body = doc_set(body, '{meta,x}', '"o3"') WHERE id = 1});
sql($o2, q{UPDATE dt SET body = doc_delete(body, '{meta}'), title = 'o2 title' WHERE id = 1});
resume_all(@n);

ok(wait_converged(@n), 'concurrent orset and doc writes converge');
assert_identical(\@n, 'dt', 'same row everywhere');
my $s = state_of($o1);
like($s, qr/^a,c,d /, 'orset: the concurrent re-add of a wins over the remove, b is gone, c and d added');
like($s, qr/"n": 2/, 'doc: o2\'s write of n survives');
like($s, qr/"title": "t1"/, 'doc: o1\'s write of title survives');
like($s, qr/"extra": true/, 'doc: o3\'s new key survives');
like($s, qr/ o2 title$/, 'plain column written by o2 alone');
is(sql($_, 'SELECT body::text FROM dt WHERE id = 1'), sql($o1, 'SELECT body::text FROM dt WHERE id = 1'),
	'doc state (with versions) identical on ' . $_->name)
  foreach @n;
is(sql($_, 'SELECT tags::text FROM dt WHERE id = 1'), sql($o1, 'SELECT tags::text FROM dt WHERE id = 1'),
	'orset state (with dots) identical on ' . $_->name)
  foreach @n;
note "final: $s";

done_testing();
