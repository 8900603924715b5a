# Node identity and hybrid logical clock across restarts, crashes and a
# server that did not preload the library.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Without shared_preload_libraries: the extension installs, but everything
# that needs shared memory says exactly what is missing.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION edge_crdt');
my ($ret, $out, $err) = $plain->psql('postgres', 'SELECT edge_crdt.hlc_now()');
isnt($ret, 0, 'hlc_now fails without preload');
like($err, qr/edge_crdt must be loaded via shared_preload_libraries/,
	'error names shared_preload_libraries');
like($err, qr/HINT:.*Add edge_crdt to shared_preload_libraries/, 'with a hint');
$plain->stop;

my $node = PostgreSQL::Test::Cluster->new('clock');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'edge_crdt'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION edge_crdt');
my $id = $node->safe_psql('postgres', "SELECT edge_crdt.create_node('n1', 'eu-west')");
ok($id > 0, "random node id $id is positive");

# A value 40 s ahead of the wall clock (inside the default 60 s skew) must
# still be behind the clock after a clean restart and after a crash, although
# the wall clock has not caught up with it: the ceiling file carries it.
for my $mode ('fast', 'immediate')
{
	my $ahead = $node->safe_psql('postgres',
		"SELECT ((extract(epoch FROM clock_timestamp()) * 1000)::int8 + 40000) << 16");
	$node->safe_psql('postgres', "SELECT edge_crdt.hlc_observe($ahead)");
	$node->stop($mode);
	$node->start;
	my $now = $node->safe_psql('postgres', 'SELECT edge_crdt.hlc_now()');
	cmp_ok($now, '>', $ahead, "clock stays ahead of observed value after $mode stop");
	is($node->safe_psql('postgres', 'SELECT node_id FROM edge_crdt.local_node'),
		$id, "node id survives $mode stop");
}

# Values handed out just before a crash are never handed out again.
my $before = $node->safe_psql('postgres',
	'SELECT max(edge_crdt.hlc_now()) FROM generate_series(1, 50000)');
$node->stop('immediate');
$node->start;
my $after = $node->safe_psql('postgres', 'SELECT edge_crdt.hlc_now()');
cmp_ok($after, '>', $before, 'no timestamp reissued after crash');

# A damaged ceiling file stops the server with a clear message rather than
# risking a clock that runs backwards.
$node->stop;
my $file = $node->data_dir . '/edge_crdt.hlc';
ok(-f $file, 'ceiling file exists');
open(my $fh, '>', $file) or die;
print $fh 'garbage';
close($fh);
ok(!$node->start(fail_ok => 1), 'server refuses to start with a corrupt clock file');
like(slurp_file($node->logfile), qr/edge_crdt clock file "edge_crdt.hlc" is corrupt/,
	'log explains why');

done_testing();
