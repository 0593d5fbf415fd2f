#!/bin/sh
# cli.sh - tests of the offline commands: classify, replay, check,
# scripts search and config errors.  Run from the repository root; BUILD
# names the build directory (default build).  Failures print the test id,
# what was expected and what came out.  The last line is
# "cli: N passed, N failed".
# shellcheck disable=SC2317 # functions run through expect()
BUILD=${BUILD:-build}
case $BUILD in
/*) X=$BUILD/xiaoer ;;
*) X=./$BUILD/xiaoer ;;
esac
TAB=$(printf '\t')
passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xiaoer-cli.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 2' INT TERM

pass() {
	passed=$((passed + 1))
}

# fail ID WHAT [FILE]: count a failure, show WHAT and the output FILE.
fail() {
	failed=$((failed + 1))
	echo "FAIL $1: $2" >&2
	if [ -n "$3" ] && [ -f "$3" ]; then
		echo "---- got:" >&2
		head -n 20 "$3" >&2
		echo "----" >&2
	fi
}

# expect ID WHAT COMMAND...: COMMAND must succeed.
expect() {
	id=$1
	what=$2
	shift 2
	if "$@"; then
		pass
	else
		fail "$id" "$what" "$out"
	fi
}

# both_eq A B C D: A = B and C = D (numbers).
both_eq() {
	[ "$1" -eq "$2" ] && [ "$3" -eq "$4" ]
}

# in_range N LO HI
in_range() {
	[ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

finish() {
	echo "cli: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if [ ! -x "$X" ]; then
	fail cli-0 "'$X' is not an executable (run make first)"
	finish
fi

# Run the binary with a time limit so that a hang fails instead of
# blocking the suite.  Sets $rc.
run() {
	timeout 20 "$X" "$@"
	rc=$?
}

# ---- classify ----------------------------------------------------------

out=$tmp/classify.out
cat >"$tmp/classify.in" <<'EOF'
我的快递到哪了
转人工
asdfgh qwer

我要投诉你们 骗子
@@@ ### $$$ %%% ^^^
請問什麼時候發貨
EOF
run classify --content . <"$tmp/classify.in" >"$out" 2>"$tmp/classify.err"
expect cli-classify-1 "classify exits 0 (exit $rc)" [ "$rc" -eq 0 ]
nin=$(wc -l <"$tmp/classify.in")
nout=$(wc -l <"$out")
expect cli-classify-2 "one output line per input line: expected $nin, got $nout" \
	[ "$nin" -eq "$nout" ]
bad=$(awk -F"$TAB" 'NF != 4' "$out" | wc -l)
expect cli-classify-3 "every line is topic<TAB>intent<TAB>action<TAB>script: $bad are not" \
	[ "$bad" -eq 0 ]
bad=$(awk -F"$TAB" '$1 !~ /^(promotion|product|shipping|logistics|payment|aftersale|invoice|address|human|complaint|smalltalk|unknown)$/ ||
	$3 !~ /^(reply|clarify|escalate|complaint)$/' "$out" | wc -l)
expect cli-classify-4 "topics from the fixed set and known actions: $bad lines are not" \
	[ "$bad" -eq 0 ]

# line_matches N REGEX: line N of $out matches the extended REGEX.
line_matches() {
	sed -n "$1p" "$out" | grep -Eq "$2"
}

expect cli-classify-5 "我的快递到哪了 -> logistics logistics.where reply logistics.where@N" \
	line_matches 1 "^logistics${TAB}logistics\.where${TAB}reply${TAB}logistics\.where@[0-9]+\$"
expect cli-classify-6 "转人工 -> human human.request escalate" \
	line_matches 2 "^human${TAB}human\.request${TAB}escalate${TAB}[^${TAB}]+@[0-9]+\$"
expect cli-classify-7 "gibberish -> unknown fallback clarify fallback@N" \
	line_matches 3 "^unknown${TAB}fallback${TAB}clarify${TAB}fallback@[0-9]+\$"
expect cli-classify-8 "a complaint -> complaint complaint.* complaint" \
	line_matches 5 "^complaint${TAB}complaint\.[a-z_.]+${TAB}complaint${TAB}"
expect cli-classify-9 "請問什麼時候發貨 -> shipping shipping.when" \
	line_matches 7 "^shipping${TAB}shipping\.when${TAB}"

# A last line without a newline and a line of invalid UTF-8 still count.
out=$tmp/classify2.out
printf '你好\n\377\376 garbage \300\257\n转人工' >"$tmp/classify2.in"
run classify --content . <"$tmp/classify2.in" >"$out" 2>&1
nout=$(wc -l <"$out")
expect cli-classify-10 "3 input lines (invalid UTF-8, no final newline): expected 3 lines and exit 0, got $nout lines and exit $rc" \
	both_eq "$nout" 3 "$rc" 0

# ---- replay ------------------------------------------------------------

out=$tmp/replay.out
cat >"$tmp/replay.jsonl" <<'EOF'
{"id":"s1","source":"export","turns":[{"role":"buyer","text":"你好"},{"role":"buyer","text":"我的快递到哪了"}]}
{"id":"s2","turns":[{"text":"asdfgh qwer"},{"text":"zzzz 1234 xkcd"}]}
{"id":"s3","turns":[{"text":"qwerty zxcv"}]}
EOF
run replay --content . "$tmp/replay.jsonl" >"$out" 2>"$tmp/replay.err"
expect cli-replay-1 "replay exits 0 (exit $rc)" [ "$rc" -eq 0 ]
nout=$(wc -l <"$out")
expect cli-replay-2 "one JSON line per turn: expected 5, got $nout" [ "$nout" -eq 5 ]
bad=0
for key in session turn topic intent action script text; do
	n=$(grep -c "\"$key\" *:" "$out")
	[ "$n" -eq 5 ] || bad=$((bad + 1))
done
expect cli-replay-3 "every line has session turn topic intent action script text" \
	[ "$bad" -eq 0 ]

# turn_has SESSION TURN REGEX: that turn's line matches REGEX.
turn_has() {
	grep -E "\"session\" *: *\"$1\"" "$out" |
		grep -E "\"turn\" *: *$2 *[,}]" | grep -Eq "$3"
}

expect cli-replay-4 "s1 turn 1: intent logistics.where" \
	turn_has s1 1 '"intent" *: *"logistics\.where"'
expect cli-replay-5 "s2 turn 0 (first gibberish): action clarify" \
	turn_has s2 0 '"action" *: *"clarify"'
expect cli-replay-6 "s2 turn 1 (second gibberish): action escalate" \
	turn_has s2 1 '"action" *: *"escalate"'
expect cli-replay-7 "s3 is a fresh conversation: its gibberish turn 0 is clarify" \
	turn_has s3 0 '"action" *: *"clarify"'

out=$tmp/replay-bad.err
cat >"$tmp/bad.jsonl" <<'EOF'
{"id":"s1","turns":[{"text":"你好"}]}
{"id":"s2","turns":[{"text":
EOF
run replay --content . "$tmp/bad.jsonl" >"$tmp/replay-bad.out" 2>"$out"
expect cli-replay-8 "malformed JSON line: expected a non-zero exit, got $rc" \
	[ "$rc" -ne 0 ]
expect cli-replay-9 "malformed JSON line: stderr names line 2" \
	grep -Eq '(:2([^0-9]|$)|line 2([^0-9]|$))' "$out"

cat >"$tmp/bad2.jsonl" <<'EOF'
{"id":"s1","turns":[{"text":"你好"}]}
{"id":"s2","turns":[{"text":"谢谢"}]}
{"id":"s3","text":"no turns here"}
EOF
run replay --content . "$tmp/bad2.jsonl" >"$tmp/replay-bad2.out" 2>"$out"
expect cli-replay-10 "line without \"turns\": expected a non-zero exit, got $rc" \
	[ "$rc" -ne 0 ]
expect cli-replay-11 "line without \"turns\": stderr names line 3" \
	grep -Eq '(:3([^0-9]|$)|line 3([^0-9]|$))' "$out"

# ---- check -------------------------------------------------------------

out=$tmp/check.out
run check --content . >"$out" 2>&1
expect cli-check-1 "check on the shipped content exits 0 (exit $rc)" [ "$rc" -eq 0 ]
expect cli-check-2 "check prints an ok line" grep -iq 'ok' "$out"

# Each broken fixture: exit non-zero, "FILE:LINE:COL: reason" naming the
# file with the problem and a key word of the reason, and nothing about
# the fixture's sound base files.
while read -r name file words; do
	dir=tests/fixtures/broken/$name
	out=$tmp/check-$name.out
	if [ ! -d "$dir" ]; then
		fail "cli-check-$name" "missing fixture $dir"
		continue
	fi
	run check --content "$dir" </dev/null >"$out" 2>&1
	expect "cli-check-$name-1" "check $dir: expected a non-zero exit, got $rc" \
		[ "$rc" -ne 0 ]
	expect "cli-check-$name-2" "check $dir: expected '$file:LINE:COL: ...'" \
		grep -Eq "$file:[0-9]+:[0-9]+: *[^ ]" "$out"
	expect "cli-check-$name-3" "check $dir: expected the reason to mention /$words/" \
		grep -Eiq "$words" "$out"
	expect "cli-check-$name-4" "check $dir: only the broken file is faulted, not base.json" \
		sh -c "! grep -q 'base\\.json' '$out'"
done <<'EOF'
bad_json intents/broken\.json json|expected|invalid|syntax|token|parse
unknown_key intents/broken\.json synonyms|unknown
bad_regex intents/broken\.json regex|pattern|pcre|parenthes|missing|compile
example_mismatch intents/broken\.json example
counter_example intents/broken\.json counter
no_script intents/broken\.json script
bad_slot scripts-zh/broken\.json slot|coupon_code
bad_button scripts-zh/broken\.json button|payload|no\.such\.intent
no_approver scripts-zh/broken\.json approver
unknown_topic intents/broken\.json topic|weather
EOF

# ---- scripts search ----------------------------------------------------

out=$tmp/search.out
run scripts search 物流 --content . >"$out" 2>&1
expect cli-search-1 "scripts search 物流 exits 0 (exit $rc)" [ "$rc" -eq 0 ]
expect cli-search-2 "scripts search 物流 lists logistics.where@N" \
	grep -Eq 'logistics\.where[a-z_.]*@[0-9]+' "$out"
expect cli-search-3 "scripts search 物流 shows the status" \
	grep -Eq 'approved|draft' "$out"
expect cli-search-4 "hits show their text (物流 on a line other than the summary)" \
	sh -c "grep '物流' '$out' | grep -qv 'match'"

out=$tmp/search-none.out
run scripts search 这个词不会出现在任何话术里 --content . >"$out" 2>&1
expect cli-search-5 "a word with no hits: expected exit 1, got $rc" [ "$rc" -eq 1 ]
expect cli-search-6 "a word with no hits prints 'no scripts match'" \
	grep -iq 'no scripts match' "$out"

# ---- config errors -----------------------------------------------------

conf=$tmp/bad.conf
printf '# a config with a typo\nport 0\nlisen 127.0.0.1\n' >"$conf"
out=$tmp/conf.out
run check -c "$conf" --content . >"$out" 2>&1
expect cli-config-1 "unknown key: expected a non-zero exit, got $rc" [ "$rc" -ne 0 ]
expect cli-config-2 "unknown key: expected '$conf:3: unknown key'" \
	grep -Fq "$conf:3: unknown key" "$out"
out=$tmp/conf-serve.out
timeout 10 "$X" serve -c "$conf" --port 0 --db "$tmp/x.db" --content . \
	>"$out" 2>&1
rc=$?
expect cli-config-3 "serve with an unknown key: expected exit 1-123 (no start), got $rc" \
	in_range "$rc" 1 123
expect cli-config-4 "serve with an unknown key: expected '$conf:3: unknown key'" \
	grep -Fq "$conf:3: unknown key" "$out"

finish
