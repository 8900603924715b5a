# WAL retention and resync (issue 5): a peer that stays down must not fill
# the disk.  With max_slot_wal_keep_size set, its slot is invalidated; the
# node that kept the slot shows it in edge_crdt.peers, the peer's worker
# stops with an error naming the remedy, and edge_crdt.resync_peer rebuilds
# the peer's copy (deletes included) and streaming resumes, identical on
# both sides.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use EdgeCrdt::Mesh qw(:all);

my $ra = new_node('ra', 2601);
require_replicator($ra);
my $rb = new_node('rb', 2602);
create_replicated([ $ra, $rb ], 'rt',
	'CREATE TABLE rt (id int PRIMARY KEY, v text, c edge_crdt.gcounter)');
full_mesh($ra, $rb);
$ra->safe_psql('postgres', "INSERT INTO rt SELECT g, 'first', '{}' FROM generate_series(1, 100) g");
ok(wait_converged($ra, $rb), 'two nodes converge');

my $retention = "SELECT wal_retention FROM edge_crdt.peers WHERE peer_name = 'rb'";
is($ra->safe_psql('postgres', $retention), 'warning',
	'unbounded retention (max_slot_wal_keep_size = -1) is a warning');
$ra->append_conf('postgresql.conf', "max_slot_wal_keep_size = 1MB\n");
$ra->reload;
ok(wait_for('retention ok', sub { $ra->safe_psql('postgres', $retention) eq 'ok' }),
	'with a bound and a peer keeping up, retention is ok');

# rb stops streaming from ra and misses updates, deletes, inserts and
# counter increments; its own writes still reach ra.
pause_peers($rb, 'ra');
$ra->safe_psql('postgres', q{
	SET search_path = public, edge_crdt;
	UPDATE rt SET v = 'missed' WHERE id <= 10;
	DELETE FROM rt WHERE id BETWEEN 11 AND 20;
	INSERT INTO rt SELECT g, 'new on ra', '{}' FROM generate_series(101, 150) g;
	UPDATE rt SET c = c + 5 WHERE id BETWEEN 21 AND 25;});
$rb->safe_psql('postgres', q{
	SET search_path = public, edge_crdt;
	UPDATE rt SET v = 'rb side' WHERE id BETWEEN 30 AND 40;
	UPDATE rt SET c = c + 2 WHERE id BETWEEN 21 AND 22;});

# Move ra's WAL on by whole segments until a checkpoint drops the slot.
$ra->safe_psql('postgres', 'CREATE TABLE filler (x int)');
ok(wait_for('the slot of rb on ra to be invalidated',
		sub {
			$ra->safe_psql('postgres',
				'INSERT INTO filler VALUES (1); SELECT pg_switch_wal(); CHECKPOINT;');
			$ra->safe_psql('postgres', $retention) eq 'lost';
		}),
	'ra reports the slot of rb as lost');
like($ra->safe_psql('postgres',
		"SELECT warning FROM edge_crdt.wal_retention WHERE peer_name = 'rb'"),
	qr/resync_peer/, 'and says what the peer must do');

resume_peers($rb, 'ra');
my $error = "SELECT coalesce(last_error, '') FROM edge_crdt.peers WHERE peer_name = 'ra'";
ok(wait_for('rb to report the lost slot',
		sub { $rb->safe_psql('postgres', $error) =~ /invalidated/ }),
	"rb's worker stops on the invalidated slot");
like($rb->safe_psql('postgres', $error), qr/invalidated/, 'the error says what happened');

$rb->safe_psql('postgres', "SELECT edge_crdt.resync_peer('ra')");
ok(wait_for('the copy',
		sub {
			$rb->safe_psql('postgres',
				"SELECT string_agg(state, ',') FROM edge_crdt.sync_status WHERE peer_name = 'ra'") eq 'done';
		}),
	'resync_peer copied the table again');
$ra->safe_psql('postgres', "UPDATE rt SET v = 'after resync' WHERE id = 1");
ok(wait_converged($ra, $rb), 'the two converge again');
assert_identical([ $ra, $rb ], 'rt', 'rt is identical (values and metadata)');
is($rb->safe_psql('postgres', "SELECT count(*) FROM rt WHERE id BETWEEN 11 AND 20"), '0',
	'deletes made while the slot was lost reached rb');
is($rb->safe_psql('postgres',
		"SELECT count(*) FILTER (WHERE v = 'missed') || '/' || count(*) FILTER (WHERE v = 'rb side') FROM rt"),
	'9/11', "ra's missed updates and rb's own both survive");
is($rb->safe_psql('postgres', "SELECT sum(c::bigint) FROM rt"), '29',
	'counters merged exactly (5 x 5 + 2 x 2)');
is($rb->safe_psql('postgres', "SELECT v FROM rt WHERE id = 1"), 'after resync',
	'and rb streams from ra again');
is($ra->safe_psql('postgres', $retention), 'ok', "ra keeps a healthy slot for rb again");

done_testing();
