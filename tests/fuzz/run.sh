#!/bin/sh
# The libFuzzer harnesses (tests/fuzz/README.md).
#
#   sh tests/fuzz/run.sh smoke         a stage of `make test`: every seed and
#                                      regression input once, then a fixed
#                                      number of runs from a fixed seed, so
#                                      that the stage does the same each time
#   sh tests/fuzz/run.sh long [SECS]   `make fuzz`: each harness for half of
#                                      SECS (300); the corpus grows in
#                                      build-fuzz/corpus/NAME from run to run,
#                                      and what breaks is written to
#                                      build-fuzz/crashes/
#
# The last line is "fuzz: N passed, N failed".
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
cd "$(dirname "$0")/../.." || exit 2
mode=${1:-smoke}
secs=${2:-300}
passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xiaoer-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
export XIAOER_CONTENT=.

# The turn harness starts from every corpus message, the crafted worst cases
# of bench scenario g and the conversations in seeds/turn.
seed_turn() {
	mkdir -p "$1"
	LC_ALL=C awk -F '\t' -v dir="$1" 'NF >= 3 && $1 !~ /^#/ {
		f = sprintf("%s/corpus-%04d", dir, NR)
		printf "%s", $3 > f
		close(f)
	}' tests/corpus/messages.tsv
	sh tests/bench/crafted.sh | LC_ALL=C awk -v dir="$1" '{
		f = sprintf("%s/crafted-%02d", dir, NR)
		printf "%s", $0 > f
		close(f)
	}'
	cp tests/fuzz/seeds/turn/* "$1/"
}

seed_turn "$tmp/seeds-turn"
mkdir -p "$tmp/seeds-protocol"
cp tests/fuzz/seeds/protocol/* "$tmp/seeds-protocol/"

# check NAME WHAT -- COMMAND...: one result; on failure, what the harness said
check() {
	name=$1
	what=$2
	shift 3
	"$@" >"$tmp/log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED)' "$tmp/log" | tail -n 1 |
		sed -E 's/^#([0-9]+)[[:space:]]+[A-Z]+[[:space:]]+/\1 runs, /')
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok   $name: $what ($stats)"
	else
		failed=$((failed + 1))
		echo "FAIL $name: $what (exit $rc)"
		grep -E "^fuzz_|^SUMMARY|ERROR: |^(frame|message) \(|Test unit written" \
			"$tmp/log" | head -n 12
	fi
}

for h in protocol turn; do
	bin=$FUZZ_BUILD/fuzz/$h
	regress=
	[ -d "tests/fuzz/regress/$h" ] && regress=tests/fuzz/regress/$h
	max_len=16384
	[ "$h" = protocol ] && max_len=8192
	opts="-max_len=$max_len -dict=tests/fuzz/$h.dict"
	if [ ! -x "$bin" ]; then
		failed=$((failed + 1))
		echo "FAIL $h: $bin is missing (make test builds it with clang)"
		continue
	fi
	case $mode in
	smoke)
		mkdir -p "$tmp/corpus-$h"
		# shellcheck disable=SC2086 # $opts is several options
		check "$h" "every seed and regression input" -- \
			"$bin" $opts -runs=0 -artifact_prefix="$tmp/" \
			"$tmp/corpus-$h" "$tmp/seeds-$h" $regress
		runs=60000
		[ "$h" = protocol ] && runs=200000
		# shellcheck disable=SC2086
		check "$h" "$runs runs from seed 1" -- \
			"$bin" $opts -seed=1 -runs=$runs \
			-artifact_prefix="$tmp/" "$tmp/corpus-$h" \
			"$tmp/seeds-$h" $regress
		;;
	long)
		mkdir -p "$FUZZ_BUILD/corpus/$h" "$FUZZ_BUILD/crashes"
		# shellcheck disable=SC2086
		check "$h" "$((secs / 2)) s" -- \
			"$bin" $opts -max_total_time=$((secs / 2)) \
			-artifact_prefix="$FUZZ_BUILD/crashes/$h-" \
			"$FUZZ_BUILD/corpus/$h" "$tmp/seeds-$h" $regress
		;;
	*)
		echo "usage: run.sh smoke|long [SECONDS]" >&2
		exit 2
		;;
	esac
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
