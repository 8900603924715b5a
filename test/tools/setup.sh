#!/bin/bash
#
# setup.sh -- install what a fresh Debian 12 machine lacks, then build and
# install edge_crdt.  Shared by the README's commands (make test, make
# demo).  As root it uses apt-get directly; otherwise sudo.  Compiler
# warnings fail the build.
#
# Sourced: sets PG_BINDIR, PG_CONFIG, SUDO and RUNAS (the command prefix
# that runs a server as an unprivileged user: "postgres" when root).
#
SRC=${SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_BINDIR=/usr/lib/postgresql/15/bin
PG_CONFIG=$PG_BINDIR/pg_config

log() { printf '=== %s\n' "$*"; }

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
	RUNAS=(runuser -u postgres --)
else
	SUDO=(sudo)
	RUNAS=()
fi

# dependencies
missing=()
[ -x "$PG_CONFIG" ] && [ -f "$($PG_CONFIG --pkglibdir 2>/dev/null)/pgxs/src/makefiles/pgxs.mk" ] \
	|| missing+=(postgresql-15 postgresql-server-dev-15)
perl -MIPC::Run -e1 2>/dev/null || missing+=(libipc-run-perl)
command -v prove >/dev/null || missing+=(perl)
command -v make >/dev/null || missing+=(make)
command -v gcc >/dev/null || missing+=(gcc)
command -v clang >/dev/null || missing+=(clang)
[ -e /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a ] \
	|| ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a >/dev/null 2>&1 \
	|| missing+=(libclang-rt-14-dev)
if [ ${#missing[@]} -gt 0 ]; then
	log "installing missing packages: ${missing[*]}"
	if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
		echo "run as root or install these packages first: ${missing[*]}" >&2
		exit 1
	fi
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
id postgres >/dev/null 2>&1 || { echo "user postgres missing (postgresql-15 creates it)" >&2; exit 1; }

# build and install
log "building"
make -C "$SRC" -s PG_CONFIG="$PG_CONFIG" 2>&1 | tee /tmp/edge_crdt_build.$$.log
if grep -q "warning:" /tmp/edge_crdt_build.$$.log; then
	echo "compiler warnings are errors in this project" >&2
	rm -f /tmp/edge_crdt_build.$$.log
	exit 1
fi
rm -f /tmp/edge_crdt_build.$$.log
log "installing"
"${SUDO[@]}" make -C "$SRC" -s PG_CONFIG="$PG_CONFIG" install >/dev/null

