#!/bin/sh
# Runs every test stage and sums them.  Each stage prints its own
# "stage: N passed, N failed" as its last line; a stage that dies without
# that line counts as one failure.  The last line is "total: N passed, N failed".
BUILD=${BUILD:-build}
export BUILD
cd "$(dirname "$0")/.." || exit 2
passed=0
failed=0
log=$(mktemp -d "${TMPDIR:-/tmp}/xiaoer-test.XXXXXX")
trap 'rm -rf "$log"' EXIT INT TERM

stage() {
	name=$1
	shift
	echo "== $name"
	"$@" >"$log/$name.out" 2>&1
	rc=$?
	cat "$log/$name.out"
	line=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed$' "$log/$name.out" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$name: no result line (exit $rc): counted as 1 failure"
		failed=$((failed + 1))
		return
	fi
	p=$(echo "$line" | sed -E 's/^[a-z-]+: ([0-9]+) passed, ([0-9]+) failed$/\1/')
	f=$(echo "$line" | sed -E 's/^[a-z-]+: ([0-9]+) passed, ([0-9]+) failed$/\2/')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: exit $rc with no failure counted: counted as 1 failure"
		f=1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

stage unit "./$BUILD/tests/unit"
[ -f tests/cli.sh ] && stage cli sh tests/cli.sh
[ -x "./$BUILD/tests/ws_transcript" ] && stage ws "./$BUILD/tests/ws_transcript" "./$BUILD/xiaoer"
# The same scenarios on lws's own poll() loop (event_loop poll).
[ -x "./$BUILD/tests/ws_transcript" ] &&
	stage ws-poll env XIAOER_WS_LOOP=poll "./$BUILD/tests/ws_transcript" "./$BUILD/xiaoer"
[ -f tests/bench/smoke.sh ] && stage bench-smoke sh tests/bench/smoke.sh
[ -f tests/fuzz/run.sh ] && stage fuzz sh tests/fuzz/run.sh smoke
[ -f tests/browser/run.sh ] && stage browser sh tests/browser/run.sh

echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
