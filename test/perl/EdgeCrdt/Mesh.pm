# EdgeCrdt::Mesh -- build and check multi-node edge_crdt meshes in TAP tests.
#
# Helpers on top of PostgreSQL::Test::Cluster: nodes configured for
# edge_crdt, a full mesh of peers, waiting for convergence, deterministic
# table dumps, and the WAN proxy of test/tools (EdgeCrdt::Mesh::Proxy).
#
#	use FindBin;
#	use lib "$FindBin::Bin/../perl";
#	use EdgeCrdt::Mesh qw(:all);
#
#	my @n = map { new_node("n$_", $_) } 1 .. 3;
#	require_replicator($n[0]);        # skip_all until the replicator exists
#	create_replicated(\@n, 't', 'CREATE TABLE t (id int PRIMARY KEY, v text)');
#	full_mesh(@n);
#	...
#	ok(wait_converged(@n), 'converged');
#	assert_identical(\@n, 't', 'same rows everywhere');
#
# IDENTIFICATION
#	  test/perl/EdgeCrdt/Mesh.pm

package EdgeCrdt::Mesh;

use strict;
use warnings;

use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

our @EXPORT_OK = qw(new_node connstr_for full_mesh wait_converged table_rows
  table_dump render_rows assert_identical require_replicator
  create_replicated replicator_available peers_report add_peer_via
  pause_peers resume_peers pause_all resume_all node_id
  restart_after_kill wait_for wait_streaming dump_and_restore);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# Every test database is "postgres"; the extension lives there.
our $DB = 'postgres';

# Seconds wait_converged waits, per node, for wait_for_sync and then for the
# dumps to agree.
our $SYNC_TIMEOUT = 60;

my %node_ids;    # Cluster name -> edge_crdt node id

# A broken replicator should fail a test in a minute, not in the default three
# (poll_query_until and psql waits use this), so that the whole TAP suite
# still finishes; PG_TEST_TIMEOUT_DEFAULT still overrides.
$PostgreSQL::Test::Utils::timeout_default = 60
  unless defined $ENV{PG_TEST_TIMEOUT_DEFAULT};

=pod

=item new_node($name, $node_id)

A started PostgreSQL::Test::Cluster configured for logical decoding and
edge_crdt, listening on its Unix socket and on 127.0.0.1 (so that the WAN
proxy can reach it), with the extension created and the database made node
$node_id named $name.

=cut

sub new_node
{
	my ($name, $node_id, %opts) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init(allows_streaming => 'logical');
	$node->append_conf(
		'postgresql.conf', qq{
shared_preload_libraries = 'edge_crdt'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_worker_processes = 32
max_connections = 40
output_plugin_libraries = 'pgoutput, test_decoding, edge_crdt'
listen_addresses = '127.0.0.1'
log_min_messages = info
});
	$node->append_conf('postgresql.conf', $opts{extra_conf})
	  if defined $opts{extra_conf};
	$node->start;
	$node->safe_psql($DB, 'CREATE EXTENSION edge_crdt');
	$node->safe_psql($DB,
		"SELECT edge_crdt.create_node('$name', NULL, node_id => $node_id)");
	$node_ids{ $node->name } = $node_id;
	return $node;
}

=pod

=item node_id($node)

The edge_crdt node id new_node gave $node.

=cut

sub node_id
{
	my ($node) = @_;
	return $node_ids{ $node->name };
}

=pod

=item connstr_for($node)

A libpq connection string reaching $node's database over its Unix socket.

=cut

sub connstr_for
{
	my ($node) = @_;
	return sprintf("host=%s port=%d dbname=%s", $node->host, $node->port, $DB);
}

=pod

=item replicator_available($node), require_replicator($node)

Whether the replicator's SQL API is installed; require_replicator skips the
whole test file (plan skip_all) when it is not, and only then.

=cut

sub replicator_available
{
	my ($node) = @_;
	return $node->safe_psql($DB,
		"SELECT count(*) FROM pg_proc WHERE proname = 'add_peer' "
		  . "AND pronamespace = 'edge_crdt'::regnamespace") > 0;
}

sub require_replicator
{
	my ($node) = @_;
	plan skip_all => 'replicator not built yet (no edge_crdt.add_peer)'
	  unless replicator_available($node);
	return;
}

=pod

=item create_replicated(\@nodes, $table, $create_sql)

Run $create_sql and edge_crdt.replicate_table($table) on every node.

=cut

sub create_replicated
{
	my ($nodes, $table, $create_sql) = @_;
	foreach my $n (@$nodes)
	{
		$n->safe_psql($DB,
			"$create_sql; SELECT edge_crdt.replicate_table('$table')");
	}
	return;
}

=pod

=item full_mesh(@nodes)

On every node, add every other node as a peer (through its Unix socket).

=cut

sub full_mesh
{
	my (@nodes) = @_;
	foreach my $n (@nodes)
	{
		foreach my $o (@nodes)
		{
			next if $n == $o;
			add_peer_via($n, $o, connstr_for($o));
		}
	}
	return;
}

=pod

=item wait_streaming(@nodes)

One assertion per node of a full mesh: it streams from every other node,
its initial copies done (a test that pauses, stalls or races the apply
wants that settled first).

=cut

sub wait_streaming
{
	my (@nodes) = @_;
	my $peers = @nodes - 1;
	foreach my $n (@nodes)
	{
		ok( $n->poll_query_until(
				$DB,
				"SELECT count(*) = $peers FROM edge_crdt.peers WHERE state = 'streaming'"),
			$n->name . " streams from its $peers peer(s)");
	}
	return;
}

=pod

=item dump_and_restore($node, $from_db, $to_db)

pg_dump $from_db, create $to_db and restore the dump into it with
ON_ERROR_STOP (two assertions); returns the dump's path.

=cut

sub dump_and_restore
{
	my ($node, $from, $to) = @_;
	my $dump = $node->basedir . "/$from.sql";
	command_ok([ 'pg_dump', '-d', $node->connstr($from), '-f', $dump ], "pg_dump $from");
	$node->safe_psql($DB, "CREATE DATABASE $to");
	command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($to),
			'-f', $dump ], "the dump restores into $to without an error");
	return $dump;
}

=pod

=item add_peer_via($node, $peer, $dsn)

On $node, add $peer (by its node name) reached through $dsn.

=cut

sub add_peer_via
{
	my ($node, $peer, $dsn) = @_;
	my $name = $peer->name;
	$dsn =~ s/'/''/g;
	$node->safe_psql($DB, "SELECT edge_crdt.add_peer('$name', '$dsn')");
	return;
}

=pod

=item pause_peers($node, @peer_names), resume_peers($node, @peer_names)

Pause (resume) streaming from the named peers on $node.  A pause takes effect
when the launcher stops the worker, so wait until the peers view shows no
worker process for them (at most 3 s; the replicator promises well under).

=cut

sub pause_peers
{
	my ($node, @peers) = @_;
	return unless @peers;
	my $list = join(', ', map { "'$_'" } @peers);
	$node->safe_psql($DB,
		join('; ', map { "SELECT edge_crdt.pause_peer('$_')" } @peers));
	my $deadline = time() + 3;
	while (time() < $deadline)
	{
		last
		  if $node->safe_psql($DB,
			"SELECT count(*) FROM edge_crdt.peers WHERE peer_name IN ($list) AND pid IS NOT NULL"
		  ) == 0;
		usleep(50_000);
	}
	return;
}

sub resume_peers
{
	my ($node, @peers) = @_;
	return unless @peers;
	$node->safe_psql($DB,
		join('; ', map { "SELECT edge_crdt.resume_peer('$_')" } @peers));
	return;
}

=pod

=item pause_all(@nodes), resume_all(@nodes)

Every node pauses (resumes) every other node: afterwards writes on different
nodes are concurrent until resume_all.

=cut

sub pause_all
{
	my (@nodes) = @_;
	foreach my $n (@nodes)
	{
		pause_peers($n, map { $_->name } grep { $_ != $n } @nodes);
	}
	return;
}

sub resume_all
{
	my (@nodes) = @_;
	foreach my $n (@nodes)
	{
		resume_peers($n, map { $_->name } grep { $_ != $n } @nodes);
	}
	return;
}

=pod

=item peers_report($node)

The node's edge_crdt.peers view as text, for diagnostics.

=cut

sub peers_report
{
	my ($node) = @_;
	my ($ret, $out, $err) =
	  $node->psql($DB, 'SELECT * FROM edge_crdt.peers ORDER BY 1',
		extra_params => [ '-x', '-P', 'format=aligned' ]);
	return $node->name . ":\n" . ($ret == 0 ? $out : $err);
}

=pod

=item table_rows($node, $table)

The user-visible columns (all but _edge_crdt) of $table on $node, as an
array of rows ordered by primary key; every value is its text form or undef
for NULL.  The first element is the array of column names.

=cut

sub table_rows
{
	my ($node, $table) = @_;
	my $cols = $node->safe_psql(
		$DB, qq{
SELECT json_build_object(
	'cols', (SELECT json_agg(attname ORDER BY attnum) FROM pg_attribute
			 WHERE attrelid = '$table'::regclass AND attnum > 0
			   AND NOT attisdropped AND attname <> '_edge_crdt'),
	'pk', (SELECT json_agg(a.attname ORDER BY k.ord)
		   FROM pg_index i
		   CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
		   JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		   WHERE i.indrelid = '$table'::regclass AND i.indisprimary))});
	my $meta = decode_json($cols);
	my $select = join(', ', map { qq{"$_"::text} } @{ $meta->{cols} });
	my $order = join(', ', map { qq{"$_"} } @{ $meta->{pk} });
	my $json = $node->safe_psql($DB,
		"SELECT coalesce(json_agg(json_build_array($select) ORDER BY $order), '[]') FROM $table"
	);
	return [ $meta->{cols}, @{ decode_json($json) } ];
}

=pod

=item render_rows($rows)

Deterministic text of a table_rows result: one line per row.

=cut

sub render_rows
{
	my ($rows) = @_;
	my $json = JSON::PP->new->canonical->allow_nonref;
	my ($cols, @data) = @$rows;
	return join("\n",
		join('|', @$cols),
		map {
			join('|', map { defined($_) ? $json->encode("$_") : 'NULL' } @$_)
		} @data) . "\n";
}

=pod

=item table_dump($node, $table)

Deterministic text of the user-visible columns of $table, ordered by primary
key.

=cut

sub table_dump
{
	my ($node, $table) = @_;
	return render_rows(table_rows($node, $table));
}

sub replicated_tables
{
	my ($node) = @_;
	return split /\n/,
	  $node->safe_psql($DB,
		'SELECT relid::text FROM edge_crdt.replicated_table ORDER BY 1');
}

=pod

=item wait_converged(@nodes [, { tables => [...], timeout => secs }])

On every node, edge_crdt.wait_for_sync must return true; then the dumps of
the replicated tables (or the given ones) must become identical on all
nodes.  Returns 1 on success; on failure reports what differs (and the peers
views) with diag and returns 0.  Emits no test itself.

=cut

sub wait_converged
{
	my @nodes = @_;
	my $opts = ref($nodes[-1]) eq 'HASH' ? pop @nodes : {};
	my $timeout = $opts->{timeout} // $SYNC_TIMEOUT;
	my @tables =
	  $opts->{tables} ? @{ $opts->{tables} } : replicated_tables($nodes[0]);

	foreach my $n (@nodes)
	{
		my $t0 = time();
		my ($ret, $out, $err) = $n->psql($DB,
			"SELECT edge_crdt.wait_for_sync('$timeout s')");
		# slow syncs are worth a look even when they succeed
		note(sprintf("wait_for_sync on %s took %.1f s\n%s", $n->name, time() - $t0,
				join("\n", map { peers_report($_) } @nodes)))
		  if time() - $t0 > 5;
		if ($ret != 0 || $out ne 't')
		{
			diag("wait_for_sync on " . $n->name . " returned '$out' $err");
			diag(peers_report($_)) foreach @nodes;
			return 0;
		}
	}

	# wait_for_sync covers what each node committed; poll in case a peer
	# applies after reporting its position.
	my $deadline = time() + $timeout;
	my %dumps;
	while (1)
	{
		my $same = 1;
		foreach my $t (@tables)
		{
			%dumps = map { $_->name => table_dump($_, $t) } @nodes;
			my $first = $dumps{ $nodes[0]->name };
			foreach my $n (@nodes[ 1 .. $#nodes ])
			{
				if ($dumps{ $n->name } ne $first)
				{
					$same = 0;
					if (time() > $deadline)
					{
						diag("table $t differs between "
							  . $nodes[0]->name . " and " . $n->name . ":\n"
							  . "--- " . $nodes[0]->name . "\n" . $first
							  . "--- " . $n->name . "\n" . $dumps{ $n->name });
						diag(peers_report($_)) foreach @nodes;
						return 0;
					}
					last;
				}
			}
			last unless $same;
		}
		return 1 if $same;
		usleep(100_000);
	}
}

=pod

=item assert_identical(\@nodes, $table, $name)

One test: $table's dump is the same on every node.

=cut

sub assert_identical
{
	my ($nodes, $table, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $first = table_dump($nodes->[0], $table);
	foreach my $n (@$nodes[ 1 .. $#$nodes ])
	{
		my $d = table_dump($n, $table);
		if ($d ne $first)
		{
			return is($d, $first,
				"$name (" . $n->name . " vs " . $nodes->[0]->name . ")");
		}
	}
	return pass($name);
}

=pod

=item wait_for($what, $cond, $timeout)

Call $cond (a sub) every 50 ms until it returns true: true then, false with
a diagnostic naming $what after $timeout seconds (default 60).

=cut

sub wait_for
{
	my ($what, $cond, $timeout) = @_;
	my $deadline = time() + ($timeout // 60);
	until ($cond->())
	{
		if (time() > $deadline)
		{
			diag("timed out waiting for $what");
			return 0;
		}
		usleep(50_000);
	}
	return 1;
}

=pod

=item restart_after_kill($node)

Start a node whose postmaster was killed with SIGKILL ($node->kill9); true
once it runs.  The killed postmaster's children exit when they notice, and
until then PostgreSQL (rightly) refuses to start on the data directory: wait
until nothing is attached to the old interlock segment named in the stale
postmaster.pid.

=cut

sub restart_after_kill
{
	my ($node) = @_;
	my @pidfile = split /\n/, slurp_file($node->data_dir . '/postmaster.pid');
	my (undef, $shmid) = split ' ', ($pidfile[6] // '');
	my $deadline = time() + 30;
	while (defined $shmid && time() < $deadline)
	{
		my ($seg) = grep { (split ' ')[1] eq $shmid } split /\n/, slurp_file('/proc/sysvipc/shm');
		last unless $seg && (split ' ', $seg)[6] > 0;
		usleep(100_000);
	}
	for (1 .. 20)
	{
		return 1 if $node->start(fail_ok => 1);
		# a failed start records the stale pid; forget it before retrying
		$node->{_pid} = undef;
		usleep(250_000);
	}
	return 0;
}

package EdgeCrdt::Mesh::Proxy;

# The WAN proxy of test/tools/wanproxy.c, built once per test run into the
# TAP temp directory and run as a child of the test.

use strict;
use warnings;

use FindBin;
use IO::Socket::INET;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

my $binary;
my @running;

=pod

=item EdgeCrdt::Mesh::Proxy::build()

Compile test/tools/wanproxy.c into the TAP temp dir (once) and return the
binary's path.

=cut

sub build
{
	return $binary if defined $binary;
	my $src = "$FindBin::Bin/../tools/wanproxy.c";
	my $bin = "$PostgreSQL::Test::Utils::tmp_check/wanproxy";
	my ($out, $err);
	IPC::Run::run([ 'cc', '-O2', '-Wall', '-Wextra', '-o', $bin, $src ],
		'>', \$out, '2>', \$err)
	  or die "cannot build $src: $err";
	die "wanproxy builds with warnings:\n$err" if $err =~ /warning/;
	$binary = $bin;
	return $binary;
}

=pod

=item EdgeCrdt::Mesh::Proxy->new(target_port => P, latency_up => ms,
latency_down => ms, jitter => ms, seed => n, port => L)

Start a proxy from 127.0.0.1:L (default: a fresh port) to 127.0.0.1:P.  ->port is where
clients connect; ->cmd('cut') etc. drive its control port.

=cut

sub new
{
	my ($class, %opts) = @_;
	my $bin = build();
	my $self = bless {
		port => $opts{port} // PostgreSQL::Test::Cluster::get_free_port(),
		control => PostgreSQL::Test::Cluster::get_free_port(),
		target => $opts{target_port},
		out => '',
		err => '',
	}, $class;
	my @cmd = (
		$bin, '--listen', $self->{port}, '--target', $self->{target},
		'--control', $self->{control},
		'--latency-up', $opts{latency_up} // 0,
		'--latency-down', $opts{latency_down} // 0,
		'--jitter', $opts{jitter} // 0,
		'--seed', $opts{seed} // 1);
	$self->{harness} =
	  IPC::Run::start(\@cmd, '>', \$self->{out}, '2>', \$self->{err});
	for (my $i = 0; $i < 100; $i++)
	{
		$self->{sock} = IO::Socket::INET->new(
			PeerAddr => '127.0.0.1',
			PeerPort => $self->{control},
			Proto => 'tcp');
		last if $self->{sock};
		usleep(50_000);
	}
	die "wanproxy did not start: $self->{err}" unless $self->{sock};
	$self->{sock}->autoflush(1);
	push @running, $self;
	return $self;
}

sub port { return $_[0]->{port}; }

=pod

=item $proxy->dsn($dbname)

A libpq connection string reaching the target through the proxy.

=cut

sub dsn
{
	my ($self, $dbname) = @_;
	return "host=127.0.0.1 port=$self->{port} dbname=" . ($dbname // 'postgres');
}

=pod

=item $proxy->cmd($line)

Send one control command and return the answer line ("ok", a status line or
"error: ...").

=cut

sub cmd
{
	my ($self, $line) = @_;
	my $sock = $self->{sock};
	print $sock "$line\n";
	my $answer = <$sock>;
	die "wanproxy control connection lost" unless defined $answer;
	chomp $answer;
	return $answer;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{harness};
	eval { $self->cmd('quit') };
	eval { $self->{harness}->finish };
	$self->{harness}->kill_kill if $@;
	delete $self->{harness};
	return;
}

END
{
	$_->stop foreach @running;
}

1;
