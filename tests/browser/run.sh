#!/bin/sh
# Browser stage: headless Chromium (Debian's chromium, driven by
# playwright-core) loads the buyer chat page from a real `xiaoer serve` and
# chats with it.  Run from anywhere; BUILD is the build dir (default build).
# Installs only what is missing: Debian chromium (+ a CJK font so that the
# screenshot is readable) and the npm packages of package-lock.json.
# The last line is always "browser: N passed, N failed".
BUILD=${BUILD:-build}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export CHROMIUM
cd "$(dirname "$0")/../.." || exit 2
here=tests/browser

fail() {
	echo "browser: $*" >&2
	echo "browser: 0 passed, 1 failed"
	exit 1
}

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@"
	else
		echo "browser: not root and no sudo for: $*" >&2
		return 1
	fi
}

apt_install() {
	as_root apt-get update -qq >/dev/null &&
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq "$@" >/dev/null
}

has_cjk_font() {
	command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]
}

# --- what the stage needs ---------------------------------------------------

case $BUILD in
/*) bin=$BUILD/xiaoer ;;
*) bin=./$BUILD/xiaoer ;;
esac
[ -x "$bin" ] || fail "$bin is not built (make $BUILD/xiaoer)"

if [ ! -x "$CHROMIUM" ]; then
	echo "browser: installing Debian chromium (apt-get install chromium fonts-wqy-microhei)"
	apt_install chromium fonts-wqy-microhei ||
		fail "cannot install Debian chromium (apt-get install chromium failed; no network or no root?): the browser tests cannot run"
	[ -x "$CHROMIUM" ] || fail "chromium installed but $CHROMIUM is missing"
fi
if ! has_cjk_font; then
	# Only the screenshot needs it; the tests read text, not pixels.
	echo "browser: installing a CJK font for readable screenshots (fonts-wqy-microhei)"
	apt_install fonts-wqy-microhei || echo "browser: warning: no CJK font; the screenshot will show boxes for Chinese" >&2
fi

command -v node >/dev/null 2>&1 || fail "node is missing (Node.js >= 20 is needed for playwright-core)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
	fail "node $(node --version) is too old: playwright-core needs Node.js >= 20"

# npm ci only when node_modules does not hold exactly what the lock pins.
if ! node -e '
	const fs = require("fs");
	const lock = JSON.parse(fs.readFileSync(process.argv[1] + "/package-lock.json", "utf8"));
	for (const [p, v] of Object.entries(lock.packages)) {
		if (!p) continue;
		const got = JSON.parse(fs.readFileSync(process.argv[1] + "/" + p + "/package.json", "utf8"));
		if (got.version !== v.version) process.exit(1);
	}' "$here" 2>/dev/null; then
	echo "browser: npm ci in $here"
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
		fail "npm ci failed in $here (is the npm registry reachable?)"
fi

# --- the server ---------------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xiaoer-browser.XXXXXX") || fail "mktemp failed"
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -9 "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$bin" serve --port 0 --db "$tmp/x.db" --content . --www bot/www \
	>"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!

url=
i=0
while [ $i -lt 100 ]; do
	url=$(sed -n 's|^xiaoer: listening on \(http://127\.0\.0\.1:[0-9][0-9]*/\)$|\1|p' "$tmp/server.err" | head -n 1)
	[ -n "$url" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
	i=$((i + 1))
done
if [ -z "$url" ]; then
	echo "browser: server stderr:" >&2
	tail -n 20 "$tmp/server.err" >&2
	kill -0 "$pid" 2>/dev/null &&
		fail "no 'xiaoer: listening on http://127.0.0.1:PORT/' line within 10 s"
	fail "xiaoer serve exited before listening"
fi

# --- the tests ----------------------------------------------------------------

XIAOER_BIN="$bin" XIAOER_TMP="$tmp" \
	node "$here/chat.test.mjs" "$url" >"$tmp/test.out" 2>&1
rc=$?
result=$(grep -E '^browser: [0-9]+ passed, [0-9]+ failed$' "$tmp/test.out" | tail -n 1)
grep -v -E '^browser: [0-9]+ passed, [0-9]+ failed$' "$tmp/test.out"
if [ $rc -ne 0 ] || [ -z "$result" ]; then
	echo "browser: server stderr (last lines):"
	tail -n 15 "$tmp/server.err"
fi
if [ -z "$result" ]; then
	echo "browser: chat.test.mjs died (exit $rc) without a result"
	echo "browser: 0 passed, 1 failed"
	exit 1
fi
echo "$result"
[ $rc -eq 0 ]
