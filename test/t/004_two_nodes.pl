# Two nodes stream from each other: the smallest mesh, end to end through
# capture, the output plugin, the peer workers and the apply.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

sub new_node
{
	my ($name, $id) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(allows_streaming => 'logical');
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'edge_crdt'
max_replication_slots = 10
max_wal_senders = 10
max_worker_processes = 20
output_plugin_libraries = 'pgoutput, test_decoding, edge_crdt'
edge_crdt.log_conflicts = on
});
	$node->start;
	$node->safe_psql('postgres', qq{
CREATE EXTENSION edge_crdt;
SELECT edge_crdt.create_node('$name', NULL, node_id => $id);
CREATE TABLE item (id int PRIMARY KEY, name text, qty int, hits edge_crdt.gcounter);
SELECT edge_crdt.replicate_table('item');
});
	return $node;
}

sub dsn { my $n = shift; return 'host=' . $n->host . ' port=' . $n->port . ' dbname=postgres'; }

my $a = new_node('node_a', 101);
my $b = new_node('node_b', 202);

is($a->safe_psql('postgres', "SELECT edge_crdt.add_peer('node_b', '" . dsn($b) . "')"),
	'202', 'add_peer returns the peer node id');
$b->safe_psql('postgres', "SELECT edge_crdt.add_peer('node_a', '" . dsn($a) . "')");

$a->poll_query_until('postgres',
	"SELECT state = 'streaming' FROM edge_crdt.peers WHERE peer_name = 'node_b'")
  or die 'worker on a never streamed';
$b->poll_query_until('postgres',
	"SELECT state = 'streaming' FROM edge_crdt.peers WHERE peer_name = 'node_a'")
  or die 'worker on b never streamed';

sub sync_both
{
	for my $n ($a, $b)
	{
		is($n->safe_psql('postgres', "SELECT edge_crdt.wait_for_sync('30s')"),
			't', 'wait_for_sync on ' . $n->name);
	}
}

sub dump_item
{
	my $n = shift;
	return $n->safe_psql('postgres',
		'SELECT id, name, qty, edge_crdt.value(hits) FROM item ORDER BY id');
}

# inserts both ways
$a->safe_psql('postgres', "INSERT INTO item VALUES (1, 'one', 1, 0), (2, 'two', 2, 0)");
$b->safe_psql('postgres', "INSERT INTO item VALUES (3, 'three', 3, 0)");
sync_both();
is(dump_item($b), dump_item($a), 'inserts converge');
is($a->safe_psql('postgres', 'SELECT count(*) FROM item'), '3', 'all rows on a');

# concurrent updates of different columns of one row both survive
$a->safe_psql('postgres', "SELECT edge_crdt.pause_peer('node_b')");
$b->safe_psql('postgres', "SELECT edge_crdt.pause_peer('node_a')");
$a->safe_psql('postgres', "UPDATE item SET name = 'uno' WHERE id = 1");
$b->safe_psql('postgres', "UPDATE item SET qty = 100 WHERE id = 1");
# concurrent counter increments sum
$a->safe_psql('postgres', "UPDATE item SET hits = hits OPERATOR(edge_crdt.+) 5 WHERE id = 2") for 1 .. 3;
$b->safe_psql('postgres', "UPDATE item SET hits = hits OPERATOR(edge_crdt.+) 7 WHERE id = 2") for 1 .. 2;
# the same column on both: the later version wins everywhere
$a->safe_psql('postgres', 'UPDATE item SET qty = 20 WHERE id = 2');
$b->safe_psql('postgres', 'UPDATE item SET qty = 21 WHERE id = 2');
# delete on a vs update on b: the delete wins
$a->safe_psql('postgres', 'DELETE FROM item WHERE id = 3');
$b->safe_psql('postgres', "UPDATE item SET name = 'late' WHERE id = 3");
$a->safe_psql('postgres', "SELECT edge_crdt.resume_peer('node_b')");
$b->safe_psql('postgres', "SELECT edge_crdt.resume_peer('node_a')");
sync_both();
is(dump_item($a), "1|uno|100|0\n2|two|21|29", 'merged state on a');
is(dump_item($b), dump_item($a), 'b equals a');

# the resolutions are visible with edge_crdt.log_conflicts
is($a->safe_psql('postgres',
	"SELECT string_agg(DISTINCT kind || ':' || key || ':' || coalesce(column_name, '-'), ' ' ORDER BY kind || ':' || key || ':' || coalesce(column_name, '-')) FROM edge_crdt.conflicts"),
	'crdt_merged:(2):hits incarnation_lost:(3):-',
	'a logged the counter merge and the update of a row it deleted');
is($b->safe_psql('postgres',
	"SELECT string_agg(DISTINCT kind || ':' || key || ':' || coalesce(column_name, '-'), ' ') FROM edge_crdt.conflicts"),
	'crdt_merged:(2):hits local_won:(2):qty', 'b logged the counter merge and the older write that lost');
cmp_ok($a->safe_psql('postgres', "SELECT conflicts FROM edge_crdt.peers"), '>=', 2,
	'the peers view counts them');

# re-insert after delete starts a new incarnation everywhere
$b->safe_psql('postgres', "INSERT INTO item VALUES (3, 'reborn', 0, 0)");
sync_both();
is($a->safe_psql('postgres', "SELECT name, edge_crdt.row_cl(_edge_crdt) FROM item WHERE id = 3"),
	'reborn|3', 're-insert after delete replicated with causal length 3');

# the peers view shows applied work
cmp_ok($a->safe_psql('postgres', "SELECT changes_applied FROM edge_crdt.peers"), '>', 0,
	'changes_applied counts');

# A change b cannot apply (a unique constraint only b has) is quarantined
# with its whole transaction; later changes keep flowing; after the cause is
# fixed, a retry applies it.
$b->safe_psql('postgres', 'CREATE UNIQUE INDEX item_name_b ON item (name)');
$a->safe_psql('postgres', "INSERT INTO item VALUES (10, 'uno', 0, 0), (11, 'eleven', 0, 0)");
$a->safe_psql('postgres', "INSERT INTO item VALUES (12, 'twelve', 0, 0)");
sync_both();
is($b->safe_psql('postgres', 'SELECT count(*) FROM item WHERE id IN (10, 11)'), '0',
	'the failed transaction is not half-applied');
is($b->safe_psql('postgres', 'SELECT name FROM item WHERE id = 12'), 'twelve',
	'a later transaction was applied');
is($b->safe_psql('postgres',
	"SELECT sqlstate || ' ' || cardinality(messages) FROM edge_crdt.apply_errors"),
	'23505 2', 'quarantined with its SQLSTATE and both row messages');
like($b->safe_psql('postgres', "SELECT last_error FROM edge_crdt.peers WHERE peer_name = 'node_a'"),
	qr/quarantined in edge_crdt.apply_errors/, 'the peers view says so');
is($b->safe_psql('postgres', 'SELECT edge_crdt.retry_apply_error(id) FROM edge_crdt.apply_errors'),
	'f', 'retry fails while the cause remains');
is($b->safe_psql('postgres', 'SELECT retries FROM edge_crdt.apply_errors'), '1', 'retry counted');
$b->safe_psql('postgres', 'DROP INDEX item_name_b');
is($b->safe_psql('postgres', 'SELECT edge_crdt.retry_apply_error(id) FROM edge_crdt.apply_errors'),
	't', 'retry applies once the cause is gone');
is(dump_item($b), dump_item($a), 'and the nodes are identical again');

# a clone with our node id is refused
my $c = new_node('node_c', 101);
my ($ret, $out, $err) = $a->psql('postgres',
	"SELECT edge_crdt.add_peer('node_c', '" . dsn($c) . "')");
isnt($ret, 0, 'add_peer of a node with our id fails');
like($err, qr/has the same node id 101 as this node/, 'and says why');

# remove_peer drops our slot on the peer
$a->safe_psql('postgres', "SELECT edge_crdt.remove_peer('node_b')");
is($b->safe_psql('postgres', "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'edge_crdt_101'"),
	'0', 'remove_peer dropped the slot on the peer');
is($a->safe_psql('postgres', "SELECT count(*) FROM pg_replication_origin WHERE roname = 'edge_crdt_202'"),
	'0', 'and the local origin');

done_testing();
