# A local insert of a key that lands between the apply's lookup of that key
# (not found) and its insert makes the apply's insert fail with a unique
# violation.  The apply then applies the remote transaction once more, finds
# the local row and merges (replicator/peer.c, peer_reapply): nothing is
# quarantined and both nodes converge to the same row.
#
# The window is held open with a trigger that only the apply fires (ENABLE
# REPLICA): it runs after the lookup, inside the insert, and waits for an
# advisory lock this test holds while it commits the local row.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('k1', 291));
require_replicator($n[0]);
push @n, new_node('k2', 292);
my ($k1, $k2) = @n;

sub sql { my ($node, $query) = @_; return $node->safe_psql('postgres', $query); }

create_replicated(\@n, 'kr', 'CREATE TABLE kr (id int PRIMARY KEY, v text, w text)');
full_mesh(@n);
wait_streaming(@n);

# Only the apply fires it (replica mode); the trigger runs with an empty
# search_path, hence the qualified names.
sql($k1, q{
CREATE FUNCTION public.kr_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_catalog.pg_advisory_xact_lock(4242);
	RETURN NEW;
END $$;
CREATE TRIGGER kr_hold BEFORE INSERT ON kr FOR EACH ROW EXECUTE FUNCTION public.kr_hold();
ALTER TABLE kr ENABLE REPLICA TRIGGER kr_hold;
});

my $holder = $k1->background_psql('postgres');
$holder->query_safe('SELECT pg_advisory_lock(4242)');

# k2 inserts key 1 (and key 2, which nobody else writes); k1's apply looks
# key 1 up, finds nothing and stops in the trigger.
sql($k2, "INSERT INTO kr VALUES (1, 'k2 v', 'k2 w'), (2, 'k2 only', NULL)");
ok($k1->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted"),
	'k1 applies the insert of key 1 and waits in the trigger, after its lookup');

# Meanwhile a local transaction on k1 inserts key 1 and commits (replica
# triggers do not fire for it); the apply's row is not in yet.
sql($k1, "INSERT INTO kr (id, v) VALUES (1, 'k1 v')");
is(sql($k1, "SELECT v FROM kr WHERE id = 1"), 'k1 v', 'the local row is committed first');

# The apply goes on: its insert of key 1 now violates the primary key.
$holder->query_safe('SELECT pg_advisory_unlock(4242)');
$holder->quit;

ok(wait_converged(@n), 'the nodes converge');
is(sql($k1, 'SELECT count(*) FROM edge_crdt.apply_errors'), '0',
	'nothing is quarantined on k1: the remote transaction was applied again and merged');
is(sql($k2, 'SELECT count(*) FROM edge_crdt.apply_errors'), '0', 'nor on k2');
assert_identical(\@n, 'kr', 'both nodes have the same rows');
# Column-level last writer wins: k1's insert came later and wrote every
# column of key 1, w included (NULL).
is(sql($k2, "SELECT string_agg(id || ':' || v || ':' || coalesce(w, '-'), ',' ORDER BY id) FROM kr"),
	'1:k1 v:-,2:k2 only:-',
	'key 1 holds the later local insert (every column), key 2 came from k2 in the same transaction');

done_testing();
