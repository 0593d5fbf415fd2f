#!/bin/sh
# bench.sh - the xiaoer benchmark; `make bench` runs it from the repository
# root after building build/xiaoer and build/bench/{loadgen,echo,matchbench}.
# What each scenario measures and how to read it: tests/bench/README.md.
#
#   sh tests/bench/bench.sh              scenarios a-j, one table at the end
#   sh tests/bench/bench.sh soak [MIN]   5,000 conns, 2,000 msg/s, 1 %/s
#                                        reconnects, for MIN minutes (10)
#   sh tests/bench/bench.sh evlib        the echo baseline on poll() and on
#                                        libev at 10,000 connections
#   sh tests/bench/bench.sh restart      5,000 buyers coming back to a server
#                                        just restarted: the resume read
#
# Environment: BUILD (build), RUNS (3: each scenario is run that many times
# on a fresh server and the median is reported), QUICK=1 (short windows and
# one run, to try the script).  The table also goes to
# $BUILD/bench/results.txt (soak: soak.txt, evlib: evlib.txt, restart:
# restart.txt) and every run's loadgen report to $BUILD/bench/logs/.
# Exit status 0 whatever was measured; 1 when a server crashed or a run
# could not happen; 2 when there is nothing to measure (binaries missing,
# content failing `xiaoer check`).  Load goes to 127.0.0.1 only.
# shellcheck disable=SC2086 # $PIN_* are empty or a taskset command line
# shellcheck disable=SC3045 # ulimit -n: dash and bash have it
BUILD=${BUILD:-build}
cd "$(dirname "$0")/../.." || exit 2
RUNS=${RUNS:-3}
QUICK=${QUICK:-0}
what=${1:-all}
out=$BUILD/bench
logs=$out/logs

for f in "$BUILD/xiaoer" "$out/loadgen" "$out/echo"; do
	if [ ! -x "$f" ]; then
		echo "bench: $f is missing: run 'make bench'" >&2
		exit 2
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xiaoer-bench.XXXXXX") || exit 2
SPID=
HPID=
evloop=
crashed=0
nserver=0
cleanup() {
	if [ -n "$HPID" ]; then
		kill "$HPID" 2>/dev/null
		wait "$HPID" 2>/dev/null
	fi
	if [ -n "$SPID" ]; then
		kill -KILL "$SPID" 2>/dev/null
		wait "$SPID" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Snapshots: other people may rebuild build/ or edit the content while
# this runs, and every run must see the same bot.
mkdir -p "$tmp/bin" "$tmp/content" "$logs"
cp "$BUILD/xiaoer" "$out/loadgen" "$out/echo" "$tmp/bin/"
# matchbench (row h) is newer than the rest: a build without it still runs.
[ -x "$out/matchbench" ] && cp "$out/matchbench" "$tmp/bin/"
[ -x "$out/jitter" ] && cp "$out/jitter" "$tmp/bin/"
cp -R intents scripts-zh "$tmp/content/"
cp -R bot/www "$tmp/www"
rm -f "$logs"/*.log

# 10,000 connections on each side, and some room.
ulimit -n 32768 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

# The server on CPU 0, the client on CPU 1, where there are two.
PIN_SERVER=
PIN_CLIENT=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
	PIN_SERVER="taskset -c 0"
	PIN_CLIENT="taskset -c 1"
fi

cat >"$tmp/bench.conf" <<'EOF'
# xiaoer under load: no per-buyer limits, nothing closed for idleness.
rate_limit 0
idle_timeout_s 0
max_conversations 1000000
writer_queue_max 1000000
outq_max 256
db_sync normal
EOF

if ! "$tmp/bin/xiaoer" check -c "$tmp/bench.conf" --content "$tmp/content" \
	--www "$tmp/www" >"$tmp/check.log" 2>&1; then
	echo "bench: the content does not pass 'xiaoer check'; nothing to measure:"
	tail -n 3 "$tmp/check.log"
	exit 2
fi

# start_server KIND [DB]: xiaoer (on DB, else a fresh one), echo or
# echo-ev.  Sets SPID and PORT.
start_server() {
	kind=$1
	nserver=$((nserver + 1))
	sdir=$tmp/s$nserver
	mkdir -p "$sdir"
	case $kind in
	xiaoer)
		set -- "$tmp/bin/xiaoer" serve -c "$tmp/bench.conf" --port 0 \
			--db "${2:-$sdir/x.db}" --content "$tmp/content" \
			--www "$tmp/www"
		;;
	echo) set -- "$tmp/bin/echo" ;;
	echo-ev) set -- "$tmp/bin/echo" --evlib ev ;;
	esac
	$PIN_SERVER "$@" >"$sdir/log" 2>&1 &
	SPID=$!
	i=0
	while [ $i -lt 500 ]; do
		PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9]*\)/.*|\1|p' \
			"$sdir/log" | head -n 1)
		if [ -n "$PORT" ]; then
			# Which lws event loop does this xiaoer run on?
			if [ "$kind" = xiaoer ] && [ -z "$evloop" ]; then
				evloop="poll() (lws default)"
				grep -q 'evlib_ev' "/proc/$SPID/maps" 2>/dev/null &&
					evloop="libev (LWS_SERVER_OPTION_LIBEV)"
				grep -q 'evlib_uv' "/proc/$SPID/maps" 2>/dev/null &&
					evloop="libuv"
			fi
			return 0
		fi
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.02
		i=$((i + 1))
	done
	echo "bench: $kind did not start:"
	tail -n 5 "$sdir/log"
	crashed=$((crashed + 1))
	kill -KILL "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null
	SPID=
	return 1
}

# stop_server: SIGTERM, SIGKILL after 5 s; a server that died by itself
# (or by a signal we did not send) counts as a crash.
stop_server() {
	[ -n "$SPID" ] || return 0
	if ! kill -0 "$SPID" 2>/dev/null; then
		wait "$SPID"
		echo "bench: server $SPID died during the run (exit $?):"
		tail -n 5 "$sdir/log"
		crashed=$((crashed + 1))
		SPID=
		return 1
	fi
	kill -TERM "$SPID"
	i=0
	while kill -0 "$SPID" 2>/dev/null && [ $i -lt 250 ]; do
		sleep 0.02
		i=$((i + 1))
	done
	kill -KILL "$SPID" 2>/dev/null
	wait "$SPID"
	rc=$?
	if [ $rc -ge 128 ] && [ $rc -ne 143 ] && [ $rc -ne 137 ]; then
		echo "bench: server $SPID ended with signal $((rc - 128)):"
		tail -n 5 "$sdir/log"
		crashed=$((crashed + 1))
	fi
	SPID=
}

# run_lg NAME LOADGEN-ARGS...: loadgen against the running server; its
# report goes to $logs/NAME.log and its JSON line to $tmp/NAME.json.
run_lg() {
	name=$1
	shift
	$PIN_CLIENT "$tmp/bin/loadgen" --port "$PORT" --server-pid "$SPID" \
		--json --label "$name" "$@" >"$logs/$name.log" 2>&1
	rc=$?
	grep '^{' "$logs/$name.log" | tail -n 1 >"$tmp/$name.json"
	if [ $rc -ne 0 ]; then
		echo "bench: loadgen $name failed (exit $rc):"
		tail -n 3 "$logs/$name.log"
		crashed=$((crashed + 1))
	fi
}

# jget NAME KEY: a number from the JSON line of run NAME.
jget() {
	sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$tmp/$1.json" 2>/dev/null
}

# median ID KEY: the median of KEY over the runs ID-1 .. ID-$RUNS.
median() {
	r=1
	while [ $r -le "$RUNS" ]; do
		jget "$1-$r" "$2"
		r=$((r + 1))
	done | sort -g | awk '{ v[NR] = $1 }
		END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }'
}

# maxof ID KEY: the largest KEY over the runs.
maxof() {
	r=1
	while [ $r -le "$RUNS" ]; do
		jget "$1-$r" "$2"
		r=$((r + 1))
	done | sort -g | tail -n 1
}

# scenario ID KIND LOADGEN-ARGS...: $RUNS runs, each on a fresh server;
# with ONLY set, run number ONLY alone (bench_all does that to make a, a0
# and b take turns).  A run of 2 s or more during which other processes
# took more than 20 % of the server's CPU is repeated, once per call.
scenario() {
	id=$1
	kind=$2
	shift 2
	r=${ONLY:-1}
	last=${ONLY:-$RUNS}
	again=1
	while [ $r -le "$last" ]; do
		if start_server "$kind"; then
			run_lg "$id-$r" "$@"
			stop_server
			o=$(jget "$id-$r" other_cpu_pct)
			w=$(jget "$id-$r" window_s)
			if [ $again -gt 0 ] && le 2 "${w:-0}" &&
				! le "${o:-0}" 20; then
				echo "  $id run $r: other work took $o% of the" \
					"server's CPU: once more"
				again=0
				continue
			fi
			printf '  %s run %d: %s msg/s, p50 %s p99 %s p99.9 %s ms, ' \
				"$id" $r "$(jget "$id-$r" msg_s)" \
				"$(jget "$id-$r" p50_ms)" "$(jget "$id-$r" p99_ms)" \
				"$(jget "$id-$r" p999_ms)"
			printf '%s errors, server cpu %s%% (others %s%%), ' \
				"$(jget "$id-$r" errors)" \
				"$(jget "$id-$r" server_cpu_pct)" "$o"
			printf '%s KiB/conn\n' "$(jget "$id-$r" rss_per_conn_kib)"
		fi
		r=$((r + 1))
	done
}

# reloads ID EVERY LOADGEN-ARGS...: like scenario, but SIGHUP goes to the
# server every EVERY seconds while loadgen runs (0: never), each one a full
# reload of the content on the server's reload thread; the number of
# reloads the server finished is kept in $tmp/ID-R.reloads.
reloads() {
	id=$1
	every=$2
	shift 2
	r=1
	again=1
	while [ $r -le "$RUNS" ]; do
		start_server xiaoer || { r=$((r + 1)); continue; }
		if [ "$every" -gt 0 ]; then
			spid=$SPID
			(
				while sleep "$every"; do
					kill -HUP "$spid" 2>/dev/null || exit 0
				done
			) &
			HPID=$!
		fi
		run_lg "$id-$r" "$@"
		if [ -n "$HPID" ]; then
			kill "$HPID" 2>/dev/null
			wait "$HPID" 2>/dev/null
			HPID=
		fi
		grep -c 'reloaded content' "$sdir/log" >"$tmp/$id-$r.reloads"
		if grep -q 'reload failed' "$sdir/log"; then
			echo "  $id run $r: a reload failed:"
			grep 'reload failed' "$sdir/log" | tail -n 1
		fi
		stop_server
		o=$(jget "$id-$r" other_cpu_pct)
		if [ $again -gt 0 ] && ! le "${o:-0}" 20; then
			echo "  $id run $r: other work took $o% of the" \
				"server's CPU: once more"
			again=0
			continue
		fi
		printf '  %s run %d: %s msg/s, p50 %s p99 %s p99.9 %s max %s ms, ' \
			"$id" $r "$(jget "$id-$r" msg_s)" \
			"$(jget "$id-$r" p50_ms)" "$(jget "$id-$r" p99_ms)" \
			"$(jget "$id-$r" p999_ms)" "$(jget "$id-$r" max_ms)"
		printf '%s errors, %s reloads (others %s%%)\n' \
			"$(jget "$id-$r" errors)" \
			"$(cat "$tmp/$id-$r.reloads")" "$o"
		r=$((r + 1))
	done
}

# matchbench ID: row h, $RUNS runs of build/bench/matchbench (CPU only, on
# the client's CPU) over the corpus with the snapshot of the content.
matchbench() {
	r=1
	while [ $r -le "$RUNS" ]; do
		$PIN_CLIENT "$tmp/bin/matchbench" --content "$tmp/content" \
			--json --top 5 $MTEXTS >"$logs/$1-$r.log" 2>&1 ||
			crashed=$((crashed + 1))
		grep '^{' "$logs/$1-$r.log" | tail -n 1 >"$tmp/$1-$r.json"
		sed -nE 's/^(matching|full turn|PCRE2)/  &/p' \
			"$logs/$1-$r.log"
		r=$((r + 1))
	done
}

# pair_ratio X Y: the median over the runs r of X-r's msg/s / Y-r's.
pair_ratio() {
	r=1
	while [ $r -le "$RUNS" ]; do
		awk -v x="$(jget "$1-$r" msg_s)" -v y="$(jget "$2-$r" msg_s)" \
			'BEGIN { if (x != "" && y > 0) print x / y }'
		r=$((r + 1))
	done | sort -g | awk '{ v[NR] = $1 }
		END { if (NR) printf "%.2f", v[int((NR + 1) / 2)]; else print "n/a" }'
}

# cpu_per_msg ID: the server's CPU µs per message, from the medians.
cpu_per_msg() {
	awk -v c="$(median "$1" server_cpu_pct)" -v m="$(median "$1" msg_s)" \
		'BEGIN { if (m > 0) printf "%.1f", c / 100 / m * 1e6; else print "n/a" }'
}

# le A B: is A <= B (as numbers)?
le() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a != "n/a" && a + 0 <= b + 0) }'
}

okmiss() {
	if [ "$1" = ok ]; then echo ok; else echo MISS; fi
}

machine() {
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	lws=$(pkg-config --modversion libwebsockets 2>/dev/null)
	rev=$(git describe --always --dirty 2>/dev/null)
	echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}, Linux $(uname -r)," \
		"libwebsockets ${lws:-?}"
	if [ -n "$PIN_SERVER" ]; then
		echo "pinning: server on CPU 0, client on CPU 1 (taskset)"
	else
		echo "pinning: none (fewer than 2 CPUs or no taskset)"
	fi
	sum=$(sha256sum "$tmp/bin/xiaoer" 2>/dev/null | cut -c1-12)
	echo "xiaoer: ${rev:-unknown revision} (binary sha256 ${sum:-?}," \
		"event loop ${evloop:-not started yet}), content" \
		"$(grep -o '([0-9]* intents, [0-9]* scripts)' "$tmp/check.log")"
	echo "run: $(date -u '+%Y-%m-%d %H:%M UTC'), median of $RUNS runs"
}

row() {
	printf '%-2s %-33s %-19s %-52s %s\n' "$1" "$2" "$3" "$4" "$5"
}

# The crafted messages of scenario g (tests/bench/crafted.sh).
crafted() {
	sh tests/bench/crafted.sh
}

crafted_labels='a x2000|快 x2000|快递 x1000|1 x2000|1快 x1000|快递到哪了 x400|我要退款 x500|订单号+digits|"1 快 " x500|！ x2000|? x2000|ａ x2000|哈 x2000|轉人工 x666|2000 distinct emoji|😀 x2000'

bench_all() {
	d_closed=10
	d_open=15
	d_low=10
	d_reload=15
	warm=2
	if [ "$QUICK" = 1 ]; then
		RUNS=1
		d_closed=3
		d_open=4
		d_low=3
		d_reload=6
		warm=1
	fi
	echo "xiaoer benchmark: $RUNS run(s) per scenario"
	machine

	# a, a0 and b take turns (a-1 a0-1 b-1 a-2 ...): this VM has slow
	# and fast phases of minutes, and b's ratio is taken run by run.
	echo "a: echo, closed loop, 1,000 connections, ${d_closed} s;" \
		"a0: the same on libev; b: xiaoer, the same; in turns"
	r0=1
	while [ $r0 -le "$RUNS" ]; do
		ONLY=$r0 scenario a echo --conns 1000 --mode closed \
			--duration $d_closed --warmup $warm
		# The ceiling on the loop xiaoer runs on (libev by default):
		# lws on libev toggles EPOLLOUT with two epoll_ctl() a reply.
		ONLY=$r0 scenario a0 echo-ev --conns 1000 --mode closed \
			--duration $d_closed --warmup $warm
		ONLY=$r0 scenario b xiaoer --conns 1000 --mode closed \
			--duration $d_closed --warmup $warm $TEXTS
		r0=$((r0 + 1))
	done
	echo "c: xiaoer, open loop, 10,000 connections, 10,000 msg/s, ${d_open} s"
	scenario c xiaoer --conns 10000 --mode open --rate 10000 \
		--duration $d_open --warmup $warm $TEXTS
	echo "d: xiaoer, open loop, 10,000 connections, 100 msg/s, ${d_low} s"
	scenario d xiaoer --conns 10000 --mode open --rate 100 \
		--duration $d_low --warmup $warm $TEXTS
	# The floor for d is echo on the loop xiaoer runs on (libev by
	# default): on poll() echo spends a core walking idle sockets.
	echo "d0: echo on libev at d's load, the floor for d"
	scenario d0 echo-ev --conns 10000 --mode open --rate 100 \
		--duration $d_low --warmup $warm
	# The machine under d: how late the server's CPU wakes a sleeping
	# thread with nothing else running (a VM's host preempts its vCPUs).
	# A message in d waits for three wake-ups: the client's timer, the
	# server's epoll_wait() and the client's; at 100 msg/s p99 is the
	# 1 % of messages that met a late one.
	echo "j: wake-up lateness on the server's CPU, 1 ms sleeps, ${d_low} s, no load"
	if [ -x "$tmp/bin/jitter" ]; then
		$PIN_SERVER "$tmp/bin/jitter" --seconds $d_low --json \
			>"$logs/j.log" 2>&1
		grep '^{' "$logs/j.log" | tail -n 1 >"$tmp/j.json"
		sed -n 's/^jitter: /  /p' "$logs/j.log"
	else
		echo "  $out/jitter is missing"
	fi
	echo "e: idle memory at 10,000 connections"
	scenario ex xiaoer --conns 10000 --mode idle --duration 2 --warmup 0
	scenario ee echo --conns 10000 --mode idle --duration 2 --warmup 0

	echo "f: start-up time, exec to the listening line, median of 5"
	mkdir -p "$tmp/f"
	$PIN_CLIENT "$tmp/bin/loadgen" --startup 5 --json -- $PIN_SERVER \
		"$tmp/bin/xiaoer" serve -c "$tmp/bench.conf" --port 0 \
		--db "$tmp/f/x.db" --content "$tmp/content" --www "$tmp/www" \
		>"$logs/f.log" 2>&1 || crashed=$((crashed + 1))
	grep '^{' "$logs/f.log" | tail -n 1 >"$tmp/f.json"
	sed -n 's/^loadgen: /  /p' "$logs/f.log"

	echo "g: worst-case message: 16 crafted 2,000-character texts, 3 times each, one connection"
	crafted >"$tmp/crafted.txt"
	scenario g xiaoer --conns 1 --mode closed --seq --count 48 \
		--duration 60 --warmup 0 --check --texts "$tmp/crafted.txt"

	echo "h: matching per message (matchbench: normalise + intents_match, CPU only)"
	if [ -x "$tmp/bin/matchbench" ] && [ -n "$MTEXTS" ]; then
		matchbench h
	else
		echo "  $out/matchbench or tests/corpus/messages.tsv is missing"
	fi

	echo "i: reload stall: 1,000 connections, 1,000 msg/s, ${d_reload} s, SIGHUP every 2 s, against no reload"
	reloads i0 0 --conns 1000 --mode open --rate 1000 \
		--duration $d_reload --warmup $warm $TEXTS
	reloads i 2 --conns 1000 --mode open --rate 1000 \
		--duration $d_reload --warmup $warm $TEXTS

	# The table.
	a=$(median a msg_s)
	b=$(median b msg_s)
	ratio=$(pair_ratio b a)
	a0=$(median a0 msg_s)
	ratio0=$(pair_ratio b a0)
	c_rate=$(median c msg_s)
	c50=$(median c p50_ms)
	c99=$(median c p99_ms)
	c999=$(median c p999_ms)
	d99=$(median d p99_ms)
	ex=$(median ex rss_per_conn_kib)
	ee=$(median ee rss_per_conn_kib)
	excpu=$(median ex server_cpu_pct)
	f=$(jget f startup_median_ms)
	fs=$(awk -v f="$f" 'BEGIN { if (f != "") printf "%.3f", f / 1000; else print "n/a" }')
	g=$(median g max_ms)
	gmax=$(maxof g max_ms)
	gi=0
	r=1
	while [ $r -le "$RUNS" ]; do
		[ "$(jget "g-$r" max_ms)" = "$gmax" ] && gi=$(jget "g-$r" max_text)
		r=$((r + 1))
	done
	glabel=$(echo "$crafted_labels" | awk -v i="${gi:-0}" -F'|' '{ print $(i + 1) }')
	others=$(for id in a a0 b c d d0; do
		r=1
		while [ $r -le "$RUNS" ]; do
			o=$(jget "$id-$r" other_cpu_pct)
			[ -n "$o" ] && echo "$o $id-$r"
			r=$((r + 1))
		done
	done | sort -g)
	other_med=$(echo "$others" | awk '{ v[NR] = $1 }
		END { if (NR) print v[int((NR + 1) / 2)]; else print "n/a" }')
	other_max=$(echo "$others" | tail -n 1)
	errs=0
	for id in b c d g i0 i; do
		r=1
		while [ $r -le "$RUNS" ]; do
			e=$(jget "$id-$r" errors)
			errs=$((errs + ${e:-0}))
			r=$((r + 1))
		done
	done

	ok=miss
	le 0.5 "$ratio" && ok=ok
	rb=$(okmiss $ok)
	ok=miss
	le "$c99" 10 && le "$c999" 25 && ok=ok
	rc_=$(okmiss $ok)
	ok=miss
	le "$d99" 2 && ok=ok
	rd=$(okmiss $ok)
	ok=miss
	le "$ex" 8 && ok=ok
	re=$(okmiss $ok)
	ok=miss
	le "$fs" 1 && ok=ok
	rf=$(okmiss $ok)
	ok=miss
	le "$g" 5 && ok=ok
	rg=$(okmiss $ok)
	h50=$(median h match_p50_us)
	h99=$(median h match_p99_us)
	ok=miss
	le "$h50" 5 && le "$h99" 20 && ok=ok
	rh=$(okmiss $ok)
	[ -x "$tmp/bin/matchbench" ] && [ -n "$MTEXTS" ] || rh=n/a
	i0max=$(median i0 max_ms)
	i0999=$(median i0 p999_ms)
	imax=$(median i max_ms)
	i999=$(median i p999_ms)
	iadd=$(awk -v a="$imax" -v b="$i0max" 'BEGIN { if (a != "n/a" && b != "n/a") printf "%.1f", a - b; else print "n/a" }')
	nrel=$(r=1; while [ $r -le "$RUNS" ]; do
		cat "$tmp/i-$r.reloads" 2>/dev/null; r=$((r + 1)); done |
		awk '{ s += $1 } END { print s + 0 }')
	ok=miss
	le "$iadd" 50 && [ "$nrel" -gt 0 ] && ok=ok
	ri=$(okmiss $ok)

	{
		echo "xiaoer benchmark (tests/bench/README.md explains each row)"
		machine
		echo
		row "" scenario target measured ""
		row a "echo closed, 1k conns" "(the ceiling)" \
			"$a msg/s (p99 $(median a p99_ms) ms)" info
		row a0 "echo on libev, closed, 1k conns" "(xiaoer's loop)" \
			"$a0 msg/s (p99 $(median a0 p99_ms) ms)" info
		row b "xiaoer closed, 1k conns" ">= 0.5 x a" \
			"$b msg/s; b/a $ratio, b/a0 $ratio0 (run by run); p50 $(median b p50_ms) p99 $(median b p99_ms) ms" "$rb"
		row c "xiaoer open 10k conns 10k msg/s" "p99<=10, p99.9<=25" \
			"$c_rate msg/s; p50 $c50 p99 $c99 p99.9 $c999 ms" "$rc_"
		row d "xiaoer open 10k conns 100 msg/s" "p99 <= 2 ms" \
			"p99 $d99 ms (p50 $(median d p50_ms), cpu $(median d server_cpu_pct)%; echo on libev: p99 $(median d0 p99_ms), cpu $(median d0 server_cpu_pct)%)" "$rd"
		row e "idle RSS/conn at 10k conns" "<= 8 KiB/conn" \
			"xiaoer $ex KiB, echo $ee KiB (idle cpu $excpu%)" "$re"
		row f "start-up, exec to listening" "<= 1 s" \
			"$fs s (median of 5)" "$rf"
		row g "worst crafted 2,000-char msg" "max RTT <= 5 ms" \
			"$g ms (worst run $gmax; $glabel)" "$rg"
		row h "matching per message (CPU)" "p50<=5, p99<=20 us" \
			"p50 $h50 p99 $h99 us; full turn p50 $(median h turn_p50_us) p99 $(median h turn_p99_us) us; $(median h runs_mean) patterns run" "$rh"
		row i "reload stall, 1k conns 1k msg/s" "reloads add <=50 ms" \
			"max $imax (p99.9 $i999) ms with $nrel reloads, $i0max ($i0999) without: +$iadd ms" "$ri"
		echo
		echo "server CPU per message (median CPU % / msg/s):" \
			"a $(cpu_per_msg a) us, a0 $(cpu_per_msg a0) us," \
			"b $(cpu_per_msg b) us"
		if [ -s "$tmp/j.json" ]; then
			echo "wake-up lateness on the server's CPU, no load (a message in d waits for 3 wake-ups):" \
				"p99 $(jget j late_p99_ms) ms, max $(jget j late_max_ms) ms," \
				"$(jget j over_1ms) of $(jget j wakeups) 1 ms sleeps over 1 ms late"
		fi
		echo "errors in b, c, d, g, i (all runs): $errs; crashes: $crashed"
		echo "other work on the server's CPU in the windows of a-d:" \
			"median $other_med%, worst ${other_max:-n/a}" \
			"(over 10 % means other processes disturbed the numbers)"
	} >"$out/results.txt"
	echo
	cat "$out/results.txt"
}

bench_soak() {
	min=${1:-10}
	total=$((min * 60))
	warm=60
	[ $warm -gt $((total / 2)) ] && warm=$((total / 2))
	RUNS=1
	echo "soak: $min min, 5,000 connections, 2,000 msg/s open loop," \
		"1 %/s reconnects; warm-up $warm s"
	machine
	start_server xiaoer || return
	run_lg soak --conns 5000 --mode open --rate 2000 --churn 1 \
		--sample 10 --warmup $warm --duration $((total - warm)) $TEXTS
	stop_server
	grep '^loadgen: sample' "$logs/soak.log" |
		sed 's/^loadgen: sample /  /'
	first=$(awk -v w="$warm" '/^loadgen: sample/ {
			t = $3; sub("t=", "", t)
			if (t + 0 >= w) { print; exit } }' "$logs/soak.log")
	last=$(grep '^loadgen: sample' "$logs/soak.log" | tail -n 1)
	num() {
		echo "$1" | sed -n "s/.* $2=\([-0-9.]*\).*/\1/p"
	}
	rss0=$(num "$first" rss_kb)
	rss1=$(num "$last" rss_kb)
	fd0=$(num "$first" fds)
	fd1=$(num "$last" fds)
	{
		echo "xiaoer soak ($min min)"
		machine
		echo
		echo "rate: $(jget soak msg_s) msg/s in the window, errors $(jget soak errors)," \
			"reconnects $(jget soak churned)"
		echo "RSS after warm-up: $rss0 kB -> $rss1 kB" \
			"(drift $(awk -v a="$rss0" -v b="$rss1" 'BEGIN { printf "%+d", b - a }') kB)"
		echo "open fds after warm-up: $fd0 -> $fd1" \
			"(growth $(awk -v a="$fd0" -v b="$fd1" 'BEGIN { printf "%+d", b - a }'))"
		echo "p99: first minute $(jget soak p99_first_min_ms) ms," \
			"last minute $(jget soak p99_last_min_ms) ms;" \
			"whole window p99 $(jget soak p99_ms) p99.9 $(jget soak p999_ms) ms"
		echo "crashes: $crashed"
	} >"$out/soak.txt"
	echo
	cat "$out/soak.txt"
}

# evcell KIND SCENARIO: one cell of the evlib table.
evcell() {
	cpu="$(median "$1-$2" server_cpu_pct)%"
	case $2 in
	idle) echo "$cpu" ;;
	low) echo "p99 $(median "$1-$2" p99_ms) ms, $cpu" ;;
	high)
		echo "$(median "$1-$2" p99_ms)/$(median "$1-$2" p999_ms) ms, $cpu"
		;;
	closed) echo "$(median "$1-$2" msg_s) msg/s" ;;
	esac
}

bench_evlib() {
	d=10
	[ "$QUICK" = 1 ] && RUNS=1 && d=3
	echo "evlib: the echo baseline on lws's poll() loop and on libev (epoll)"
	machine
	for k in echo echo-ev; do
		echo "$k: idle, 10,000 connections"
		scenario "$k-idle" "$k" --conns 10000 --mode idle --duration 5 \
			--warmup 0
		echo "$k: open loop, 10,000 connections, 100 msg/s"
		scenario "$k-low" "$k" --conns 10000 --mode open --rate 100 \
			--duration $d --warmup 2
		echo "$k: open loop, 10,000 connections, 10,000 msg/s"
		scenario "$k-high" "$k" --conns 10000 --mode open --rate 10000 \
			--duration $d --warmup 2
		echo "$k: closed loop, 1,000 connections"
		scenario "$k-closed" "$k" --conns 1000 --mode closed \
			--duration $d --warmup 2
	done
	{
		echo "echo baseline: poll() (lws default) vs libev (LWS_SERVER_OPTION_LIBEV)"
		machine
		echo
		printf '%-38s %-28s %-28s\n' "" "poll()" "libev"
		for s in idle low high closed; do
			case $s in
			idle) what="idle 10k conns: cpu" ;;
			low) what="10k conns, 100 msg/s: p99, cpu" ;;
			high) what="10k conns, 10k msg/s: p99/p99.9, cpu" ;;
			closed) what="1k conns closed loop: msg/s" ;;
			esac
			printf '%-38s %-28s %-28s\n' "$what" "$(evcell echo $s)" \
				"$(evcell echo-ev $s)"
		done
		echo "RSS/conn at 10k idle: poll $(median echo-idle rss_per_conn_kib) KiB," \
			"libev $(median echo-ev-idle rss_per_conn_kib) KiB; crashes: $crashed"
	} >"$out/evlib.txt"
	echo
	cat "$out/evlib.txt"
}

# bench_restart: buyers coming back to a server restarted in the rush.
# A server reads a buyer's conversation from SQLite, on the loop thread,
# the first time it sees them (resume_conversation); the buyers it
# already holds cost no read.  Each run seeds 5,000 buyers, restarts on
# that database and measures their first 2 s back ("first": the reads
# hit), then 2 s more on the same server ("held": no reads); then the
# same for 5,000 buyers the database has never seen (the reads miss).
bench_restart() {
	n=5000
	rate=5000
	d=2
	[ "$QUICK" = 1 ] && RUNS=1
	echo "restart: $n buyers, $rate msg/s open loop, ${d} s windows," \
		"$RUNS runs"
	machine
	lgargs="--conns $n --mode open --rate $rate --duration $d --warmup 0"
	r=1
	while [ $r -le "$RUNS" ]; do
		db=$tmp/restart-$r.db
		start_server xiaoer "$db" || return
		run_lg "rs-seed-$r" $lgargs --buyers "known$r" $TEXTS
		stop_server
		for who in known new; do
			start_server xiaoer "$db" || return
			run_lg "rs-$who-first-$r" $lgargs --buyers "$who$r" $TEXTS
			run_lg "rs-$who-held-$r" $lgargs --buyers "$who$r" $TEXTS
			stop_server
		done
		for k in known-first known-held new-first new-held; do
			printf '  %s run %d: %s msg/s, p99 %s p99.9 %s ms, ' \
				"$k" $r "$(jget "rs-$k-$r" msg_s)" \
				"$(jget "rs-$k-$r" p99_ms)" \
				"$(jget "rs-$k-$r" p999_ms)"
			printf '%s errors, server cpu %s%%\n' \
				"$(jget "rs-$k-$r" errors)" \
				"$(jget "rs-$k-$r" server_cpu_pct)"
		done
		r=$((r + 1))
	done
	{
		echo "xiaoer restart: $n buyers back at $rate msg/s (median of $RUNS)"
		machine
		echo
		printf '%-44s %10s %10s %10s %8s\n' "" "cpu us/msg" "p99 ms" \
			"p99.9 ms" "errors"
		for k in known-first known-held new-first new-held; do
			case $k in
			known-first) what="known buyers, first 2 s (reads hit)" ;;
			known-held) what="known buyers, 2 s later (held)" ;;
			new-first) what="new buyers, first 2 s (reads miss)" ;;
			new-held) what="new buyers, 2 s later (held)" ;;
			esac
			printf '%-44s %10s %10s %10s %8s\n' "$what" \
				"$(cpu_per_msg "rs-$k")" "$(median "rs-$k" p99_ms)" \
				"$(median "rs-$k" p999_ms)" \
				"$(maxof "rs-$k" errors)"
		done
		echo "crashes: $crashed"
	} >"$out/restart.txt"
	echo
	cat "$out/restart.txt"
}

# Buyer messages: the corpus when it is there, else loadgen's own list
# (matchbench has no list of its own: it needs the corpus).
TEXTS=
MTEXTS=
if [ -f tests/corpus/messages.tsv ]; then
	cp tests/corpus/messages.tsv "$tmp/messages.tsv"
	TEXTS="--texts $tmp/messages.tsv"
	MTEXTS="--texts $tmp/messages.tsv"
fi

case $what in
all) bench_all ;;
soak) bench_soak "$2" ;;
evlib) bench_evlib ;;
restart) bench_restart ;;
*)
	echo "usage: bench.sh [all | soak [MINUTES] | evlib | restart]" >&2
	exit 2
	;;
esac
[ $crashed -eq 0 ]
