# Crashes mid-stream: every increment is applied exactly once.
#
# k1 writes gcounter increments, one per transaction, while k2 receives them;
# k2's apply worker is killed alone, then k2's postmaster is killed with
# SIGKILL and restarted.  Then k3 writes while it is itself stopped in
# immediate mode (the origin side crashes) and restarted.  Counter totals must
# be exact everywhere, and an ALWAYS trigger on k2 (it fires for applied
# changes) must have seen each origin transaction once: no transaction is
# lost or applied twice across the crashes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use EdgeCrdt::Mesh qw(:all);

my @n = (new_node('k1', 501));
require_replicator($n[0]);
push @n, new_node('k2', 502), new_node('k3', 503);
my ($k1, $k2, $k3) = @n;

create_replicated(\@n, 'kc', 'CREATE TABLE kc (id int PRIMARY KEY, c edge_crdt.gcounter)');
full_mesh(@n);

# The audit trail on k2: one row per applied change of kc, with the k1 and
# k3 entries of the counter.  Not replicated.
$k2->safe_psql('postgres', <<'SQL');
CREATE TABLE kc_audit (seq bigserial PRIMARY KEY, e1 bigint, e3 bigint);
CREATE FUNCTION kc_audit_fn() RETURNS trigger LANGUAGE plpgsql
SET search_path = public, pg_catalog AS $$
BEGIN
	INSERT INTO public.kc_audit (e1, e3) VALUES (
		coalesce((regexp_match(NEW.c::text, '[{,]501:(\d+)'))[1]::bigint, 0),
		coalesce((regexp_match(NEW.c::text, '[{,]503:(\d+)'))[1]::bigint, 0));
	RETURN NULL;
END $$;
CREATE TRIGGER kc_audit AFTER INSERT OR UPDATE ON kc
	FOR EACH ROW EXECUTE FUNCTION kc_audit_fn();
ALTER TABLE kc ENABLE ALWAYS TRIGGER kc_audit;
SQL

$k1->safe_psql('postgres', 'INSERT INTO kc VALUES (1, 0)');
ok(wait_converged(@n), 'counter row everywhere');
is($k2->safe_psql('postgres', 'SELECT count(*) FROM kc_audit'), '1',
	'the ALWAYS trigger sees applied changes');
$k2->safe_psql('postgres', 'TRUNCATE kc_audit');

# $count increments of row 1, one transaction each, paced so that the stream
# lasts a few seconds.
sub start_writer
{
	my ($node, $count) = @_;
	my $script = "SET search_path = public, edge_crdt;\n"
	  . ("UPDATE kc SET c = c + 1 WHERE id = 1;\nSELECT pg_sleep(0.008);\n" x $count);
	# A file, not a pipe: IPC::Run feeds stdin only while we pump it.
	my $file = "$PostgreSQL::Test::Utils::tmp_check/writer_" . $node->name . "_$count.sql";
	PostgreSQL::Test::Utils::append_to_file($file, $script) unless -e $file;
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-f', $file ],
		'>', \$out, '2>', \$err);
	return { h => $h, err => \$err };
}

sub value_on
{
	my ($node) = @_;
	return $node->safe_psql('postgres', 'SELECT c::bigint FROM kc WHERE id = 1');
}

# --- phase 1: k1 writes 400 increments; k2 loses its apply worker, then
# its postmaster
my $w = start_writer($k1, 400);
wait_for('k2 to apply 40 increments', sub { value_on($k2) >= 40 }) or die 'timed out';
my $pid = $k2->safe_psql('postgres', "SELECT pid FROM edge_crdt.peers WHERE peer_name = 'k1'");
ok($pid =~ /^\d+$/, "k2's worker for k1 runs (pid $pid)");
ok($k2->safe_psql('postgres', "SELECT pg_terminate_backend($pid)") eq 't',
	'apply worker killed alone');
wait_for('k2 to apply 120 increments', sub { value_on($k2) >= 120 }) or die 'timed out';
my $before = value_on($k2);
$k2->kill9;
note "k2 killed with SIGKILL after applying $before increments";
usleep(300_000);
ok(restart_after_kill($k2), 'k2 restarts after SIGKILL');
ok($w->{h}->finish, 'k1 committed all 400 increments') or diag(${ $w->{err} });
is(${ $w->{err} }, '', 'writer saw no error');

ok(wait_converged(@n), 'converged after k2 crashed');
is(value_on($_), 400, 'counter exactly 400 on ' . $_->name) foreach @n;
my ($cnt, $distinct, $max) = split /\|/,
  $k2->safe_psql('postgres', 'SELECT count(*), count(DISTINCT e1), max(e1) FROM kc_audit');
is($max, 400, 'k2 applied up to k1\'s last increment');
is($distinct, 400, 'k2 applied each of k1\'s 400 transactions');
is($cnt, 400, 'k2 applied no transaction twice');
$k2->safe_psql('postgres', 'TRUNCATE kc_audit');

# --- phase 2: the origin k3 crashes (immediate stop) while writing
$w = start_writer($k3, 300);
wait_for('k2 to see 60 of k3\'s increments', sub { value_on($k2) >= 400 + 60 }) or die 'timed out';
$k3->stop('immediate');
ok(!$w->{h}->finish, 'k3\'s writer was cut off by the crash');
$k3->start;
my $n3 = $k3->safe_psql('postgres',
	"SELECT coalesce((regexp_match(c::text, '[{,]503:(\\d+)'))[1]::bigint, 0) FROM kc WHERE id = 1");
note "k3 committed $n3 increments before the crash";
cmp_ok($n3, '>=', 60, 'k3 committed at least what k2 had seen');
$w = start_writer($k3, 50);    # and writes on after the restart
ok($w->{h}->finish, 'k3 writes again after restart') or diag(${ $w->{err} });

ok(wait_converged(@n), 'converged after k3 crashed');
is(value_on($_), 400 + $n3 + 50, 'counter exact on ' . $_->name) foreach @n;
($cnt, $distinct, $max) = split /\|/,
  $k2->safe_psql('postgres', 'SELECT count(*), count(DISTINCT e3), max(e3) FROM kc_audit');
is($max, $n3 + 50, 'k2 applied up to k3\'s last increment');
is($distinct, $n3 + 50, "k2 applied each of k3's transactions");
is($cnt, $n3 + 50, 'k2 applied none of k3\'s transactions twice');

done_testing();
