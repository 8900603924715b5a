# Completeness (DESIGN.md section 2): an UPDATE that leaves a TOASTed value
# unchanged must still ship the full row, so that a node that never saw the
# insert gets the whole value from the update alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('t1', 901));
require_replicator($n[0]);
push @n, new_node('t2', 902), new_node('t3', 903);
my ($t1, $t2, $t3) = @n;

create_replicated(\@n, 'tt', 'CREATE TABLE tt (id int PRIMARY KEY, big text, small int, blob bytea)');
full_mesh(@n);

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

# ~200 kB of hex: stored out of line (TOASTed) even after compression.
my $big = "(SELECT string_agg(md5(g::text || 'x'), '') FROM generate_series(1, 6000) g)";
my $blob = "(SELECT string_agg(sha256(g::text::bytea), ''::bytea) FROM generate_series(1, 3000) g)";
my $expect = sql($t1, "SELECT md5($big) || ' ' || md5($blob)");

# t3 does not stream from t1 for now: it will see the row first through
# t2's update, which changes only "small".
pause_peers($t3, 't1');
sql($t1, "INSERT INTO tt VALUES (1, $big, 0, $blob)");
my $toast = sql($t1, "SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'tt'::regclass");
cmp_ok(sql($t1, "SELECT count(DISTINCT chunk_id) FROM $toast"), '>=', 2,
	'both values are stored out of line (TOAST) on t1');
ok($t2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM tt'), 't2 has the row');
sql($t2, 'UPDATE tt SET small = 2 WHERE id = 1');
ok($t3->poll_query_until('postgres', 'SELECT count(*) = 1 FROM tt'),
	't3 gets the row from t2\'s update alone');
is(sql($t3, 'SELECT md5(big) || \' \' || md5(blob) || \' \' || small FROM tt WHERE id = 1'),
	"$expect 2", 't3 has the full unchanged TOASTed values and the new column');

resume_peers($t3, 't1');
sql($t3, 'UPDATE tt SET small = 3 WHERE id = 1');
sql($t1, "UPDATE tt SET blob = '\\x00' WHERE id = 1");
ok(wait_converged(@n, { tables => [] }), 'converged');
foreach my $node (@n)
{
	is(sql($node, 'SELECT md5(big) || \' \' || small || \' \' || blob FROM tt WHERE id = 1'),
		(split / /, $expect)[0] . ' 3 \\x00', 'row complete on ' . $node->name);
}

done_testing();
