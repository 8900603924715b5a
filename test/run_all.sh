#!/bin/bash
#
# run_all.sh -- the edge_crdt test command (README: "make test").
#
# Installs what a fresh Debian 12 machine lacks, builds and installs the
# extension, then runs the suites against temporary instances.  initdb
# refuses root, so when started as root the suites run as the unprivileged
# "postgres" user in a private copy of the tree; a non-root developer needs
# sudo only for apt-get and "make install".
#
# Usage: test/run_all.sh [prop] [regress] [isolation] [tap] [fuzz]
#        (no argument = all of them, in that order)
#
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PARTS=("$@")
[ ${#PARTS[@]} -eq 0 ] && PARTS=(prop regress isolation tap fuzz)

. "$SRC/test/tools/setup.sh"

# --- suites, as an unprivileged user in a private copy ---------------------
WORK=$(mktemp -d /tmp/edge_crdt_test.XXXXXX)
tar -C "$SRC" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
	--exclude=tmp_check\* --exclude=results --exclude=output_iso --exclude=test/fuzz/bin \
	--exclude=test/prop/bin -cf - . | tar -C "$WORK" -xf -
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$WORK"
chmod 755 "$WORK"

passed=0
failed=0
failed_parts=()
runpart() {
	local name=$1; shift
	local out="$WORK/$name.log"
	log "$name"
	if (cd "$WORK" && "${RUNAS[@]}" env PATH="$PG_BINDIR:$PATH" "$@") >"$out" 2>&1; then
		status=0
	else
		status=1
	fi
	cat "$out"
	# Count individual tests where the runner says how many there were:
	# pg_regress "All N tests passed." / "M of N tests failed.", prove
	# "Files=N" less failed files, "ok prop" lines, libFuzzer "Done N runs".
	local counts p f
	counts=$(awk '
		/^ *All [0-9]+ tests passed/ { p += $2 }
		/^ *[0-9]+ of [0-9]+ tests failed/ { f += $1; p += $3 - $1 }
		/^Files=[0-9]+/ { split($1, a, "="); sub(",", "", a[2]); p += a[2] }
		/^test\/t\/.*\(Wstat: / { f += 1; p -= 1 }
		/^ok prop / { p += 1 }
		/^Done [0-9]+ runs/ { p += 1 }
		END { print p + 0, f + 0 }' "$out")
	read -r p f <<<"$counts"
	passed=$((passed + p))
	failed=$((failed + f))
	if [ $status -ne 0 ]; then
		failed_parts+=("$name")
		[ "$f" -eq 0 ] && failed=$((failed + 1))
		for d in "$WORK"/regression.diffs "$WORK"/output_iso/regression.diffs; do
			[ -s "$d" ] && { echo "--- $d"; head -c 20000 "$d"; }
		done
		for l in "$WORK"/tmp_check/log/regress_log_*; do
			[ -f "$l" ] && grep -q "not ok" "$l" && { echo "--- $l (tail)"; tail -n 60 "$l"; }
		done
	fi
	return 0
}

MK=(make -s PG_CONFIG="$PG_CONFIG")
for part in "${PARTS[@]}"; do
	case $part in
		prop)      runpart prop "${MK[@]}" prop ;;
		regress)   runpart regress "${MK[@]}" installcheck ISOLATION= TAP_TESTS= ;;
		isolation) runpart isolation "${MK[@]}" installcheck REGRESS= TAP_TESTS= ;;
		tap)       runpart tap "${MK[@]}" installcheck REGRESS= ISOLATION= PROVE_FLAGS=--timer ;;
		fuzz)      runpart fuzz "${MK[@]}" fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ;;
		*) echo "unknown part: $part" >&2; exit 2 ;;
	esac
done

echo
if [ ${#failed_parts[@]} -gt 0 ]; then
	echo "FAILED parts: ${failed_parts[*]} (work tree kept in $WORK)"
	echo "$passed passed, $failed failed"
	exit 1
fi
rm -rf "$WORK"
echo "$passed passed, $failed failed"
