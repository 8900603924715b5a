# The WAN proxy of test/tools: latency is really added per direction, a cut
# link fails queries (open connections and new ones), a restored link works.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);
use EdgeCrdt::Mesh;

my $bin = EdgeCrdt::Mesh::Proxy::build();
ok(-x $bin, 'wanproxy builds without warnings');

my ($out, $err);
IPC::Run::run([ $bin, '--help' ], '>', \$out, '2>', \$err);
like($out, qr/^Usage: wanproxy --listen PORT --target PORT --control PORT/,
	'--help prints the usage line');
ok(!IPC::Run::run([ $bin, '--listen', '1' ], '>', \$out, '2>', \$err),
	'missing options are refused');

my $node = PostgreSQL::Test::Cluster->new('proxied');
$node->init;
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'\n");
$node->start;

my $proxy = EdgeCrdt::Mesh::Proxy->new(
	target_port => $node->port,
	latency_up => 40,
	latency_down => 40);

# psql's \timing measures the client-side round trip of each query, so the
# connection handshake (also delayed) is left out.
sub query_times
{
	my ($port, $n) = @_;
	my ($o, $e);
	my @cmd = (
		'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port,
		'-d', 'postgres', '-c', '\timing on',
		map { ('-c', 'SELECT 1') } 1 .. $n);
	my $ok = IPC::Run::run(\@cmd, '>', \$o, '2>', \$e);
	return (undef, $e) unless $ok;
	my @t = $o =~ /^Time: ([0-9.]+) ms/mg;
	return (\@t, $e);
}

sub min { my $m = shift; foreach (@_) { $m = $_ if $_ < $m } return $m; }

my ($direct) = query_times($node->port, 3);
ok($direct && @$direct == 3, 'direct queries ran');
cmp_ok(min(@$direct), '<', 40, 'direct round trip is fast: ' . min(@$direct) . ' ms');

my ($t) = query_times($proxy->port, 3);
ok($t && @$t == 3, 'queries through the proxy ran');
cmp_ok(min(@$t), '>', 80, 'round trip through the proxy > 2 x 40 ms: ' . min(@$t) . ' ms');
cmp_ok(min(@$t), '<', 80 + 500, 'and not absurdly slow');

# Asymmetric latency with jitter: each direction stays >= latency - jitter.
is($proxy->cmd('latency 10 70 5'), 'ok', 'latency command accepted');
($t) = query_times($proxy->port, 3);
cmp_ok(min(@$t), '>', 70, 'new latency applies: ' . min(@$t) . ' ms > (10-5)+(70-5)');
like($proxy->cmd('status'),
	qr/^state=up conns=\d+ latency_up=10 latency_down=70 jitter=5 accepted=\d+/,
	'status line');
like($proxy->cmd('latency 1 2'), qr/^error:/, 'malformed command answered with an error');
like($proxy->cmd('latency -1 2 3'), qr/^error:/, 'negative latency refused');
is($proxy->cmd('latency 0 0 0'), 'ok', 'latency back to zero');

# A long query in flight when the link is cut fails.
my ($lo, $le) = ('', '');
my $h = IPC::Run::start(
	[
		'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $proxy->port,
		'-d', 'postgres', '-c', 'SELECT pg_sleep(5)'
	],
	'>', \$lo, '2>', \$le);
# wait until the proxy carries the connection
my $deadline = time() + 10;
usleep(50_000) until $proxy->cmd('status') =~ /conns=[1-9]/ || time() > $deadline;
my $t0 = time();
is($proxy->cmd('cut'), 'ok', 'cut accepted');
$h->finish;
isnt($h->result, 0, 'open connection fails when the link is cut');
like($le, qr/server closed the connection unexpectedly|connection to server was lost|terminat/,
	'psql reports the lost connection');
cmp_ok(time() - $t0, '<', 4, 'and fails at once, not when the query ends');
like($proxy->cmd('status'), qr/^state=cut conns=0 /, 'status says cut');

my ($r) = query_times($proxy->port, 1);
ok(!defined $r, 'new connections fail while cut');

is($proxy->cmd('restore'), 'ok', 'restore accepted');
($r) = query_times($proxy->port, 1);
ok($r && @$r == 1, 'queries work again after restore');
like($proxy->cmd('status'), qr/^state=up /, 'status says up');

# A stall is a silent partition: an open connection hangs (no error) and
# carries on when the link is restored; a new connection cannot complete.
my ($so, $se) = ('', '');
$h = IPC::Run::start(
	[
		'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $proxy->port,
		'-d', 'postgres', '-c', 'SELECT pg_sleep(0.5)', '-c', 'SELECT 42'
	],
	'>', \$so, '2>', \$se);
$deadline = time() + 10;
usleep(20_000) until $proxy->cmd('status') =~ /conns=[1-9]/ || time() > $deadline;
is($proxy->cmd('stall'), 'ok', 'stall accepted');
$t0 = time();
like($proxy->cmd('status'), qr/^state=stalled conns=1 /, 'status says stalled, connection kept');
{
	local $ENV{PGCONNECT_TIMEOUT} = 2;
	my ($r2, $e2) = query_times($proxy->port, 1);
	ok(!defined $r2, 'a new connection times out while stalled');
	like($e2, qr/timeout expired/, 'with a connect timeout, not a refusal');
}
$h->pump_nb;
is($so, '', 'the open session got no answer while stalled');
is($proxy->cmd('restore'), 'ok', 'restore after stall');
ok($h->finish, 'the open session completes after restore') or diag($se);
like($so, qr/^\n?42$/m, 'and gets its answer');
cmp_ok(time() - $t0, '>=', 2, 'which took as long as the stall');

# Bulk data through the proxy with jitter arrives complete and in order.
is($proxy->cmd('latency 5 5 4'), 'ok', 'jitter on');
my ($bo, $be);
IPC::Run::run(
	[
		'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $proxy->port,
		'-d', 'postgres', '-c',
		"SELECT md5(string_agg(g::text, ',' ORDER BY g)), count(*) FROM (SELECT generate_series(1, 200000) g) s"
	],
	'>', \$bo, '2>', \$be);
my $expect = $node->safe_psql('postgres',
	"SELECT md5(string_agg(g::text, ',' ORDER BY g)), count(*) FROM (SELECT generate_series(1, 200000) g) s");
is($bo, "$expect\n", 'aggregate through jittery proxy is right');
my ($co, $ce);
IPC::Run::run(
	[
		'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $proxy->port,
		'-d', 'postgres', '-c', "SELECT g, repeat('x', g % 100) FROM generate_series(1, 50000) g"
	],
	'>', \$co, '2>', \$ce);
my @lines = split /\n/, $co;
my $inorder = @lines == 50000;
for my $i (0 .. $#lines)
{
	if ($lines[$i] ne ($i + 1) . '|' . ('x' x (($i + 1) % 100)))
	{
		$inorder = 0;
		last;
	}
}
ok($inorder, '50000 rows (about 2.5 MB) arrive complete and in order');

$proxy->stop;
done_testing();
