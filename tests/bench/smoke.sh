#!/bin/sh
# smoke.sh - a few seconds of load on a real server, as a test: 100
# connections, closed loop, every reply checked (--check: a reply frame
# with the right reply_to and a non-empty text, intent and script), and a
# SIGHUP reload of the content in the middle of it.  Run from the
# repository root by tests/run.sh; BUILD names the build directory
# (default build).  The last line is "bench-smoke: N passed, N failed".
#
# XIAOER=PATH runs that server binary instead of $BUILD/xiaoer,
# EVENT_LOOP=libev|poll sets its loop (default: the config's, libev), and
# VALGRIND=1 runs it under valgrind (`make valgrind`): then every error
# valgrind finds, leaks included, fails check smoke-10.
# shellcheck disable=SC2317 # cleanup runs from the trap
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.." || exit 2
passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xiaoer-smoke.XXXXXX") || exit 2
SPID=
cleanup() {
	if [ -n "$SPID" ]; then
		kill -KILL "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# check ID WHAT CONDITION...: CONDITION (a test(1) expression) must hold.
check() {
	id=$1
	what=$2
	shift 2
	if [ "$@" ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL $id: $what"
	fi
}

# jget KEY: a number from loadgen's JSON line.
jget() {
	v=$(sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$tmp/lg.json")
	echo "${v:--1}"
}

finish() {
	echo "$label: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

XIAOER=${XIAOER:-$BUILD/xiaoer}
VALGRIND=${VALGRIND:-0}
label=bench-smoke
wait_ticks=250 # 5 s to start
duration=2.5
hup_at=1.5
if [ "$VALGRIND" = 1 ]; then
	# valgrind runs the server 20 to 50 times slower
	wait_ticks=3000
	duration=8
	hup_at=2
fi

for f in "$XIAOER" "$BUILD/bench/loadgen"; do
	if [ ! -x "$f" ]; then
		echo "FAIL smoke-0: $f is missing"
		failed=$((failed + 1))
		finish
	fi
done

cat >"$tmp/x.conf" <<'EOF'
rate_limit 0
idle_timeout_s 0
max_conversations 1000000
writer_queue_max 1000000
outq_max 256
db_sync normal
EOF
[ -n "${EVENT_LOOP:-}" ] && echo "event_loop $EVENT_LOOP" >>"$tmp/x.conf"
if [ "$VALGRIND" = 1 ]; then
	label="valgrind-server${EVENT_LOOP:+ ($EVENT_LOOP)}"
	set -- valgrind -q --error-exitcode=9 --leak-check=full \
		--log-file="$tmp/valgrind.log"
else
	set --
fi
"$@" "$XIAOER" serve -c "$tmp/x.conf" --port 0 --db "$tmp/x.db" \
	--content . --www bot/www >"$tmp/server.log" 2>&1 &
SPID=$!
PORT=
i=0
while [ $i -lt $wait_ticks ] && kill -0 "$SPID" 2>/dev/null; do
	PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
		"$tmp/server.log" | head -n 1)
	[ -n "$PORT" ] && break
	sleep 0.02
	i=$((i + 1))
done
check smoke-1 "the server prints its listening line" -n "$PORT"
if [ -z "$PORT" ]; then
	tail -n 5 "$tmp/server.log"
	finish
fi

# A reload of the content while the load runs: answers go on.
(
	sleep $hup_at
	kill -HUP "$SPID" 2>/dev/null
) &
HUP=$!
"$BUILD/bench/loadgen" --port "$PORT" --server-pid "$SPID" --conns 100 \
	--mode closed --warmup 0.5 --duration $duration --check --json \
	--label smoke --buyers smoke >"$tmp/lg.out" 2>&1
rc=$?
wait "$HUP"
grep '^{' "$tmp/lg.out" | tail -n 1 >"$tmp/lg.json"
check smoke-2 "loadgen ran (exit $rc)" "$rc" -eq 0
check smoke-3 "all 100 connections opened ($(jget established))" \
	"$(jget established)" -eq 100
check smoke-4 "messages were answered ($(jget replies) in the window)" \
	"$(jget replies)" -gt 0
check smoke-5 "no errors ($(jget errors))" "$(jget errors)" -eq 0
check smoke-6 "every reply complete ($(jget check_fail) incomplete)" \
	"$(jget check_fail)" -eq 0
bad=$(($(jget bad_reply_to) + $(jget missing)))
check smoke-7 "every reply_to right ($bad wrong or missing)" "$bad" -eq 0
check smoke-8 "nothing left unanswered ($(jget unanswered))" \
	"$(jget unanswered)" -eq 0
alive=no
kill -0 "$SPID" 2>/dev/null && alive=yes
check smoke-9 "the server is still running" "$alive" = yes
# The reload runs on a thread of its own: on a slow machine it may
# finish after the load; give it the start-up allowance.
i=0
while [ $i -lt $wait_ticks ] && kill -0 "$SPID" 2>/dev/null &&
	! grep -q "reloaded content from\|reload failed" "$tmp/server.log"; do
	sleep 0.02
	i=$((i + 1))
done
n=$(grep -c "reloaded content from" "$tmp/server.log")
check smoke-11 "the SIGHUP reload under load finished ($n)" "$n" -eq 1
if [ "$failed" -ne 0 ]; then
	sed -n 's/^loadgen: /  /p' "$tmp/lg.out"
	tail -n 5 "$tmp/server.log"
fi
kill -TERM "$SPID" 2>/dev/null
wait "$SPID"
rc=$?
SPID=
check smoke-10 "the server stops cleanly on SIGTERM (exit $rc)" "$rc" -eq 0
if [ "$VALGRIND" = 1 ] && [ -s "$tmp/valgrind.log" ]; then
	head -n 40 "$tmp/valgrind.log"
fi
# --buyers: the ids are smoke-0 .. smoke-99, each with its conversation
n=$(sqlite3 "$tmp/x.db" "SELECT count(*) FROM conversations
	WHERE buyer GLOB 'smoke-[0-9]*'" 2>&1)
check smoke-12 "100 conversations of buyers smoke-N stored ($n)" \
	"$n" = 100
sed -n -e 's/^loadgen: window/  window/p' \
	-e 's/^loadgen: latency/  latency/p' "$tmp/lg.out"
finish
