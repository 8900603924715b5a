# A remote change that cannot be applied (a unique constraint other than
# the primary key) is quarantined in edge_crdt.apply_errors with its content,
# later changes keep flowing, and retry / discard bring the nodes together.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('q1', 701));
require_replicator($n[0]);
push @n, new_node('q2', 702);
my ($q1, $q2) = @n;

create_replicated(\@n, 'qu',
	'CREATE TABLE qu (id int PRIMARY KEY, email text UNIQUE, v text)');
create_replicated(\@n, 'qok', 'CREATE TABLE qok (id int PRIMARY KEY)');
full_mesh(@n);

# Let the initial copies finish first: a copy that a pause interrupts starts
# again in a fresh snapshot, which may then hold the conflicting row that the
# stream brings as well, and quarantine it twice.
wait_streaming(@n);

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

# The same e-mail address registered on both sides while they cannot see
# each other: each insert is fine locally, neither can be applied remotely.
pause_all(@n);
sql($q1, "INSERT INTO qu VALUES (1, 'ann\@example.com', 'q1')");
sql($q2, "INSERT INTO qu VALUES (2, 'ann\@example.com', 'q2')");
resume_all(@n);

foreach my $node (@n)
{
	ok($node->poll_query_until('postgres', 'SELECT count(*) = 1 FROM edge_crdt.apply_errors'),
		'conflicting insert quarantined on ' . $node->name);
}
is(sql($q2, "SELECT peer_name || ' ' || origin_node || ' ' || sqlstate || ' ' || (cardinality(messages) > 0) FROM edge_crdt.apply_errors"),
	'q1 701 23505 true', 'q2 records peer, origin, SQLSTATE and the messages');
like(sql($q2, 'SELECT error FROM edge_crdt.apply_errors'), qr/unique|duplicate/,
	'and the error');

# Later changes are not blocked, in either direction.
sql($q1, "INSERT INTO qu VALUES (3, 'bob\@example.com', 'later')");
sql($q2, "UPDATE qu SET v = 'q2 later' WHERE id = 2");
ok(wait_converged(@n, { tables => [] }), 'sync completes with a change quarantined');
is(sql($q2, 'SELECT v FROM qu WHERE id = 3'), 'later', 'q2 got q1\'s later insert');
is(sql($q1, 'SELECT count(*) FROM qu WHERE id = 2'), '0', 'q1 still lacks row 2');
# q2's update of row 2 ships the full row, which still clashes on q1
ok($q1->poll_query_until('postgres', 'SELECT count(*) = 2 FROM edge_crdt.apply_errors'),
	'q1 quarantines q2\'s update of row 2 as well');
is(sql($q2, "SELECT state FROM edge_crdt.peers"), 'streaming', 'q2 keeps streaming from q1');

# Fix the cause on q2 (row 2 gets another address); the fix travels to q1
# as a self-sufficient change (full row) and applies there.
sql($q2, "UPDATE qu SET email = 'ann2\@example.com' WHERE id = 2");
ok($q1->poll_query_until('postgres', "SELECT email = 'ann2\@example.com' FROM qu WHERE id = 2"),
	'q1 gets row 2 from the later, full change');

# q2 retries q1's quarantined insert: it applies now.
my $id = sql($q2, 'SELECT id FROM edge_crdt.apply_errors');
is(sql($q2, "SELECT edge_crdt.retry_apply_error($id)"), 't', 'retry on q2 applies');
is(sql($q2, 'SELECT count(*) FROM edge_crdt.apply_errors'), '0', 'and leaves the queue');
# q1 discards the stale changes of row 2 (the later change superseded them).
foreach $id (split /\n/, sql($q1, 'SELECT id FROM edge_crdt.apply_errors ORDER BY id'))
{
	sql($q1, "SELECT edge_crdt.discard_apply_error($id)");
}
is(sql($q1, 'SELECT count(*) FROM edge_crdt.apply_errors'), '0', 'discard on q1 empties the queue');

ok(wait_converged(@n), 'converged after retry and discard');
assert_identical(\@n, 'qu', 'both nodes have the same rows');
is(sql($q1, "SELECT string_agg(id || '=' || email, ',' ORDER BY id) FROM qu"),
	'1=ann@example.com,2=ann2@example.com,3=bob@example.com', 'the expected rows');

# A retry that still fails stays quarantined, with the count of retries.
pause_all(@n);
sql($q1, "INSERT INTO qu VALUES (4, 'cy\@example.com', 'q1')");
sql($q2, "INSERT INTO qu VALUES (5, 'cy\@example.com', 'q2')");
resume_all(@n);
ok($q2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM edge_crdt.apply_errors'),
	'second conflict quarantined on q2');
$id = sql($q2, 'SELECT id FROM edge_crdt.apply_errors');
is(sql($q2, "SELECT edge_crdt.retry_apply_error($id)"), 'f', 'retry before a fix fails');
is(sql($q2, "SELECT retries FROM edge_crdt.apply_errors WHERE id = $id"), '1',
	'and is counted');

$id = sql($q2, 'SELECT id FROM edge_crdt.apply_errors');
sql($q2, "SELECT edge_crdt.discard_apply_error($id)");
sql($q1, "SELECT edge_crdt.discard_apply_error(id) FROM edge_crdt.apply_errors");

# Schema drift: a column q2 does not have yet, and a table q2 does not
# have yet (its announcement by replicate_table and its row are both
# quarantined).  Applied by a retry once q2 catches up.
sql($q1, 'ALTER TABLE qu ADD COLUMN extra text');
sql($q1, "INSERT INTO qu (id, email, v, extra) VALUES (6, 'dee\@example.com', 'q1', 'new column')");
sql($q1, "CREATE TABLE qnew (id int PRIMARY KEY, v text); SELECT edge_crdt.replicate_table('qnew')");
sql($q1, "INSERT INTO qnew VALUES (1, 'new table')");
ok($q2->poll_query_until('postgres', 'SELECT count(*) = 3 FROM edge_crdt.apply_errors'),
	'changes for a missing column and a missing table are quarantined');
like(sql($q2, 'SELECT string_agg(error, E\'\n\' ORDER BY id) FROM edge_crdt.apply_errors'),
	qr/column "extra".*\n.*table public.qnew is replicated on node \d+ but does not exist here.*\n.*"public.qnew" does not exist/s,
	'each with its reason');
note sql($q2, 'SELECT string_agg(error, E\'\n\' ORDER BY id) FROM edge_crdt.apply_errors');
sql($q1, 'INSERT INTO qok VALUES (1)');
ok($q2->poll_query_until('postgres', 'SELECT count(*) = 1 FROM qok'),
	'later changes of other tables still flow');
sql($q2, 'ALTER TABLE qu ADD COLUMN extra text');
sql($q2, "CREATE TABLE qnew (id int PRIMARY KEY, v text); SELECT edge_crdt.replicate_table('qnew')");
is(sql($q2, 'SELECT string_agg(edge_crdt.retry_apply_error(id)::text, \',\' ORDER BY id) FROM edge_crdt.apply_errors'),
	'true,true,true', 'the retries apply once the schema matches');
is(sql($q2, "SELECT extra FROM qu WHERE id = 6"), 'new column', 'the new column\'s value arrived');
is(sql($q2, "SELECT v FROM qnew WHERE id = 1"), 'new table', 'the new table\'s row arrived');

# The initial copy of a table q1 replicates later: q2's copy has a CHECK
# constraint one of q1's rows violates.  The bulk load fails on it, falls
# back to merging row by row, and only that row is quarantined.
sql($q2, 'DELETE FROM edge_crdt.apply_errors');
sql($q1, 'CREATE TABLE qcheck (id int PRIMARY KEY, v int)');
sql($q2, 'CREATE TABLE qcheck (id int PRIMARY KEY, v int CHECK (v >= 0))');
sql($q1, 'INSERT INTO qcheck SELECT g, CASE WHEN g = 7 THEN -1 ELSE g END FROM generate_series(1, 20) g');
sql($q1, "SELECT edge_crdt.replicate_table('qcheck')");
ok($q2->poll_query_until('postgres',
		"SELECT state = 'done' FROM edge_crdt.sync_status WHERE table_name = 'public.qcheck'"),
	'q2 copies the table q1 announced');
is(sql($q2, 'SELECT count(*) || \' \' || sum(v) FROM qcheck'), '19 203',
	'every row but the one violating the CHECK constraint');
is(sql($q2, "SELECT sqlstate || ' ' || commit_lsn FROM edge_crdt.apply_errors"), '23514 0/0',
	'that row is quarantined, marked as part of the copy');

done_testing();
