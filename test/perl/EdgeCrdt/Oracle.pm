# EdgeCrdt::Oracle -- a model of the convergence lattice of a replicated
# table (DESIGN.md section 2), for randomized multi-node tests.
#
# The test feeds it, after every operation it performs on some node, the
# state of the touched row as that node shows it right after the operation
# (values and the _edge_crdt metadata in text form), or for a delete the
# causal length of the tombstone.  Every state a node ever holds is the join
# of such states, so the final table every node must converge to is the
# join, per key, of everything recorded:
#
#   * the greater causal length (cl) wins the whole row; even cl = deleted;
#   * equal odd cl: per plain column the greater version (hlc, then node id)
#     wins; equal versions must carry equal values (else the oracle reports
#     an inconsistency: one version, two values);
#   * gcounter columns merge by per-node maximum, whatever their versions.
#
# It is written from the design, not from the implementation: it parses the
# text forms itself and never calls edge_crdt's merge functions, so a merge
# bug cannot hide behind the oracle.  Clock values are compared as decimal
# strings, so nothing depends on Perl's number precision.
#
#	my $o = EdgeCrdt::Oracle->new(columns => [
#		[ id => 'key' ], [ a => 'plain' ], [ c => 'gcounter' ] ]);
#	my $json = $node->safe_psql('postgres',
#		"UPDATE t SET a = 5 WHERE id = 3 RETURNING " . $o->returning_row);
#	$o->record_returned($json) if $json ne '';
#	...
#	is(render_rows(table_rows($node, 't')), render_rows($o->expected_rows));
#
# IDENTIFICATION
#	  test/perl/EdgeCrdt/Oracle.pm

package EdgeCrdt::Oracle;

use strict;
use warnings;

use Carp;
use JSON::PP;

=pod

=item EdgeCrdt::Oracle->new(columns => [[name, kind], ...], attnums => {...})

Columns in table order, kind one of key (the single-column primary key),
plain, gcounter.  Attribute numbers default to the position (1-based), which
holds for a table created in one statement with no dropped columns; pass
attnums => { name => n } otherwise.

=cut

sub new
{
	my ($class, %opts) = @_;
	my $cols = $opts{columns} or croak "columns required";
	my (%kind, %attname, @names, $key);
	for my $i (0 .. $#$cols)
	{
		my ($name, $kind) = @{ $cols->[$i] };
		croak "unknown column kind $kind"
		  unless $kind =~ /^(key|plain|gcounter)$/;
		$kind{$name} = $kind;
		push @names, $name;
		my $attnum = $opts{attnums} ? $opts{attnums}{$name} : $i + 1;
		$attname{$attnum} = $name;
		if ($kind eq 'key')
		{
			croak "one key column only" if defined $key;
			$key = $name;
		}
	}
	croak "a key column is required" unless defined $key;
	return bless {
		names => \@names,
		kind => \%kind,
		attname => \%attname,
		key => $key,
		rows => {},
		errors => [],
		recorded => 0,
	}, $class;
}

# --- text forms -------------------------------------------------------------

# Compare two non-negative decimal integers given as strings.
sub uint_cmp
{
	my ($a, $b) = @_;
	$a =~ s/^0+(?=\d)//;
	$b =~ s/^0+(?=\d)//;
	return length($a) <=> length($b) || $a cmp $b;
}

=pod

=item rowmeta_parse($text)

"cl;attnum=hlc@node,..." -> { cl => cl, versions => { attnum => [hlc, node] } }

=cut

sub rowmeta_parse
{
	my ($text) = @_;
	croak "bad rowmeta \"$text\"" unless $text =~ /^\s*(\d+)\s*;\s*(.*?)\s*$/;
	my ($cl, $rest) = ($1, $2);
	my %v;
	foreach my $item (split /\s*,\s*/, $rest)
	{
		croak "bad rowmeta item \"$item\" in \"$text\""
		  unless $item =~ /^(\d+)=(\d+)@(-?\d+)$/;
		croak "column $1 twice in \"$text\"" if exists $v{$1};
		$v{$1} = [ $2, $3 ];
	}
	return { cl => $cl, versions => \%v };
}

=pod

=item gcounter_parse($text), gcounter_render(\%map), gcounter_merge(\%a, \%b)

"{node:count,...}" <-> { node => count }; counts are decimal strings, zero
entries are dropped, rendering is ascending by node.

=cut

sub gcounter_parse
{
	my ($text) = @_;
	croak "bad gcounter \"$text\"" unless $text =~ /^\s*\{(.*)\}\s*$/;
	my $body = $1;
	my %m;
	return \%m if $body =~ /^\s*$/;
	foreach my $item (split /,/, $body)
	{
		croak "bad gcounter entry \"$item\" in \"$text\""
		  unless $item =~ /^\s*(\d+)\s*:\s*\+?(\d+)\s*$/;
		my ($n, $c) = ($1 + 0, $2);
		croak "node $n twice in \"$text\"" if exists $m{$n};
		$c =~ s/^0+(?=\d)//;
		$m{$n} = $c unless $c eq '0';
	}
	return \%m;
}

sub gcounter_render
{
	my ($m) = @_;
	return '{' . join(',', map { "$_:$m->{$_}" } sort { $a <=> $b } keys %$m) . '}';
}

sub gcounter_merge
{
	my ($a, $b) = @_;
	my %r = %$a;
	while (my ($n, $c) = each %$b)
	{
		$r{$n} = $c if !exists $r{$n} || uint_cmp($c, $r{$n}) > 0;
	}
	return \%r;
}

sub gcounter_total
{
	my ($m) = @_;
	my $t = 0;
	$t += $_ foreach values %$m;
	return $t;
}

# (hlc, node) order; a column without a version is below every version.
sub version_cmp
{
	my ($a, $b) = @_;
	$a //= [ 0, 0 ];
	$b //= [ 0, 0 ];
	return uint_cmp($a->[0], $b->[0]) || $a->[1] <=> $b->[1];
}

# --- recording --------------------------------------------------------------

=pod

=item $o->returning_row

The RETURNING expression (one json text) that record_returned expects:
every column as text, then _edge_crdt as text.

=cut

sub returning_row
{
	my ($self) = @_;
	return 'json_build_array('
	  . join(', ', (map { qq{"$_"::text} } @{ $self->{names} }), '_edge_crdt::text')
	  . ')';
}

=pod

=item $o->record_returned($json_text)

Record a row state read with returning_row (an UPDATE/INSERT ... RETURNING
or a SELECT right after the operation).

=cut

sub record_returned
{
	my ($self, $json) = @_;
	my $arr = decode_json($json);
	my @names = @{ $self->{names} };
	croak "expected " . (@names + 1) . " values in $json" unless @$arr == @names + 1;
	my %values;
	@values{@names} = @$arr[ 0 .. $#names ];
	return $self->record_row(\%values, $arr->[-1]);
}

=pod

=item $o->record_deleted_returned($json_text)

Record a delete from DELETE ... RETURNING returning_row: the old row's cl
plus one (DESIGN.md: a local delete sets cl + 1).

=cut

sub record_deleted_returned
{
	my ($self, $json) = @_;
	my $arr = decode_json($json);
	my $key = $arr->[ $self->key_index ];
	my $meta = rowmeta_parse($arr->[-1]);
	croak "deleted row $key was not alive (cl $meta->{cl})"
	  unless $meta->{cl} % 2 == 1;
	return $self->record_delete($key, $meta->{cl} + 1);
}

sub key_index
{
	my ($self) = @_;
	for my $i (0 .. $#{ $self->{names} })
	{
		return $i if $self->{names}[$i] eq $self->{key};
	}
	croak "no key";
}

=pod

=item $o->record_row(\%values, $rowmeta_text)

Record one observed state of a live row: values by column name (text or
undef for NULL) and its _edge_crdt text.

=cut

sub record_row
{
	my ($self, $values, $metatext) = @_;
	my $meta = rowmeta_parse($metatext);
	my $key = $values->{ $self->{key} };
	croak "row without key" unless defined $key;
	croak "live row $key with even cl $meta->{cl}" unless $meta->{cl} % 2 == 1;

	my %cols;
	my %ver_by_name;
	while (my ($attnum, $ver) = each %{ $meta->{versions} })
	{
		my $name = $self->{attname}{$attnum};
		next unless defined $name;    # _edge_crdt itself, or unknown
		$ver_by_name{$name} = $ver;
	}
	foreach my $name (@{ $self->{names} })
	{
		next if $name eq $self->{key};
		my $v = $values->{$name};
		$v = gcounter_parse($v)
		  if $self->{kind}{$name} eq 'gcounter' && defined $v;
		$cols{$name} = { v => $v, ver => $ver_by_name{$name} };
	}
	$self->merge_state($key, { cl => $meta->{cl}, cols => \%cols });
	return;
}

=pod

=item $o->record_delete($key, $cl)

Record a tombstone: $key deleted with (even) causal length $cl.

=cut

sub record_delete
{
	my ($self, $key, $cl) = @_;
	croak "tombstone of $key with odd cl $cl" unless $cl % 2 == 0;
	$self->merge_state($key, { cl => $cl, cols => {} });
	return;
}

sub values_equal
{
	my ($kind, $a, $b) = @_;
	return !defined($a) && !defined($b) if !defined($a) || !defined($b);
	return gcounter_render($a) eq gcounter_render($b) if $kind eq 'gcounter';
	return $a eq $b;
}

# The join of the stored state of $key and $new.
sub merge_state
{
	my ($self, $key, $new) = @_;
	$self->{recorded}++;
	my $old = $self->{rows}{$key};
	if (!defined $old || uint_cmp($new->{cl}, $old->{cl}) > 0)
	{
		$self->{rows}{$key} = $new;
		return;
	}
	return if uint_cmp($new->{cl}, $old->{cl}) < 0 || $new->{cl} % 2 == 0;

	foreach my $name (keys %{ $new->{cols} })
	{
		my $n = $new->{cols}{$name};
		my $o = $old->{cols}{$name} //= { v => undef, ver => undef };
		if ($self->{kind}{$name} eq 'gcounter')
		{
			if (defined $n->{v} || defined $o->{v})
			{
				$o->{v} = gcounter_merge($o->{v} // {}, $n->{v} // {});
			}
			$o->{ver} = $n->{ver} if version_cmp($n->{ver}, $o->{ver}) > 0;
			next;
		}
		my $c = version_cmp($n->{ver}, $o->{ver});
		if ($c > 0)
		{
			$old->{cols}{$name} = { %$n };
		}
		elsif ($c == 0 && defined $n->{ver}
			&& !values_equal('plain', $n->{v}, $o->{v}))
		{
			push @{ $self->{errors} },
			  sprintf("key %s column %s: version %s\@%s seen with values %s and %s",
				$key, $name, @{ $n->{ver} },
				map { defined $_ ? "'$_'" : 'NULL' } $o->{v}, $n->{v});
		}
	}
	return;
}

# --- results ----------------------------------------------------------------

=pod

=item $o->errors

Inconsistencies seen while recording (the same version carrying two values),
as strings; empty when all is well.

=cut

sub errors
{
	my ($self) = @_;
	return @{ $self->{errors} };
}

sub recorded { return $_[0]->{recorded}; }

=pod

=item $o->expected_rows

The final table: [ [column names], [values...] ... ] ordered by key, in the
shape of EdgeCrdt::Mesh::table_rows (text values, undef for NULL, gcounters
in canonical text).

=cut

sub expected_rows
{
	my ($self) = @_;
	my @keys = grep { $self->{rows}{$_}{cl} % 2 == 1 } keys %{ $self->{rows} };
	my $numeric = !grep { !/^-?\d+$/ } @keys;
	@keys = $numeric ? sort { $a <=> $b } @keys : sort @keys;
	my @rows;
	foreach my $k (@keys)
	{
		my $st = $self->{rows}{$k};
		push @rows, [
			map {
				my $name = $_;
				if ($name eq $self->{key}) { "$k" }
				else
				{
					my $v = $st->{cols}{$name}{v};
					($self->{kind}{$name} eq 'gcounter' && defined $v)
					  ? gcounter_render($v)
					  : $v;
				}
			} @{ $self->{names} }
		];
	}
	return [ [ @{ $self->{names} } ], @rows ];
}

=pod

=item $o->state($key)

The merged state of one key: { cl, cols => { name => { v, ver } } }, or
undef when nothing was recorded for it.

=cut

sub state
{
	my ($self, $key) = @_;
	return $self->{rows}{$key};
}

1;
