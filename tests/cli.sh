#!/bin/sh
# cli.sh - tests of the offline commands: classify, replay, check,
# scripts search, config errors, and the log tools export-log, unmatched
# and replay --against (on a database filled with the sqlite3 CLI).  Run
# from the repository root; BUILD names the build directory (default
# build).  Failures print the test id, what was expected and what came
# out.  The last line is "cli: N passed, N failed".
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

# ---- export-log --------------------------------------------------------

# The database: an empty file that xiaoer migrates on open, then rows put
# in with the sqlite3 CLI.  2026-11-11 00:00:00 +08:00 is 1794326400000.
db=$tmp/log.db
out=$tmp/export-missing.err
run export-log --db "$tmp/no-such.db" >"$tmp/export-missing.out" 2>"$out"
expect cli-export-1 "export-log on a missing database: expected exit 1, got $rc" \
	[ "$rc" -eq 1 ]
expect cli-export-2 "a missing database is named and not created" \
	sh -c "grep -q 'no-such\\.db' '$out' && [ ! -e '$tmp/no-such.db' ]"

: >"$db"
out=$tmp/export-empty.out
run export-log --db "$db" >"$out" 2>"$tmp/export-empty.err"
expect cli-export-3 "export-log on an empty database: expected exit 0 and no output, got exit $rc" \
	both_eq "$rc" 0 "$(wc -c <"$out")" 0

if ! command -v sqlite3 >/dev/null 2>&1; then
	fail cli-export-0 "the sqlite3 CLI is missing (make deps installs it)"
	finish
fi
sqlite3 "$db" <<'SQL'
INSERT INTO messages (buyer, role, msg_id, text, intent, topic, action,
  script, at_ms) VALUES
 ('b2', 'buyer', 'm1', '我的快递到哪了', 'logistics.where', 'logistics',
  'reply', 'logistics.where@1', 1794326400000),
 ('b2', 'bot', NULL, '亲，正在为您查询', 'logistics.where', 'logistics',
  'reply', 'logistics.where@1', 1794326400100),
 ('b1', 'buyer', 'm2', '你好', 'smalltalk.hello', 'smalltalk', 'reply',
  'smalltalk.hello@1', 1794326500000),
 ('b1', 'buyer', 'm3', 'asdf "x"' || char(9) || 'y\z', NULL, NULL,
  'clarify', 'fallback@1', 1794326600000),
 ('b2', 'agent', NULL, '您好我是客服小美', NULL, NULL, NULL, NULL,
  1794326700000),
 ('b2', 'buyer', 'm4', '转人工', 'human.request', 'human', 'escalate',
  'human.request@1', 1794412800000);
INSERT INTO unmatched (buyer, text, normalized, at_ms) VALUES
 ('b1', 'asdf', 'asdf', 1794326600000),
 ('b3', 'ASDF', 'asdf', 1794326700000),
 ('b4', 'zzz', 'zzz', 1794326800000),
 ('b5', 'Asdf!', 'asdf', 1794412800000),
 ('b6', 'qq', 'qq', 1794412800000),
 ('b7', 'QQ' || char(9) || 'tab', 'qq', 1794412900000);
SQL
rc=$?
expect cli-export-4 "sqlite3 fills the migrated database (exit $rc)" [ "$rc" -eq 0 ]

# count_at FILE: how many turns ("at" keys) FILE holds.
count_at() {
	grep -o '"at"' "$1" | wc -l
}

out=$tmp/export.out
run export-log --db "$db" >"$out" 2>"$tmp/export.err"
nout=$(wc -l <"$out")
expect cli-export-5 "export-log: expected exit 0 and 2 lines (one per buyer), got exit $rc and $nout lines" \
	both_eq "$rc" 0 "$nout" 2
if command -v python3 >/dev/null 2>&1; then
	expect cli-export-6 "every line is a JSON object with id and turns" \
		python3 -c 'import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    o = json.loads(line)
    assert isinstance(o["id"], str) and isinstance(o["turns"], list)' "$out"
fi
expect cli-export-7 "b1 first, its turns in time order with Shanghai times and the bot's decision" \
	line_matches 1 '^\{"id":"b1","turns":\[\{"text":"你好","at":"2026-11-11 00:01:40","intent":"smalltalk\.hello","action":"reply","script":"smalltalk\.hello@1"\},\{"text":"asdf .*","at":"2026-11-11 00:03:20","intent":null,"action":"clarify","script":"fallback@1"\}\]\}$'
expect cli-export-8 "quotes, tabs and backslashes are JSON-escaped" \
	grep -Fq '"text":"asdf \"x\"\ty\\z"' "$out"
expect cli-export-9 "b2: its buyer lines of 00:00:00 and of the next day" \
	line_matches 2 '^\{"id":"b2","turns":\[\{"text":"我的快递到哪了","at":"2026-11-11 00:00:00",[^]]*\},\{"text":"转人工","at":"2026-11-12 00:00:00",[^]]*\}\]\}$'
expect cli-export-10 "no bot or agent text in the export" \
	sh -c "! grep -Eq '正在为您查询|客服小美' '$out'"
expect cli-export-11 "stderr counts 4 turns of 2 conversations" \
	grep -q 'exported 4 turns of 2 conversations' "$tmp/export.err"

# The export replays as it is.
out=$tmp/export-replay.out
"$X" export-log --db "$db" 2>/dev/null |
	timeout 20 "$X" replay --content . - >"$out" 2>"$tmp/export-replay.err"
rc=$?
nout=$(wc -l <"$out")
expect cli-export-12 "export-log | replay -: expected exit 0 and 4 turns, got exit $rc and $nout" \
	both_eq "$rc" 0 "$nout" 4

out=$tmp/export-since.out
run export-log --db "$db" --since "2026-11-11 00:01" --until 2026-11-12 >"$out" 2>/dev/null
expect cli-export-13 "--since 00:01 --until 2026-11-12 (exclusive): b1's 2 turns only (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && [ \$(wc -l <'$out') -eq 1 ] &&
		grep -q '^{\"id\":\"b1\"' '$out' && [ $(count_at "$out") -eq 2 ]"
run export-log --db "$db" --since 2026-11-12 >"$out" 2>/dev/null
expect cli-export-14 "--since 2026-11-12: b2's 转人工 only (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && [ \$(wc -l <'$out') -eq 1 ] &&
		grep -q '^{\"id\":\"b2\",\"turns\":\[{\"text\":\"转人工\"' '$out' &&
		[ $(count_at "$out") -eq 1 ]"
run export-log --db "$db" --now "2026-11-12 12:00" --since 24h >"$out" 2>/dev/null
expect cli-export-15 "--since 24h with --now 2026-11-12 12:00: 转人工 only (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && [ $(count_at "$out") -eq 1 ] && grep -q '转人工' '$out'"
run export-log --db "$db" --now "2026-11-12 12:00" --since 2d >"$out" 2>/dev/null
expect cli-export-16 "--since 2d: all 4 turns (exit $rc)" \
	sh -c "[ $rc -eq 0 ] && [ $(count_at "$out") -eq 4 ]"

out=$tmp/export-bad.err
for bad in x 2026-13-01 "2026-11-11 25:00" 24m; do
	run export-log --db "$db" --since "$bad" >/dev/null 2>"$out"
	expect "cli-export-bad-$bad" "--since '$bad': expected exit 2 and 'bad time', got $rc" \
		sh -c "[ $rc -eq 2 ] && grep -Fq \"bad time '$bad': use YYYY-MM-DD [HH:MM[:SS]] or 24h/7d\" '$out'"
done
run export-log --db "$db" --until 2026-11-31 >/dev/null 2>"$out"
expect cli-export-17 "a bad --until: expected exit 2 and 'bad time', got $rc" \
	sh -c "[ $rc -eq 2 ] && grep -Fq \"bad time '2026-11-31'\" '$out'"

# ---- unmatched ---------------------------------------------------------

out=$tmp/unmatched.out
run unmatched --db "$db" >"$out" 2>"$tmp/unmatched.err"
printf '%s\t%s\t%s\t%s\n' \
	3 asdf 'Asdf!' '2026-11-12 00:00:00' \
	2 qq 'QQ tab' '2026-11-12 00:01:40' \
	1 zzz zzz '2026-11-11 00:06:40' >"$tmp/unmatched.expect"
echo 'unmatched: 6 messages in 3 forms since all time, top 3 shown' \
	>>"$tmp/unmatched.expect"
expect cli-unmatched-1 "unmatched (exit $rc): most frequent first, latest example, tabs in text as spaces, summary" \
	cmp -s "$tmp/unmatched.expect" "$out"
head -n 2 "$tmp/unmatched.expect" >"$tmp/unmatched.top2"
echo 'unmatched: 6 messages in 3 forms since all time, top 2 shown' \
	>>"$tmp/unmatched.top2"
run unmatched --db "$db" 2 >"$out" 2>/dev/null
expect cli-unmatched-2 "unmatched 2 (exit $rc): the top 2 groups and the summary" \
	cmp -s "$tmp/unmatched.top2" "$out"
run unmatched --db "$db" --since 2026-11-12 >"$out" 2>/dev/null
expect cli-unmatched-3 "--since 2026-11-12 (exit $rc): qq (2) before asdf (1), since shown" \
	sh -c "[ $rc -eq 0 ] && sed -n 1p '$out' | grep -q '^2${TAB}qq${TAB}' &&
		sed -n 2p '$out' | grep -q '^1${TAB}asdf${TAB}' &&
		grep -q '^unmatched: 3 messages in 2 forms since 2026-11-12 00:00:00' '$out'"
out=$tmp/unmatched-bad.err
for bad in 0 x 1x; do
	run unmatched --db "$db" "$bad" >/dev/null 2>"$out"
	expect "cli-unmatched-bad-$bad" "unmatched '$bad': expected exit 2 and usage, got $rc" \
		sh -c "[ $rc -eq 2 ] && grep -q 'usage' '$out'"
done
run unmatched --db "$db" --since yesterday >/dev/null 2>"$out"
expect cli-unmatched-4 "--since yesterday: expected exit 2 and 'bad time', got $rc" \
	sh -c "[ $rc -eq 2 ] && grep -q \"bad time 'yesterday'\" '$out'"

# ---- replay --against --------------------------------------------------

# The "current" content: the shipped one with logistics.where renamed to
# logistics.track and its bare "到哪了" pattern dropped.  The shipped
# content plays the previous version.
new=$tmp/content-new
mkdir "$new" && cp -R intents scripts-zh "$new/"
for f in "$new"/intents/*.json "$new"/scripts-zh/*.json; do
	sed -e 's/"logistics\.where"/"logistics.track"/g' \
		-e '/^ *"(到哪|到那|到哪儿)(了|啦|呢|去了)",$/d' "$f" >"$f.tmp" &&
		mv "$f.tmp" "$f"
done
nold=$(wc -l <intents/logistics.json)
nnew=$(wc -l <"$new/intents/logistics.json")
expect cli-against-0 "the edited copy renames logistics.where, drops one pattern and loads" \
	sh -c "grep -q '\"logistics.track\"' '$new/intents/logistics.json' &&
		[ $nnew -eq $((nold - 1)) ] && '$X' check --content '$new' >/dev/null 2>&1"
cat >"$tmp/against.jsonl" <<'EOF'
{"id":"s1","turns":[{"text":"你好"},{"role":"agent","text":"您好"},{"text":"我的快递到哪了"}]}
{"id":"s2","turns":[{"role":"buyer","text":"到哪了"}]}

{"id":"s3","turns":[{"text":"转人工"}]}
EOF
out=$tmp/against.out
run replay --against . --content "$new" "$tmp/against.jsonl" >"$out" 2>"$tmp/against.err"
expect cli-against-1 "replay --against: exit 0 (got $rc)" [ "$rc" -eq 0 ]
expect cli-against-2 "s1 turn 2 (after an agent line): where -> track" \
	grep -Eq '^s1 2: logistics\.where/reply/logistics\.where@[0-9]+ -> logistics\.track/reply/logistics\.track@[0-9]+  \| 我的快递到哪了$' "$out"
expect cli-against-3 "s2 turn 0: where -> fallback" \
	grep -Eq '^s2 0: logistics\.where/reply/logistics\.where@[0-9]+ -> fallback/clarify/fallback@[0-9]+  \| 到哪了$' "$out"
n=$(grep -Ec '^s[0-9]+ [0-9]+: ' "$out")
expect cli-against-4 "only the 2 changed turns are listed, got $n" [ "$n" -eq 2 ]
expect cli-against-5 "summary: 3 sessions, 4 turns compared, 2 changed" \
	grep -q '^replay: 3 sessions, 4 turns compared, 2 changed' "$out"
expect cli-against-6 "logistics.where stopped firing" \
	grep -Eq '^ *intents that stopped firing: (.*[ ,])?logistics\.where(,|$)' "$out"
expect cli-against-7 "logistics.track newly fires" \
	grep -Eq '^ *intents that newly fire: (.*[ ,])?logistics\.track(,|$)' "$out"
expect cli-against-8 "one new miss, no fixed miss" \
	sh -c "grep -Eq '^ *new misses.*: 1$' '$out' && grep -Eq '^ *fixed misses.*: 0$' '$out'"

run replay --against "$new" --content . "$tmp/against.jsonl" >"$out" 2>&1
expect cli-against-9 "the other way round (exit $rc): one fixed miss, track stopped firing" \
	sh -c "[ $rc -eq 0 ] && grep -Eq '^ *fixed misses.*: 1$' '$out' &&
		grep -Eq '^ *new misses.*: 0$' '$out' &&
		grep -Eq '^ *intents that stopped firing: (.*[ ,])?logistics\.track(,|$)' '$out'"
run replay --against . --content . "$tmp/against.jsonl" >"$out" 2>&1
expect cli-against-10 "the same content on both sides (exit $rc): nothing changed" \
	sh -c "[ $rc -eq 0 ] && grep -q ' 0 changed' '$out' &&
		grep -q 'stopped firing: (none)' '$out' && ! grep -Eq '^s[0-9]+ ' '$out'"
out=$tmp/against-bad.err
run replay --against . --content . "$tmp/bad2.jsonl" >/dev/null 2>"$out"
expect cli-against-11 "a line without turns: expected exit 1 naming line 3, got $rc" \
	sh -c "[ $rc -eq 1 ] && grep -q ':3: ' '$out'"
run replay --against "$tmp/no-such-dir" --content . "$tmp/against.jsonl" >/dev/null 2>"$out"
expect cli-against-12 "--against a missing directory: expected exit 1 naming it, got $rc" \
	sh -c "[ $rc -eq 1 ] && grep -q 'no-such-dir' '$out'"
run replay --against . --content . >/dev/null 2>"$out"
expect cli-against-13 "--against without FILE: expected usage and exit 2, got $rc" \
	sh -c "[ $rc -eq 2 ] && grep -q 'usage' '$out'"

finish
