# Values of many column types and non-integer keys replicate exactly,
# including user-defined types whose OIDs differ between nodes (their
# binary forms embed type OIDs in arrays and composites) and a type with no
# binary form at all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('y1', 1301));
require_replicator($n[0]);
push @n, new_node('y2', 1302), new_node('y3', 1303);
my ($y1, $y2, $y3) = @n;

# y2 creates unrelated types first, so the user types get other OIDs there.
$y2->safe_psql('postgres',
	'CREATE TYPE filler1 AS (x int); CREATE TYPE filler2 AS ENUM (\'z\'); CREATE DOMAIN filler3 AS int;');

my $ddl = q{
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (label text, m mood);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE ty (
	region text, id uuid, PRIMARY KEY (region, id),
	i2 int2, i8 int8, f4 real, f8 double precision, num numeric,
	t text, vc varchar(20), ch char(3), by bytea, bo bool,
	ts timestamptz, d date, iv interval, js jsonb, jn json,
	ia int[], ta text[], m mood, ma mood[], p pair, pa pair[], dom posint,
	ip inet, acl aclitem, pt point, rng int4range, tsv tsvector, bits bit varying);
SELECT edge_crdt.replicate_table('ty');
};
$_->safe_psql('postgres', $ddl) foreach @n;
isnt($y1->safe_psql('postgres', "SELECT 'mood'::regtype::oid"),
	$y2->safe_psql('postgres', "SELECT 'mood'::regtype::oid"),
	'type mood has different OIDs on y1 and y2');
full_mesh(@n);

my $values = q{
('eu', '00000000-0000-0000-0000-000000000001', -32768, 9223372036854775807, 1.5e-10, -0.0,
 '123456789012345678901234567890.000000000000000000001',
 E'quote '' backslash \\\\ tab \t newline \n unicode \u00e9\u4e2d\U0001F600', 'varchar', 'ab',
 '\x00ff10'::bytea, true, '2026-11-26 05:00:00.123456+00', 'infinity', '1 year 2 mons -3 days 04:05:06.7',
 '{"a": [1, 2.50, null, "x"], "b": {"c": true}}', '{"keep":  "spacing", "a":1, "a":2}',
 '{1,NULL,3}', '{"a b",NULL,"c\"d"}', 'happy', '{sad,happy}', '("lab,el",ok)',
 ARRAY['(x,sad)'::pair, '(,)'::pair], 7, '192.168.0.1/24', 'postgres=arw/postgres',
 '(1.5,-2)', '[3,7)', 'a fat cat:1A', B'10110'),
('us', '00000000-0000-0000-0000-000000000002', NULL, NULL, 'NaN', '-Infinity', 'NaN',
 '', NULL, NULL, '\x'::bytea, NULL, NULL, NULL, NULL, 'null', '[]', '{}', '{}', NULL, '{}', NULL, '{}',
 NULL, NULL, NULL, NULL, 'empty', '', B'')};

$y1->safe_psql('postgres', "INSERT INTO ty VALUES $values");
ok(wait_converged(@n), 'rows of many types converge');
my $dump = 'SELECT ty::text FROM ty ORDER BY region, id';
my $expect = $y1->safe_psql('postgres', $dump);
is($y2->safe_psql('postgres', $dump), $expect, 'y2 has every value exactly');
is($y3->safe_psql('postgres', $dump), $expect, 'y3 has every value exactly');
is($y2->safe_psql('postgres', 'SELECT count(*) FROM edge_crdt.apply_errors'), '0',
	'nothing quarantined on y2');

# Updates of user-typed columns from the node with the other OIDs.
$y2->safe_psql('postgres',
	q{UPDATE ty SET ma = '{ok,ok,sad}', p = '(new,sad)', pa = ARRAY['(y,happy)'::pair], m = 'sad' WHERE region = 'eu'});
ok(wait_converged(@n), 'updates of user-typed columns converge');
$expect = $y2->safe_psql('postgres', $dump);
is($y1->safe_psql('postgres', $dump), $expect, 'y1 has y2\'s user-typed values');
is($y3->safe_psql('postgres', $dump), $expect, 'y3 has y2\'s user-typed values');

# Composite text keys: delete and re-insert under the same key from
# different nodes, and a key change.
$y3->safe_psql('postgres', q{DELETE FROM ty WHERE region = 'us'});
ok(wait_converged(@n), 'delete by composite key converges');
$y2->safe_psql('postgres',
	q{INSERT INTO ty (region, id, t) VALUES ('us', '00000000-0000-0000-0000-000000000002', 'again')});
$y1->safe_psql('postgres',
	q{UPDATE ty SET region = 'ap' WHERE region = 'eu'});
ok(wait_converged(@n), 're-insert and key change converge');
is($_->safe_psql('postgres', q{SELECT string_agg(region || ':' || coalesce(t, '-'), ',' ORDER BY region) FROM ty}),
	"ap:quote ' backslash \\ tab \t newline \n unicode \x{c3}\x{a9}\x{e4}\x{b8}\x{ad}\x{f0}\x{9f}\x{98}\x{80},us:again",
	'expected rows on ' . $_->name)
  foreach @n;
assert_identical(\@n, 'ty', 'identical tables');

done_testing();
