/*
 * ws_transcript.c - end-to-end tests over real websockets.
 *
 * Usage: ws_transcript PATH/TO/xiaoer   (run from the repository root)
 *
 * Each scenario starts its own server: a temporary directory (mkdtemp)
 * holds x.conf with the scenario's keys, x.db and stderr.log, and the
 * child runs
 *   xiaoer serve -c DIR/x.conf --port 0 --db DIR/x.db --content . --www bot/www
 * The port comes from the "xiaoer: listening on http://127.0.0.1:PORT/"
 * line of its stderr.  Children are stopped with SIGTERM, then SIGKILL
 * after 5 s, and killed at exit; a watchdog ends the whole run well
 * within two minutes.  The directory of a scenario that failed is kept and
 * named, with the tail of the server's log.
 *
 * Transcripts (tests/transcripts/NAME.txt), one conversation each:
 *   @ QUERY          first line: query of /ws/buyer?QUERY ("buyer=t-1")
 *   # comment
 *   > {"type":...}   send this frame verbatim (a line starting with '{')
 *   > plain text     send {"type":"message","id":"tN","text":"plain text"}
 *                    where N counts the messages sent so far (t1, t2, ...)
 *   < {json}         the next frame must contain every key of this object
 *                    (nested objects recursively; other values exactly).
 *                    A key may end in an operator:
 *                      "text~": "s"     the string contains s
 *                      "script^": "s"   the string starts with s
 *                      "intent|": [...] the value is one of the list
 *                      "buttons#": 1    an array (or string) of at least 1
 * Every frame received anywhere is also checked for the invariants of the
 * protocol: a reply has a non-empty text, intent, a known topic and action
 * and a script "id@version"; an error has a code and a non-empty message;
 * in a transcript a reply's reply_to is the id last sent.
 *
 * The last line is "ws: N passed, N failed".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sqlite3.h>

#include "test.h"
#include "../bot/util.h"
#include "wsclient.h"
#include "wsframe.h"

int test_passed, test_failed;
const char *test_id = "";

#define HOST		 "127.0.0.1"
#define WATCHDOG_S	 100
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS	 5000
#define FRAME_TIMEOUT_MS 3000
#define MAX_CHILDREN	 16

/* Config of the auth scenario. */
#define AUTH_SECRET "xiaoer-test-secret-0123456789"
#define API_KEY	    "gw-test-key-0123456789"

static const char *xiaoer;	      /* path of the binary under test */
static const char *content_dir = "."; /* --content of the next server */
static volatile pid_t children[MAX_CHILDREN];

struct server {
	char dir[64];
	char conf[96];
	char db[96];
	char log[96];
	pid_t pid;
	int port;
	int status; /* wait status once it has exited */
	bool exited;
	bool log_shown;	     /* its log tail was printed already */
	int failed_at_start; /* test_failed when it was started */
};

/* ---- checks ---------------------------------------------------------- */

static void
vcheck(const char *file, int line, bool ok, bool count_pass, const char *fmt,
       va_list ap)
{
	if (ok) {
		if (count_pass)
			test_passed++;
		return;
	}
	test_failed++;
	fprintf(stderr, "FAIL %s %s:%d: ", test_id, file, line);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* An assertion: counts as passed or failed. */
static void check_at(const char *file, int line, bool ok, const char *fmt, ...)
	BOT_PRINTF(4, 5);
static void
check_at(const char *file, int line, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcheck(file, line, ok, true, fmt, ap);
	va_end(ap);
}

/* A precondition (a send, a frame's shape): counts only when it fails. */
static void fault_at(const char *file, int line, bool ok, const char *fmt, ...)
	BOT_PRINTF(4, 5);
static void
fault_at(const char *file, int line, bool ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcheck(file, line, ok, false, fmt, ap);
	va_end(ap);
}

#define CHECK_AT(ok, ...) check_at(__FILE__, __LINE__, (ok), __VA_ARGS__)
#define FAULT_AT(ok, ...) fault_at(__FILE__, __LINE__, (ok), __VA_ARGS__)

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- child processes ------------------------------------------------- */

static void
child_add(pid_t pid)
{
	size_t i;

	for (i = 0; i < MAX_CHILDREN; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
}

static void
child_del(pid_t pid)
{
	size_t i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i] == pid)
			children[i] = 0;
}

static void
kill_children(void)
{
	size_t i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
}

/* Async-signal-safe decimal formatting for the watchdog. */
static size_t
fmt_int(char *p, int v)
{
	char tmp[16];
	size_t n = 0, i;

	if (v < 0)
		v = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static void
on_watchdog(int sig)
{
	static const char msg[] = "FAIL watchdog: the run took too long\n";
	char line[96];
	size_t n = 0;

	(void)sig;
	kill_children();
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	memcpy(line, "ws: ", 4);
	n = 4;
	n += fmt_int(line + n, test_passed);
	memcpy(line + n, " passed, ", 9);
	n += 9;
	n += fmt_int(line + n, test_failed + 1);
	memcpy(line + n, " failed\n", 8);
	n += 8;
	if (write(1, line, n) < 0)
		_exit(1);
	_exit(1);
}

static void
on_signal(int sig)
{
	kill_children();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* XIAOER_WS_LOOP=poll runs every scenario on lws's poll() loop too. */
static int
append_loop(const char *path, const char *loop)
{
	FILE *f = fopen(path, "a");

	if (f == NULL)
		return -1;
	fprintf(f, "\nevent_loop %s\n", loop);
	return fclose(f);
}

/* Is the child still running?  Reaps it when it has exited. */
static bool
server_alive(struct server *s)
{
	pid_t r;

	if (s->pid <= 0 || s->exited)
		return false;
	r = waitpid(s->pid, &s->status, WNOHANG);
	if (r == 0)
		return true;
	s->exited = true;
	child_del(s->pid);
	return false;
}

static void
print_log_tail(struct server *s)
{
	size_t len = 0;
	char *text;
	const char *p;

	if (s->log_shown)
		return;
	s->log_shown = true;
	text = util_read_file(s->log, &len);
	if (text == NULL)
		return;
	p = len > 3000 ? text + len - 3000 : text;
	fprintf(stderr, "---- tail of %s\n%s\n----\n", s->log, p);
	free(text);
}

/*
 * Make s's directory and write 'conf' (with the loop XIAOER_WS_LOOP
 * names).  Returns 0, or -1 after recording a failure.
 */
static int
server_prepare_at(const char *file, int line, struct server *s,
		  const char *conf)
{
	memset(s, 0, sizeof(*s));
	s->failed_at_start = test_failed;
	snprintf(s->dir, sizeof(s->dir), "/tmp/xiaoer-ws.XXXXXX");
	if (mkdtemp(s->dir) == NULL) {
		check_at(file, line, false, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(s->conf, sizeof(s->conf), "%s/x.conf", s->dir);
	snprintf(s->db, sizeof(s->db), "%s/x.db", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/stderr.log", s->dir);
	if (write_file(s->conf, conf) < 0 ||
	    (getenv("XIAOER_WS_LOOP") &&
	     append_loop(s->conf, getenv("XIAOER_WS_LOOP")) < 0)) {
		check_at(file, line, false, "cannot write '%s'", s->conf);
		return -1;
	}
	return 0;
}

/*
 * Start a server with 'conf' as its config file.  Returns 0 once it
 * listens, or -1 after recording a failure.
 */
static int server_spawn_at(const char *file, int line, struct server *s);

static int
server_start_at(const char *file, int line, struct server *s, const char *conf)
{
	if (server_prepare_at(file, line, s, conf) < 0)
		return -1;
	return server_spawn_at(file, line, s);
}

#define server_start(s, conf) server_start_at(__FILE__, __LINE__, s, conf)

/* Start it again on the same config and database, once it has stopped
 * (server_stop, server_kill9); its log starts over. */
static int
server_restart_at(const char *file, int line, struct server *s)
{
	s->exited = false;
	s->status = 0;
	s->log_shown = false;
	unlink(s->log); /* or its old listening line would be read */
	return server_spawn_at(file, line, s);
}

#define server_restart(s) server_restart_at(__FILE__, __LINE__, s)

/*
 * Run xiaoer on s->conf and s->db, on 'port' (0: any), its stdout and
 * stderr going to 'out' (-1: s->log).  Returns 0 once it runs, or -1
 * after recording a failure.
 */
static int
server_exec_at(const char *file, int line, struct server *s, int port, int out)
{
	fflush(NULL);
	s->pid = fork();
	if (s->pid < 0) {
		check_at(file, line, false, "fork: %s", strerror(errno));
		return -1;
	}
	if (s->pid == 0) {
		int fd = out >= 0 ? out
				  : open(s->log, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
		int nul = open("/dev/null", O_RDONLY);
		char port_arg[16];

#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		snprintf(port_arg, sizeof(port_arg), "%d", port);
		execl(xiaoer, xiaoer, "serve", "-c", s->conf, "--port",
		      port_arg, "--db", s->db, "--content", content_dir,
		      "--www", "bot/www", (char *)NULL);
		fprintf(stderr, "exec '%s': %s\n", xiaoer, strerror(errno));
		_exit(127);
	}
	child_add(s->pid);
	return 0;
}

/* Run xiaoer on s->conf and s->db; 0 once it listens, or -1 after
 * recording a failure. */
static int
server_spawn_at(const char *file, int line, struct server *s)
{
	int64_t deadline;
	const char *key = "xiaoer: listening on http://" HOST ":";

	if (server_exec_at(file, line, s, 0, -1) < 0)
		return -1;
	deadline = mono_ms() + START_TIMEOUT_MS;
	for (;;) {
		char *text = util_read_file(s->log, NULL);
		const char *hit = text ? strstr(text, key) : NULL;

		if (hit && strchr(hit, '\n')) {
			const char *loop = getenv("XIAOER_WS_LOOP");
			char want[32];

			/* the loop the scenario asked for, named before */
			snprintf(want, sizeof(want), "xiaoer: event loop %s",
				 loop ? loop : "libev");
			s->port = atoi(hit + strlen(key));
			if (s->port > 0 && strstr(text, want) != NULL) {
				free(text);
				return 0;
			}
			free(text);
			check_at(file, line, false,
				 "bad listening line (expected port and '%s')",
				 want);
			print_log_tail(s);
			return -1;
		}
		free(text);
		if (!server_alive(s)) {
			check_at(file, line, false,
				 "server exited during start-up "
				 "(wait status %d)",
				 s->status);
			print_log_tail(s);
			return -1;
		}
		if (mono_ms() > deadline) {
			check_at(file, line, false,
				 "no 'xiaoer: listening on' line within %d ms",
				 START_TIMEOUT_MS);
			print_log_tail(s);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &s->status, 0);
			s->exited = true;
			child_del(s->pid);
			return -1;
		}
		sleep_ms(20);
	}
}

/* Wait up to 'ms' for the child to exit; true when it has. */
static bool
server_wait(struct server *s, int ms)
{
	int64_t deadline = mono_ms() + ms;

	while (server_alive(s)) {
		if (mono_ms() > deadline)
			return false;
		sleep_ms(10);
	}
	return true;
}

/*
 * SIGTERM, then SIGKILL after 5 s.  Returns the time to exit in ms, or
 * -1 when SIGKILL was needed.
 */
static int
server_stop(struct server *s)
{
	int64_t t0 = mono_ms();

	if (!server_alive(s))
		return 0;
	kill(s->pid, SIGTERM);
	if (server_wait(s, STOP_TIMEOUT_MS))
		return (int)(mono_ms() - t0);
	kill(s->pid, SIGKILL);
	server_wait(s, 5000);
	return -1;
}

static void
server_kill9(struct server *s)
{
	if (!server_alive(s))
		return;
	kill(s->pid, SIGKILL);
	server_wait(s, 5000);
}

/* Stop it and check it exits with status 0 on SIGTERM. */
static void
server_stop_clean_at(const char *file, int line, struct server *s)
{
	bool was_alive = server_alive(s);
	int ms;

	if (s->pid <= 0)
		return;
	check_at(file, line, was_alive,
		 "server died during the scenario (wait status %d)", s->status);
	if (!was_alive)
		return;
	ms = server_stop(s);
	check_at(file, line,
		 ms >= 0 && WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0,
		 "SIGTERM: expected exit status 0 within %d ms, got %s %d",
		 STOP_TIMEOUT_MS,
		 ms < 0			? "SIGKILL needed, wait status"
		 : WIFEXITED(s->status) ? "exit status"
					: "signal",
		 ms < 0			? s->status
		 : WIFEXITED(s->status) ? WEXITSTATUS(s->status)
					: WTERMSIG(s->status));
}

#define server_stop_clean(s) server_stop_clean_at(__FILE__, __LINE__, s)

/* Remove the directory, or keep it (and show the log) after failures. */
static void
server_done(struct server *s)
{
	static const char *const files[] = {"x.conf",	    "x.db",
					    "x.db-wal",	    "x.db-shm",
					    "x.db-journal", "stderr.log"};
	char path[128];
	size_t i;

	server_kill9(s);
	if (s->dir[0] == '\0')
		return;
	if (test_failed > s->failed_at_start) {
		print_log_tail(s);
		fprintf(stderr, "kept %s for inspection\n", s->dir);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]);
		unlink(path);
	}
	rmdir(s->dir);
}

/* ---- frames ---------------------------------------------------------- */

static struct wsc *
ws_open_at(const char *file, int line, const struct server *s, const char *path)
{
	struct wsc *c;
	int status = 0;

	c = wsc_connect(HOST, s->port, path, NULL, &status);
	check_at(file, line, c != NULL, "connect %s: expected HTTP 101, got %d",
		 path, status);
	return c;
}

#define ws_open(s, path) ws_open_at(__FILE__, __LINE__, s, path)

static const char *
str_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static bool
nonempty(const char *s)
{
	return s && *s;
}

/* "id@version": something, '@', a positive integer. */
static bool
script_ok(const char *s)
{
	const char *at = s ? strrchr(s, '@') : NULL;

	if (at == NULL || at == s || at[1] < '1' || at[1] > '9')
		return false;
	for (at++; *at; at++)
		if (*at < '0' || *at > '9')
			return false;
	return true;
}

static char *
dump(const json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	return s ? s : xstrdup("(none)");
}

/* The invariants every frame of a kind must hold. */
static void
check_invariants(const char *file, int line, const json_t *f)
{
	static const char *const topics[] = {
		"promotion", "product", "shipping", "logistics", "payment",
		"aftersale", "invoice", "address",  "human",	 "complaint",
		"smalltalk", "unknown", NULL,
	};
	static const char *const actions[] = {"reply", "clarify", "escalate",
					      "complaint", NULL};
	const char *type = str_of(f, "type");
	struct strbuf why;
	char *text;

	strbuf_init(&why);
	if (type == NULL) {
		strbuf_addstr(&why, "no \"type\"; ");
	} else if (strcmp(type, "reply") == 0) {
		if (!nonempty(str_of(f, "text")))
			strbuf_addstr(&why, "empty or missing text; ");
		if (!nonempty(str_of(f, "intent")))
			strbuf_addstr(&why, "empty or missing intent; ");
		if (!in_list(str_of(f, "topic"), topics))
			strbuf_addstr(&why, "topic not in the fixed set; ");
		if (!in_list(str_of(f, "action"), actions))
			strbuf_addstr(&why, "action not one of reply clarify "
					    "escalate complaint; ");
		if (!script_ok(str_of(f, "script")))
			strbuf_addstr(&why, "script is not id@version; ");
		if (json_object_get(f, "reply_to") && !str_of(f, "reply_to"))
			strbuf_addstr(&why, "reply_to is not a string; ");
	} else if (strcmp(type, "error") == 0) {
		if (!nonempty(str_of(f, "code")))
			strbuf_addstr(&why, "empty or missing code; ");
		if (!nonempty(str_of(f, "message")))
			strbuf_addstr(&why, "empty or missing message; ");
	} else if (strcmp(type, "status") == 0) {
		if (!nonempty(str_of(f, "state")))
			strbuf_addstr(&why, "empty or missing state; ");
	}
	text = dump(f);
	fault_at(file, line, why.len == 0, "malformed frame %s: %s", text,
		 why.buf);
	free(text);
	strbuf_release(&why);
}

/*
 * Receive the next frame as a JSON object (new reference), checking the
 * invariants.  NULL (with a failure recorded) when there is
 * none within the timeout, the connection closed or it is not JSON.
 */
static json_t *
recv_json_at(const char *file, int line, struct wsc *c, int timeout_ms)
{
	struct strbuf payload;
	json_error_t jerr;
	json_t *f = NULL;
	int op = 0, rc;

	strbuf_init(&payload);
	rc = wsc_recv(c, timeout_ms, &op, &payload);
	if (rc != WSC_MESSAGE) {
		check_at(file, line, false,
			 "expected a frame within %d ms, got %s %d (%s)",
			 timeout_ms,
			 rc == WSC_TIMEOUT ? "timeout"
			 : rc == WSC_ERROR ? "error"
					   : "close code",
			 rc, wsc_error(c));
		goto out;
	}
	if (op != WSC_OP_TEXT) {
		check_at(file, line, false,
			 "expected a text frame, got opcode %d", op);
		goto out;
	}
	f = json_loadb(payload.buf, payload.len, 0, &jerr);
	if (!json_is_object(f)) {
		check_at(file, line, false,
			 "expected a JSON object, got '%s' (%s)", payload.buf,
			 jerr.text);
		json_decref(f);
		f = NULL;
		goto out;
	}
	check_invariants(file, line, f);
out:
	strbuf_release(&payload);
	return f;
}

#define recv_json(c, ms) recv_json_at(__FILE__, __LINE__, c, ms)

/* Like recv_json() but skips status frames (counted in '*nstatus'). */
static json_t *
recv_skip_status_at(const char *file, int line, struct wsc *c, int timeout_ms,
		    int *nstatus)
{
	int64_t deadline = mono_ms() + timeout_ms;

	for (;;) {
		int left = (int)(deadline - mono_ms());
		json_t *f = recv_json_at(file, line, c, left > 0 ? left : 1);
		const char *type = f ? str_of(f, "type") : NULL;

		if (type == NULL || strcmp(type, "status") != 0)
			return f;
		if (nstatus)
			(*nstatus)++;
		json_decref(f);
	}
}

#define recv_skip_status(c, ms, n)                                             \
	recv_skip_status_at(__FILE__, __LINE__, c, ms, n)

/* Does 'got' contain 'want' (with the key operators of the file head)? */
static bool
subset(const json_t *want, const json_t *got, struct strbuf *why)
{
	const char *key;
	json_t *wv;
	bool ok = true;

	json_object_foreach((json_t *)want, key, wv)
	{
		size_t klen = strlen(key);
		char base[128], op = 0;
		const json_t *gv;
		const char *gs;
		bool hit;

		snprintf(base, sizeof(base), "%s", key);
		if (klen > 1 && strchr("~^|#", key[klen - 1])) {
			op = key[klen - 1];
			base[klen - 1 < sizeof(base) ? klen - 1 : 0] = '\0';
		}
		gv = json_object_get(got, base);
		gs = json_is_string(gv) ? json_string_value(gv) : NULL;
		switch (op) {
		case '~':
			hit = gs && json_is_string(wv) &&
			      strstr(gs, json_string_value(wv));
			break;
		case '^':
			hit = gs && json_is_string(wv) &&
			      strncmp(gs, json_string_value(wv),
				      strlen(json_string_value(wv))) == 0;
			break;
		case '|': {
			size_t i;
			json_t *alt;

			hit = false;
			json_array_foreach(wv, i, alt)
			{
				if (gv && json_equal(alt, (json_t *)gv))
					hit = true;
			}
			break;
		}
		case '#':
			hit = (json_is_array(gv) &&
			       (json_int_t)json_array_size(gv) >=
				       json_integer_value(wv)) ||
			      (gs && (json_int_t)strlen(gs) >=
					     json_integer_value(wv));
			break;
		default:
			if (json_is_object(wv))
				hit = json_is_object(gv) && subset(wv, gv, why);
			else
				hit = gv && json_equal(wv, (json_t *)gv);
			break;
		}
		if (!hit) {
			char *w = dump(wv), *g = dump(gv);

			strbuf_addf(why, "\"%s\": want %s%s, got %s; ", base,
				    op == '~'	? "containing "
				    : op == '^' ? "starting with "
				    : op == '|' ? "one of "
				    : op == '#' ? "at least this many: "
						: "",
				    w, g);
			free(w);
			free(g);
			ok = false;
		}
	}
	return ok;
}

/*
 * Check that frame 'got' (may be NULL) contains 'want_text'.  Returns
 * true when it does.
 */
static bool
match_at(const char *file, int line, const json_t *got, const char *want_text)
{
	json_error_t jerr;
	json_t *want = json_loads(want_text, 0, &jerr);
	struct strbuf why;
	bool ok;
	char *g;

	if (want == NULL) {
		check_at(file, line, false, "bad expectation '%s': %s",
			 want_text, jerr.text);
		return false;
	}
	if (got == NULL) {
		json_decref(want);
		check_at(file, line, false, "expected %s, got no frame",
			 want_text);
		return false;
	}
	strbuf_init(&why);
	ok = subset(want, got, &why);
	g = dump(got);
	check_at(file, line, ok, "expected %s, got %s (%s)", want_text, g,
		 why.buf);
	free(g);
	strbuf_release(&why);
	json_decref(want);
	return ok;
}

#define match(got, want) match_at(__FILE__, __LINE__, got, want)

/* Receive the next frame and match it; true on a match. */
static bool
expect_at(const char *file, int line, struct wsc *c, const char *want)
{
	json_t *f = recv_json_at(file, line, c, FRAME_TIMEOUT_MS);
	bool ok = f ? match_at(file, line, f, want) : false;

	if (f == NULL)
		fprintf(stderr, "  (the frame expected was %s)\n", want);
	json_decref(f);
	return ok;
}

#define expect(c, want) expect_at(__FILE__, __LINE__, c, want)

static void
msg_frame(struct strbuf *sb, const char *id, const char *text,
	  const char *sender)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, "{\"type\":\"message\"");
	if (id) {
		strbuf_addstr(sb, ",\"id\":");
		strbuf_add_json_str(sb, id, strlen(id));
	}
	if (sender) {
		strbuf_addstr(sb, ",\"sender\":");
		strbuf_add_json_str(sb, sender, strlen(sender));
	}
	strbuf_addstr(sb, ",\"text\":");
	strbuf_add_json_str(sb, text, strlen(text));
	strbuf_addch(sb, '}');
}

static bool
send_msg_at(const char *file, int line, struct wsc *c, const char *id,
	    const char *text, const char *sender)
{
	struct strbuf sb;
	int rc;

	strbuf_init(&sb);
	msg_frame(&sb, id, text, sender);
	rc = wsc_send_text(c, sb.buf);
	fault_at(file, line, rc == 0, "send %s: %s", id ? id : "(no id)",
		 wsc_error(c));
	strbuf_release(&sb);
	return rc == 0;
}

#define send_msg(c, id, text) send_msg_at(__FILE__, __LINE__, c, id, text, NULL)

/* Send a message and expect a reply to it (status frames skipped). */
static bool
roundtrip_at(const char *file, int line, struct wsc *c, const char *id,
	     const char *text, int timeout_ms)
{
	struct strbuf want;
	json_t *f;
	bool ok;

	if (!send_msg_at(file, line, c, id, text, NULL))
		return false;
	f = recv_skip_status_at(file, line, c, timeout_ms, NULL);
	strbuf_init(&want);
	strbuf_addstr(&want, "{\"type\":\"reply\",\"reply_to\":");
	strbuf_add_json_str(&want, id, strlen(id));
	strbuf_addch(&want, '}');
	ok = match_at(file, line, f, want.buf);
	strbuf_release(&want);
	json_decref(f);
	return ok;
}

#define roundtrip(c, id, text)                                                 \
	roundtrip_at(__FILE__, __LINE__, c, id, text, FRAME_TIMEOUT_MS)

/*
 * Expect the server to close with 'code' within 'timeout_ms' (frames
 * before the close are skipped).
 */
static void
expect_close_at(const char *file, int line, struct wsc *c, int code,
		int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	struct strbuf payload;
	int rc, op = 0;

	strbuf_init(&payload);
	do {
		int left = (int)(deadline - mono_ms());

		rc = wsc_recv(c, left > 0 ? left : 1, &op, &payload);
	} while (rc == WSC_MESSAGE);
	check_at(file, line, rc == code,
		 "expected close code %d within %d ms, got %s %d (%s)", code,
		 timeout_ms,
		 rc == WSC_TIMEOUT ? "timeout"
		 : rc == WSC_ERROR ? "EOF/error without close frame"
				   : "close code",
		 rc, rc >= 1000 ? payload.buf : wsc_error(c));
	strbuf_release(&payload);
}

#define expect_close(c, code, ms)                                              \
	expect_close_at(__FILE__, __LINE__, c, code, ms)

/*
 * Receive answers (frames with reply_to) for ids PREFIX1..PREFIXn into
 * out[0..n-1] (new references), skipping status frames, until all are in
 * or the timeout.  Returns how many arrived.
 */
static size_t
collect_at(const char *file, int line, struct wsc *c, const char *prefix,
	   size_t n, json_t **out, int timeout_ms)
{
	int64_t deadline = mono_ms() + timeout_ms;
	size_t got = 0, plen = strlen(prefix);

	memset(out, 0, n * sizeof(*out));
	while (got < n) {
		int left = (int)(deadline - mono_ms());
		json_t *f;
		const char *type, *rt;
		char *d;
		long k;

		if (left <= 0) {
			check_at(file, line, false,
				 "expected answers to %zu messages "
				 "%s1..%s%zu within %d ms, got %zu",
				 n, prefix, prefix, n, timeout_ms, got);
			break;
		}
		f = recv_json_at(file, line, c, left);
		if (f == NULL)
			break;
		type = str_of(f, "type");
		rt = str_of(f, "reply_to");
		if (type && strcmp(type, "status") == 0) {
			json_decref(f);
			continue;
		}
		k = rt && strncmp(rt, prefix, plen) == 0
			    ? strtol(rt + plen, NULL, 10)
			    : 0;
		if (k < 1 || (size_t)k > n || out[k - 1]) {
			d = dump(f);
			check_at(file, line, false,
				 "unexpected frame while collecting %s*: %s",
				 prefix, d);
			free(d);
			json_decref(f);
			continue;
		}
		out[k - 1] = f;
		got++;
	}
	return got;
}

#define collect(c, prefix, n, out, ms)                                         \
	collect_at(__FILE__, __LINE__, c, prefix, n, out, ms)

static void
free_frames(json_t **f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		json_decref(f[i]);
}

static bool
is_type(const json_t *f, const char *type)
{
	const char *t = f ? str_of(f, "type") : NULL;

	return t && strcmp(t, type) == 0;
}

static bool
is_error(const json_t *f, const char *code)
{
	const char *c = f ? str_of(f, "code") : NULL;

	return is_type(f, "error") && c && strcmp(c, code) == 0;
}

/* ---- the database ---------------------------------------------------- */

static sqlite3 *
db_open_at(const char *file, int line, const char *path, bool readonly)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(
		path, &db,
		readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE, NULL);

	check_at(file, line, rc == SQLITE_OK, "sqlite3_open '%s': %s", path,
		 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	if (rc != SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 2000);
	return db;
}

#define db_open(path, ro) db_open_at(__FILE__, __LINE__, path, ro)

/*
 * Run 'sql' with up to two text parameters and return the first column of
 * the first row as an integer, or -1 (with a failure) on an error.
 */
static long
db_long_at(const char *file, int line, sqlite3 *db, const char *sql,
	   const char *a, const char *b)
{
	sqlite3_stmt *st = NULL;
	long v = -1;
	int rc;

	if (db == NULL)
		return -1;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		if (a)
			sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
		if (b)
			sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			v = (long)sqlite3_column_int64(st, 0);
	}
	check_at(file, line, rc == SQLITE_ROW, "sql '%s': %s", sql,
		 sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

#define db_long(db, sql, a, b) db_long_at(__FILE__, __LINE__, db, sql, a, b)

/* First column of the first row as text (new allocation) or NULL. */
static char *
db_text(sqlite3 *db, const char *sql, const char *a)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (db == NULL ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* ---- transcripts ----------------------------------------------------- */

static void
run_transcript(const struct server *s, const char *path)
{
	size_t len = 0;
	char *text = util_read_file(path, &len), *line, *next;
	char last_id[64] = "", want_rt[96];
	struct wsc *c = NULL;
	struct strbuf sb;
	int lineno = 0, nsent = 0;

	test_id = path;
	if (text == NULL) {
		CHECK_AT(false, "cannot read '%s': %s", path, strerror(errno));
		return;
	}
	strbuf_init(&sb);
	for (line = text; line && *line; line = next) {
		json_t *f;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (*line == '\0' || *line == '#')
			continue;
		if (c == NULL && line[0] != '@') {
			check_at(path, lineno, false,
				 "a transcript starts with '@ QUERY'");
			break;
		}
		if (line[0] == '@') {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "/ws/buyer?%s", line + 2);
			wsc_close(c);
			c = ws_open_at(path, lineno, s, sb.buf);
			if (c == NULL)
				break;
		} else if (line[0] == '>' && line[1] == ' ' && line[2] == '{') {
			json_t *j = json_loads(line + 2, 0, NULL);
			const char *id = j ? str_of(j, "id") : NULL;

			snprintf(last_id, sizeof(last_id), "%s", id ? id : "");
			json_decref(j);
			fault_at(path, lineno, wsc_send_text(c, line + 2) == 0,
				 "send: %s", wsc_error(c));
		} else if (line[0] == '>' && line[1] == ' ') {
			snprintf(last_id, sizeof(last_id), "t%d", ++nsent);
			msg_frame(&sb, last_id, line + 2, NULL);
			fault_at(path, lineno, wsc_send_text(c, sb.buf) == 0,
				 "send: %s", wsc_error(c));
		} else if (line[0] == '<' && line[1] == ' ') {
			f = recv_json_at(path, lineno, c, FRAME_TIMEOUT_MS);
			if (f == NULL) {
				fprintf(stderr,
					"  (the frame expected was %s)\n",
					line + 2);
				break;
			}
			match_at(path, lineno, f, line + 2);
			if (is_type(f, "reply") && last_id[0]) {
				snprintf(want_rt, sizeof(want_rt),
					 "{\"reply_to\":\"%s\"}", last_id);
				match_at(path, lineno, f, want_rt);
			}
			json_decref(f);
		} else {
			check_at(path, lineno, false,
				 "bad transcript line '%s'", line);
		}
	}
	wsc_close(c);
	strbuf_release(&sb);
	free(text);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_transcripts(const struct server *s)
{
	const char *dir = "tests/transcripts";
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, i;

	test_id = "transcripts";
	CHECK_AT(d != NULL, "opendir '%s': %s", dir, strerror(errno));
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		struct strbuf p;

		if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0)
			continue;
		strbuf_init(&p);
		strbuf_addf(&p, "%s/%s", dir, e->d_name);
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = p.buf;
	}
	closedir(d);
	CHECK_AT(n >= 5, "expected transcripts in %s, found %zu", dir, n);
	qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		run_transcript(s, names[i]);
		free(names[i]);
	}
	free(names);
}

/* ---- scenario: bad input --------------------------------------------- */

#define MAIN_MAX_CHARS 200
#define MAIN_MAX_FRAME 8192

/* Good messages that rotate so no two in a row share an intent. */
static const char *const good_texts[] = {
	"你好", "我的快递到哪了", "请问什么时候发货", "谢谢", "怎么开发票",
};

static void
bad_input(const struct server *s)
{
	static const struct {
		const char *id;
		int opcode;
		const char *frame;
		const char *want;
	} cases[] = {
		{"bad-1", WSC_OP_TEXT, "not json at all",
		 "{\"type\":\"error\",\"code\":\"bad_json\"}"},
		{"bad-2", WSC_OP_TEXT, "{\"type\":\"message\",\"id\":\"x\"",
		 "{\"type\":\"error\",\"code\":\"bad_json\"}"},
		{"bad-3", WSC_OP_TEXT, "[1,2,3]",
		 "{\"type\":\"error\",\"code\":\"bad_request\"}"},
		{"bad-4", WSC_OP_TEXT, "42",
		 "{\"type\":\"error\",\"code\":\"bad_request\"}"},
		{"bad-5", WSC_OP_TEXT, "\"hello\"",
		 "{\"type\":\"error\",\"code\":\"bad_request\"}"},
		{"bad-6", WSC_OP_TEXT, "{\"id\":\"n1\",\"text\":\"你好\"}",
		 "{\"type\":\"error\",\"code\":\"bad_request\"}"},
		{"bad-7", WSC_OP_TEXT, "{\"type\":\"dance\",\"id\":\"d1\"}",
		 "{\"type\":\"error\",\"code\":\"unknown_type\"}"},
		{"bad-8", WSC_OP_TEXT, "{\"type\":\"message\",\"id\":\"e1\"}",
		 "{\"type\":\"error\",\"code\":\"bad_request\","
		 "\"reply_to\":\"e1\"}"},
		{"bad-9", WSC_OP_TEXT,
		 "{\"type\":\"message\",\"id\":\"e2\",\"text\":42}",
		 "{\"type\":\"error\",\"code\":\"bad_request\","
		 "\"reply_to\":\"e2\"}"},
		{"bad-10", WSC_OP_TEXT,
		 "{\"type\":\"message\",\"id\":\"e3\",\"text\":null}",
		 "{\"type\":\"error\",\"code\":\"bad_request\","
		 "\"reply_to\":\"e3\"}"},
		{"bad-11", WSC_OP_TEXT,
		 "{\"type\":\"message\",\"id\":\"e4\",\"text\":[\"你好\"]}",
		 "{\"type\":\"error\",\"code\":\"bad_request\","
		 "\"reply_to\":\"e4\"}"},
		{"bad-12", WSC_OP_TEXT,
		 "{\"type\":\"message\",\"id\":\"e5\",\"text\":\"\"}",
		 "{\"type\":\"error\",\"code\":\"bad_request\","
		 "\"reply_to\":\"e5\"}"},
		{"bad-13", WSC_OP_TEXT,
		 "{\"type\":\"message\",\"id\":\"e6\",\"text\":\"    \"}",
		 "{\"type\":\"error\",\"code\":\"bad_request\","
		 "\"reply_to\":\"e6\"}"},
		{"bad-14", WSC_OP_TEXT, "{\"type\":\"message\",\"text\":\"\"}",
		 "{\"type\":\"error\",\"code\":\"bad_request\"}"},
		{"bad-15", WSC_OP_BINARY,
		 "{\"type\":\"message\",\"id\":\"b1\",\"text\":\"你好\"}",
		 "{\"type\":\"error\",\"code\":\"bad_request\"}"},
	};
	struct wsc *c;
	struct strbuf big;
	char id[32];
	size_t i;
	int k;

	test_id = "bad-input";
	c = ws_open(s, "/ws/buyer?buyer=bad-input");
	if (c == NULL)
		return;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		test_id = cases[i].id;
		FAULT_AT(wsc_send(c, cases[i].opcode, cases[i].frame,
				  strlen(cases[i].frame), true, 2000) == 0,
			 "send: %s", wsc_error(c));
		if (!expect(c, cases[i].want))
			fprintf(stderr, "  (request was: %s)\n",
				cases[i].frame);
		snprintf(id, sizeof(id), "ok-%zu", i + 1);
		if (!roundtrip(c, id, good_texts[i % ARRAY_SIZE(good_texts)]))
			fprintf(stderr,
				"  (connection did not keep working "
				"after: %s)\n",
				cases[i].frame);
	}

	/* Characters, not bytes: 200 Chinese characters are 600 bytes. */
	test_id = "too-large-1";
	strbuf_init(&big);
	for (k = 0; k < MAIN_MAX_CHARS; k++)
		strbuf_addstr(&big, "好");
	roundtrip(c, "max-ok", big.buf);
	test_id = "too-large-2";
	strbuf_addstr(&big, "好");
	send_msg(c, "max-over", big.buf);
	expect(c, "{\"type\":\"error\",\"code\":\"too_large\"}");
	roundtrip(c, "ok-after-big", "我的快递到哪了");
	strbuf_release(&big);
	wsc_close(c);
}

/* Frames beyond max_frame_bytes and invalid UTF-8 close the connection. */
static void
bad_frames(const struct server *s)
{
	static const char *const bad_utf8[] = {
		"{\"type\":\"message\",\"id\":\"u1\",\"text\":\"\xff\xfe\"}",
		"{\"type\":\"message\",\"id\":\"u2\",\"text\":\"\xe4\xbd\"}",
		"{\"type\":\"message\",\"id\":\"u3\",\"text\":\"\xc0\xaf\"}",
		"{\"type\":\"message\",\"id\":\"u4\",\"text\":"
		"\"\xed\xa0\x80\"}",
	};
	struct strbuf sb, part;
	struct wsc *c;
	size_t i;

	strbuf_init(&sb);
	strbuf_init(&part);

	test_id = "frame-too-big-1";
	c = ws_open(s, "/ws/buyer?buyer=big-1");
	if (c) {
		strbuf_addstr(&sb, "x");
		while (sb.len < MAIN_MAX_FRAME + 1000)
			strbuf_addstr(&sb, "0123456789");
		msg_frame(&part, "big-1", sb.buf, NULL);
		wsc_send(c, WSC_OP_TEXT, part.buf, part.len, true, 2000);
		expect_close(c, 1009, FRAME_TIMEOUT_MS);
		wsc_close(c);
	}

	/* Three fragments, each under the limit, together over it. */
	test_id = "frame-too-big-2";
	c = ws_open(s, "/ws/buyer?buyer=big-2");
	if (c) {
		size_t third = part.len / 3;

		CHECK_AT(third < MAIN_MAX_FRAME, "fragment size %zu", third);
		wsc_send(c, WSC_OP_TEXT, part.buf, third, false, 2000);
		wsc_send(c, WSC_OP_CONT, part.buf + third, third, false, 2000);
		wsc_send(c, WSC_OP_CONT, part.buf + 2 * third,
			 part.len - 2 * third, true, 2000);
		expect_close(c, 1009, FRAME_TIMEOUT_MS);
		wsc_close(c);
	}

	/* A fragmented message under the limit is reassembled. */
	test_id = "fragments-ok";
	c = ws_open(s, "/ws/buyer?buyer=frag-ok");
	if (c) {
		msg_frame(&part, "frag-1", "我的快递到哪了", NULL);
		wsc_send(c, WSC_OP_TEXT, part.buf, 10, false, 2000);
		wsc_send(c, WSC_OP_CONT, part.buf + 10, 20, false, 2000);
		wsc_send(c, WSC_OP_CONT, part.buf + 30, part.len - 30, true,
			 2000);
		expect(c, "{\"type\":\"reply\",\"reply_to\":\"frag-1\"}");
		wsc_close(c);
	}

	for (i = 0; i < ARRAY_SIZE(bad_utf8); i++) {
		char path[64];

		test_id = "bad-utf8";
		snprintf(path, sizeof(path), "/ws/buyer?buyer=utf8-%zu", i);
		c = ws_open(s, path);
		if (c == NULL)
			continue;
		wsc_send(c, WSC_OP_TEXT, bad_utf8[i], strlen(bad_utf8[i]), true,
			 2000);
		expect_close(c, 1007, FRAME_TIMEOUT_MS);
		wsc_close(c);
	}
	strbuf_release(&sb);
	strbuf_release(&part);

	test_id = "alive-after-bad-frames";
	c = ws_open(s, "/ws/buyer?buyer=after-bad");
	if (c)
		roundtrip(c, "after-1", "你好");
	wsc_close(c);
}

static void
http_pages(const struct server *s)
{
	struct strbuf head, body;
	char ctype[128] = "";
	int status;

	test_id = "http";
	strbuf_init(&head);
	strbuf_init(&body);
	status = wsc_http_get(HOST, s->port, "/", 3000, &head, &body);
	CHECK_AT(status == 200, "GET /: expected 200, got %d", status);
	wsc_http_header(head.buf, "Content-Type", ctype, sizeof(ctype));
	CHECK_AT(strncmp(ctype, "text/html", 9) == 0,
		 "GET /: expected Content-Type text/html, got '%s'", ctype);
	status =
		wsc_http_get(HOST, s->port, "/nonexistent", 3000, &head, &body);
	CHECK_AT(status == 404, "GET /nonexistent: expected 404, got %d",
		 status);
	strbuf_release(&head);
	strbuf_release(&body);
}

/* Auth off: ?buyer= names the buyer; without it the server picks one. */
static void
identity_auth_off(const struct server *s)
{
	struct wsc *a, *b, *c;
	sqlite3 *db;
	char *who;

	test_id = "identity-off";
	c = ws_open(s, "/ws/buyer?buyer=alice-77");
	a = ws_open(s, "/ws/buyer");
	b = ws_open(s, "/ws/buyer");
	if (c == NULL || a == NULL || b == NULL)
		goto out;
	roundtrip(c, "who-named", "你好");
	roundtrip(a, "who-anon-a", "你好");
	roundtrip(b, "who-anon-b", "你好");
	db = db_open(s->db, true);
	who = db_text(db,
		      "SELECT buyer FROM messages WHERE msg_id = ? "
		      "AND role = 'buyer'",
		      "who-named");
	CHECK_AT(who && strcmp(who, "alice-77") == 0,
		 "?buyer=alice-77: expected messages.buyer 'alice-77', "
		 "got '%s'",
		 who ? who : "(no row)");
	free(who);
	who = db_text(db,
		      "SELECT buyer FROM messages WHERE msg_id = ? "
		      "AND role = 'buyer'",
		      "who-anon-a");
	{
		char *other = db_text(db,
				      "SELECT buyer FROM messages WHERE "
				      "msg_id = ? AND role = 'buyer'",
				      "who-anon-b");

		CHECK_AT(nonempty(who) && nonempty(other),
			 "no ?buyer: expected an assigned buyer id, got "
			 "'%s' and '%s'",
			 who ? who : "(no row)", other ? other : "(no row)");
		CHECK_AT(who && other && strcmp(who, other) != 0,
			 "two anonymous connections got the same buyer '%s'",
			 who ? who : "");
		free(other);
	}
	free(who);
	sqlite3_close(db);
out:
	wsc_close(a);
	wsc_close(b);
	wsc_close(c);
}

static void
scenario_main(void)
{
	struct server s;
	char conf[256];

	test_id = "main";
	snprintf(conf, sizeof(conf),
		 "max_message_chars %d\nmax_frame_bytes %d\nrate_limit 0\n",
		 MAIN_MAX_CHARS, MAIN_MAX_FRAME);
	if (server_start(&s, conf) == 0) {
		run_transcripts(&s);
		http_pages(&s);
		bad_input(&s);
		bad_frames(&s);
		identity_auth_off(&s);
		test_id = "main";
		server_stop_clean(&s);
	}
	server_done(&s);
}

/* ---- scenario: rate limit -------------------------------------------- */

static void
send_burst(struct wsc *c, const char *prefix, int n)
{
	char id[32];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(id, sizeof(id), "%s%d", prefix, i);
		send_msg(c, id, good_texts[(size_t)i % ARRAY_SIZE(good_texts)]);
	}
}

/* Check frames[0..n-1]: the first 'ok' replies, the rest rate_limited. */
static void
check_limited_at(const char *file, int line, json_t **f, size_t n, size_t ok)
{
	size_t i, replies = 0, limited = 0;

	for (i = 0; i < n; i++) {
		char *d = dump(f[i]);

		if (is_type(f[i], "reply"))
			replies++;
		else if (is_error(f[i], "rate_limited"))
			limited++;
		check_at(file, line,
			 i < ok ? is_type(f[i], "reply")
				: is_error(f[i], "rate_limited"),
			 "message %zu of %zu: expected %s, got %s", i + 1, n,
			 i < ok ? "a reply" : "error rate_limited", d);
		free(d);
	}
	check_at(file, line, replies == ok && limited == n - ok,
		 "expected %zu replies and %zu rate_limited, got %zu and %zu",
		 ok, n - ok, replies, limited);
}

static void
scenario_rate_limit(void)
{
	struct wsc *a = NULL, *b = NULL, *c1 = NULL, *c2 = NULL;
	json_t *fa[8], *fb[5], *f1[3], *f2[3];
	struct server s;

	test_id = "rate-limit";
	if (server_start(&s, "rate_limit 5\n") < 0)
		goto out;
	a = ws_open(&s, "/ws/buyer?buyer=rl-a");
	b = ws_open(&s, "/ws/buyer?buyer=rl-b");
	c1 = ws_open(&s, "/ws/buyer?buyer=rl-shared");
	c2 = ws_open(&s, "/ws/buyer?buyer=rl-shared");
	if (!a || !b || !c1 || !c2)
		goto out;

	/* 8 at once: 5 replies, 3 rate_limited; rl-b at the same time. */
	send_burst(a, "ra", 8);
	send_burst(b, "rb", 5);
	test_id = "rate-limit-burst";
	collect(a, "ra", 8, fa, FRAME_TIMEOUT_MS);
	check_limited_at(__FILE__, __LINE__, fa, 8, 5);
	free_frames(fa, 8);
	test_id = "rate-limit-other-buyer";
	collect(b, "rb", 5, fb, FRAME_TIMEOUT_MS);
	check_limited_at(__FILE__, __LINE__, fb, 5, 5);
	free_frames(fb, 5);

	/* Two connections of one buyer share the 5. */
	test_id = "rate-limit-shared";
	send_burst(c1, "rc", 3);
	collect(c1, "rc", 3, f1, FRAME_TIMEOUT_MS);
	check_limited_at(__FILE__, __LINE__, f1, 3, 3);
	send_burst(c2, "rd", 3);
	collect(c2, "rd", 3, f2, FRAME_TIMEOUT_MS);
	check_limited_at(__FILE__, __LINE__, f2, 3, 2);
	free_frames(f1, 3);
	free_frames(f2, 3);
	test_id = "rate-limit";
	server_stop_clean(&s);
out:
	wsc_close(a);
	wsc_close(b);
	wsc_close(c1);
	wsc_close(c2);
	server_done(&s);
}

/* ---- scenario: slow reader ------------------------------------------- */

#define SLOW_MESSAGES 20000

/*
 * Send one message on 'probe': the reply latency in ms, or -1 when the
 * reply to it did not come within 1000 ms (a send or receive failure is
 * also reported as a failure).  It counts no check of its own: the probes
 * during the flood are judged together, so the scenario's count of checks
 * does not depend on how many messages the slow reader got in before it
 * was dropped.
 */
static int
probe_reply_ms_at(const char *file, int line, struct wsc *probe, int n)
{
	char id[32];
	int64_t t0 = mono_ms();
	const char *to;
	json_t *f;
	int lat = -1;

	snprintf(id, sizeof(id), "probe-%d", n);
	if (!send_msg_at(file, line, probe, id,
			 good_texts[(size_t)n % ARRAY_SIZE(good_texts)], NULL))
		return -1;
	f = recv_skip_status_at(file, line, probe, 1000, NULL);
	to = f ? str_of(f, "reply_to") : NULL;
	if (is_type(f, "reply") && to && strcmp(to, id) == 0)
		lat = (int)(mono_ms() - t0);
	json_decref(f);
	return lat;
}

#define probe_reply_ms(probe, n) probe_reply_ms_at(__FILE__, __LINE__, probe, n)

static void
scenario_slow_reader(void)
{
	struct wsc_options opt;
	struct wsc *slow = NULL, *probe = NULL;
	struct strbuf sb, payload;
	struct server s;
	bool dropped = false;
	int i, nprobe = 0, lat, sent = 0, rc, op, flood = 0, late = 0;
	int worst = 0;
	int64_t deadline;

	test_id = "slow-reader";
	strbuf_init(&sb);
	strbuf_init(&payload);
	if (server_start(&s, "outq_max 8\nrate_limit 0\n") < 0)
		goto out;
	probe = ws_open(&s, "/ws/buyer?buyer=slow-probe");
	wsc_options_init(&opt);
	opt.rcvbuf = 1024;
	slow = wsc_connect(HOST, s.port, "/ws/buyer?buyer=slow-1", &opt, NULL);
	CHECK_AT(slow != NULL, "connect slow reader");
	if (!slow || !probe)
		goto out;

	deadline = mono_ms() + 20000;
	for (i = 1; i <= SLOW_MESSAGES && mono_ms() < deadline; i++) {
		char id[32];

		snprintf(id, sizeof(id), "s%d", i);
		msg_frame(&sb, id, "我的快递到哪了", NULL);
		if (wsc_send(slow, WSC_OP_TEXT, sb.buf, sb.len, true, 3000) <
		    0) {
			dropped = strstr(wsc_error(slow), "timed out") == NULL;
			break;
		}
		sent++;
		if (i % 100 == 0) {
			lat = probe_reply_ms(probe, ++nprobe);
			flood++;
			if (lat < 0 || lat > 1000)
				late++;
			if (lat > worst)
				worst = lat;
		}
	}
	/* The server drops the slow reader (outq_max 8, its receive buffer
	 * 1 KiB) once the kernel's socket buffers are full and 8 more replies
	 * wait at a turn's start: after ~4,900 messages here, so probes ran. */
	CHECK_AT(flood > 0 && late == 0,
		 "while a slow reader floods: %d of %d probes not answered "
		 "within 1000 ms (slowest answered: %d ms)",
		 late, flood, worst);
	/* No send error yet: the server must have closed by now. */
	if (!dropped) {
		deadline = mono_ms() + 5000;
		do {
			rc = wsc_recv(slow, 500, &op, &payload);
		} while (rc == WSC_MESSAGE && mono_ms() < deadline);
		dropped = rc == WSC_ERROR || rc >= 1000;
	}
	CHECK_AT(dropped,
		 "outq_max 8, a reader that never reads, %d messages sent: "
		 "expected the server to drop it, got no close or error",
		 sent);
	printf("   the slow reader was %s after %d messages (%s)\n",
	       dropped ? "dropped" : "NOT dropped", sent, wsc_error(slow));
	CHECK_AT(server_alive(&s), "server died with a slow reader");
	lat = probe_reply_ms(probe, ++nprobe);
	CHECK_AT(lat >= 0 && lat <= 1000,
		 "after dropping a slow reader: expected a reply within "
		 "1000 ms, got %d ms",
		 lat);
	server_stop_clean(&s);
out:
	wsc_close(slow);
	wsc_close(probe);
	strbuf_release(&sb);
	strbuf_release(&payload);
	server_done(&s);
}

/* ---- scenario: idle timeout ------------------------------------------ */

static void
scenario_idle(void)
{
	struct wsc *idle = NULL, *busy = NULL;
	struct strbuf payload;
	struct server s;
	int64_t t0;
	int rc = WSC_TIMEOUT, op, n = 0, closed_ms = -1;

	test_id = "idle";
	strbuf_init(&payload);
	if (server_start(&s, "idle_timeout_s 1\n") < 0)
		goto out;
	idle = ws_open(&s, "/ws/buyer?buyer=idle-1");
	busy = ws_open(&s, "/ws/buyer?buyer=idle-busy");
	if (!idle || !busy)
		goto out;
	t0 = mono_ms();
	/* The busy client talks every ~400 ms; the idle one says nothing. */
	while (mono_ms() - t0 < 4000) {
		char id[32];

		snprintf(id, sizeof(id), "busy-%d", ++n);
		if (!roundtrip(busy, id,
			       good_texts[(size_t)n % ARRAY_SIZE(good_texts)]))
			break;
		if (closed_ms < 0) {
			rc = wsc_recv(idle, 400, &op, &payload);
			if (rc != WSC_TIMEOUT)
				closed_ms = (int)(mono_ms() - t0);
		} else {
			sleep_ms(400);
			if (mono_ms() - t0 > 3000)
				break;
		}
	}
	CHECK_AT(rc == 1000 && closed_ms >= 0 && closed_ms <= 3000,
		 "idle_timeout_s 1: expected close code 1000 within 3000 ms, "
		 "got %d after %d ms",
		 rc, closed_ms);
	CHECK_AT(closed_ms < 0 || closed_ms >= 800,
		 "idle_timeout_s 1: closed too early, after %d ms", closed_ms);
	CHECK_AT(!wsc_peer_closed(busy),
		 "a client talking every 400 ms was closed as idle");
	server_stop_clean(&s);
	server_done(&s);
	wsc_close(idle);
	wsc_close(busy);
	idle = busy = NULL;

	/* Alone on a quiet server, with no other traffic to wake the loop:
	 * the timer must fire by itself (on libev it once waited 30 s). */
	if (server_start(&s, "idle_timeout_s 1\n") < 0)
		goto out;
	idle = ws_open(&s, "/ws/buyer?buyer=idle-alone");
	if (idle == NULL)
		goto out;
	t0 = mono_ms();
	rc = wsc_recv(idle, 3000, &op, &payload);
	closed_ms = (int)(mono_ms() - t0);
	CHECK_AT(rc == 1000 && closed_ms >= 800 && closed_ms <= 2500,
		 "idle_timeout_s 1, the only client: expected close code 1000 "
		 "after 1 s, got %d after %d ms",
		 rc, closed_ms);
	server_stop_clean(&s);
out:
	wsc_close(idle);
	wsc_close(busy);
	strbuf_release(&payload);
	server_done(&s);
}

/* ---- scenario: identity with auth on --------------------------------- */

static void
sign(const char *buyer, long ts, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char data[128];

	snprintf(data, sizeof(data), "%s|%ld", buyer, ts);
	HMAC(EVP_sha256(), AUTH_SECRET, (int)strlen(AUTH_SECRET),
	     (const unsigned char *)data, strlen(data), md, &mdlen);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Expect the upgrade of 'path' to be refused with 'want' (401). */
static void
expect_refused_at(const char *file, int line, const struct server *s,
		  const char *path, int want)
{
	int status = 0;
	struct wsc *c = wsc_connect(HOST, s->port, path, NULL, &status);

	check_at(file, line, c == NULL && status == want,
		 "GET %s: expected HTTP %d, got %d", path, want,
		 c ? 101 : status);
	wsc_close(c);
}

#define expect_refused(s, path, want)                                          \
	expect_refused_at(__FILE__, __LINE__, s, path, want)

static void
scenario_auth(void)
{
	struct wsc *b1 = NULL, *gw = NULL;
	char path[256], sig[2 * EVP_MAX_MD_SIZE + 1], conf[256];
	long now = (long)time(NULL);
	struct server s;

	test_id = "auth";
	snprintf(conf, sizeof(conf),
		 "auth on\nauth_secret %s\napi_key %s\nauth_max_skew_s 60\n",
		 AUTH_SECRET, API_KEY);
	if (server_start(&s, conf) < 0)
		goto out;

	test_id = "auth-signed";
	sign("b1", now, sig);
	snprintf(path, sizeof(path), "/ws/buyer?buyer=b1&ts=%ld&sig=%s", now,
		 sig);
	b1 = ws_open(&s, path);
	if (b1)
		roundtrip(b1, "signed-1", "你好");

	test_id = "auth-refused";
	sig[0] = sig[0] == '0' ? '1' : '0';
	snprintf(path, sizeof(path), "/ws/buyer?buyer=b1&ts=%ld&sig=%s", now,
		 sig);
	expect_refused(&s, path, 401);
	sign("b1", now - 3600, sig);
	snprintf(path, sizeof(path), "/ws/buyer?buyer=b1&ts=%ld&sig=%s",
		 now - 3600, sig);
	expect_refused(&s, path, 401);
	sign("b1", now + 3600, sig);
	snprintf(path, sizeof(path), "/ws/buyer?buyer=b1&ts=%ld&sig=%s",
		 now + 3600, sig);
	expect_refused(&s, path, 401);
	sign("b2", now, sig);
	snprintf(path, sizeof(path), "/ws/buyer?buyer=b1&ts=%ld&sig=%s", now,
		 sig);
	expect_refused(&s, path, 401);
	snprintf(path, sizeof(path), "/ws/buyer?buyer=b1&ts=%ld", now);
	expect_refused(&s, path, 401);
	expect_refused(&s, "/ws/buyer?buyer=b1", 401);
	expect_refused(&s, "/ws/buyer", 401);
	expect_refused(&s, "/ws/buyer?key=wrong-key-0123456789", 401);
	expect_refused(&s, "/ws/buyer?key=", 401);

	/* A signed buyer may not speak for another. */
	test_id = "auth-forbidden";
	if (b1) {
		FAULT_AT(wsc_send_text(b1,
				       "{\"type\":\"message\",\"id\":\"f1\","
				       "\"sender\":\"mallory\","
				       "\"text\":\"你好\"}") == 0,
			 "send: %s", wsc_error(b1));
		expect(b1, "{\"type\":\"error\",\"code\":\"forbidden\"}");
	}

	test_id = "gateway";
	gw = ws_open(&s, "/ws/buyer?key=" API_KEY);
	if (gw == NULL)
		goto stop;
	send_msg(gw, "g0", "你好");
	expect(gw, "{\"type\":\"error\",\"code\":\"bad_request\","
		   "\"reply_to\":\"g0\"}");
	/* Each sender is its own conversation: misses don't add up. */
	send_msg_at(__FILE__, __LINE__, gw, "g1", "asdfgh qwer", "gw-one");
	expect(gw, "{\"type\":\"reply\",\"reply_to\":\"g1\","
		   "\"sender\":\"gw-one\",\"intent\":\"fallback\","
		   "\"action\":\"clarify\"}");
	send_msg_at(__FILE__, __LINE__, gw, "g2", "qwerty zxcv", "gw-two");
	expect(gw, "{\"type\":\"reply\",\"reply_to\":\"g2\","
		   "\"sender\":\"gw-two\",\"intent\":\"fallback\","
		   "\"action\":\"clarify\"}");
	send_msg_at(__FILE__, __LINE__, gw, "g3", "zzzz 1234 xkcd", "gw-one");
	expect(gw, "{\"type\":\"reply\",\"reply_to\":\"g3\","
		   "\"sender\":\"gw-one\",\"intent\":\"handoff.misses\","
		   "\"action\":\"escalate\"}");
	expect(gw, "{\"type\":\"status\",\"state\":\"queued\","
		   "\"sender\":\"gw-one\"}");
	send_msg_at(__FILE__, __LINE__, gw, "g4", "hjkl uiop", "gw-two");
	expect(gw, "{\"type\":\"reply\",\"reply_to\":\"g4\","
		   "\"sender\":\"gw-two\",\"intent\":\"handoff.misses\","
		   "\"action\":\"escalate\"}");
	expect(gw, "{\"type\":\"status\",\"state\":\"queued\","
		   "\"sender\":\"gw-two\"}");
	send_msg_at(__FILE__, __LINE__, gw, "g5", "我的快递到哪了", "gw-three");
	expect(gw, "{\"type\":\"reply\",\"reply_to\":\"g5\","
		   "\"sender\":\"gw-three\"}");
stop:
	test_id = "auth";
	server_stop_clean(&s);
out:
	wsc_close(b1);
	wsc_close(gw);
	server_done(&s);
}

/* ---- scenario: durability under kill -9 ------------------------------ */

#define DUR_MESSAGES  50
#define DUR_MAX_FRAME 1024 /* as max_frame_bytes in its config */

/* Append one masked client text frame carrying 'len' bytes of 'data',
 * with the reserved bits 'rsv' (0, or 0x40 to break the protocol). */
static void
raw_frame(struct strbuf *out, const char *data, size_t len, unsigned rsv)
{
	unsigned char hdr[WSFRAME_HEAD_MAX];
	size_t hlen = wsframe_head(hdr, WSC_OP_TEXT, true, len, 0x5a17c0deu);

	hdr[0] |= (unsigned char)rsv;
	strbuf_grow(out, hlen + len);
	strbuf_add(out, (const char *)hdr, hlen);
	wsframe_mask((unsigned char *)out->buf + out->len,
		     (const unsigned char *)data, len, 0x5a17c0deu);
	out->len += len;
	out->buf[out->len] = '\0';
}

enum breaker {
	BREAK_TOO_BIG, /* a frame over max_frame_bytes: we close, 1009 */
	BREAK_RSV,     /* reserved bits set: lws closes, 1002 */
};

/* The two ways the durability scenario breaks a connection. */
static const struct {
	enum breaker how;
	const char *buyer, *prefix, *what;
	int code;
} breakers[] = {
	{BREAK_TOO_BIG, "dur-gone", "gone-", "a frame too big", 1009},
	{BREAK_RSV, "dur-rsv", "rsv-", "a frame with RSV bits", 1002},
};

/*
 * Three messages and a frame that ends the connection, in one write() of
 * less than lws's 4 KiB read: the server takes the messages in the same
 * turn of its loop as the frame that makes it close.  They must be
 * stored all the same.  Returns whether the whole write went out.
 */
static bool
send_then_break(struct wsc *c, const char *prefix, enum breaker how)
{
	struct strbuf out, m;
	char id[32];
	bool ok;
	int i;

	strbuf_init(&out);
	strbuf_init(&m);
	for (i = 1; i <= 3; i++) {
		snprintf(id, sizeof(id), "%s%d", prefix, i);
		strbuf_reset(&m);
		msg_frame(&m, id, "我的快递到哪了", NULL);
		raw_frame(&out, m.buf, m.len, 0);
	}
	strbuf_reset(&m);
	if (how == BREAK_TOO_BIG) {
		while (m.len < DUR_MAX_FRAME + 500)
			strbuf_addstr(&m, "0123456789");
		raw_frame(&out, m.buf, m.len, 0);
	} else {
		msg_frame(&m, "rsv", "在吗", NULL);
		raw_frame(&out, m.buf, m.len, 0x40);
	}
	ok = write(wsc_fd(c), out.buf, out.len) == (ssize_t)out.len;
	strbuf_release(&m);
	strbuf_release(&out);
	return ok;
}

/*
 * Read what the server sends on 'c' for 'ms' or until it closes the
 * socket, without answering its close frame (so that lws waits for the
 * answer and has time to misbehave), and check it: a close frame with
 * 'code', and no data frame after it (RFC 6455 5.5.1: after a close
 * frame an endpoint sends no more data).  The replies to the messages
 * that came before the breaking frame are committed a few ms after the
 * close: lws 4.1 wrote them after it.  Frames before the close are fine.
 */
static void
expect_only_close_at(const char *file, int line, struct wsc *c, int code,
		     int ms)
{
	int64_t deadline = mono_ms() + ms;
	struct strbuf in;
	size_t off = 0;
	int got = 0, after = 0, fd = wsc_fd(c);

	strbuf_init(&in);
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int left = (int)(deadline - mono_ms());
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		strbuf_grow(&in, 4096);
		n = read(fd, in.buf + in.len, 4096);
		if (n <= 0)
			break;
		in.len += (size_t)n;
	}
	for (;;) {
		const unsigned char *h = (const unsigned char *)in.buf + off;
		struct wsframe f;
		size_t hlen = wsframe_parse(h, in.len - off, &f);

		if (hlen == 0 || in.len - off - hlen < f.len)
			break;
		if (f.opcode == WSC_OP_CLOSE && got == 0)
			got = f.len >= 2 ? (h[hlen] << 8) | h[hlen + 1] : -1;
		else if (got != 0 && (f.opcode & 0x08) == 0)
			after++;
		off += hlen + (size_t)f.len;
	}
	check_at(file, line, got == code,
		 "expected a close frame with %d within %d ms, got %d", code,
		 ms, got);
	check_at(file, line, after == 0,
		 "expected no data frame after the close frame, got %d", after);
	strbuf_release(&in);
}

#define expect_only_close(c, code, ms)                                         \
	expect_only_close_at(__FILE__, __LINE__, c, code, ms)

static void
scenario_durability(void)
{
	static const char *const texts[] = {
		"你好",
		"我的快递到哪了",
		"请问什么时候发货",
		"谢谢",
		"怎么开发票",
		"可以用花呗分期吗",
		"有优惠券吗",
		"我想退货",
		"能换个颜色吗",
		"地址写错了怎么改",
	};
	json_t *f[DUR_MESSAGES];
	struct wsc *c = NULL, *esc = NULL, *miss = NULL;
	struct server s;
	sqlite3 *db;
	char id[32], path[64];
	long n;
	size_t k;
	int i;

	test_id = "durability";
	if (server_start(&s, "rate_limit 0\nmax_frame_bytes 1024\n") < 0)
		goto out;
	c = ws_open(&s, "/ws/buyer?buyer=dur-1");
	esc = ws_open(&s, "/ws/buyer?buyer=dur-esc");
	miss = ws_open(&s, "/ws/buyer?buyer=dur-miss");
	if (!c || !esc || !miss)
		goto out;
	for (i = 1; i <= DUR_MESSAGES; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		send_msg(c, id, texts[(size_t)i % ARRAY_SIZE(texts)]);
	}
	n = (long)collect(c, "d", DUR_MESSAGES, f, 10000);
	CHECK_AT(n == DUR_MESSAGES, "expected %d answers, got %ld",
		 DUR_MESSAGES, n);
	for (i = 0; i < DUR_MESSAGES; i++) {
		CHECK_AT(is_type(f[i], "reply"),
			 "message d%d: expected a reply", i + 1);
	}
	free_frames(f, DUR_MESSAGES);
	roundtrip(esc, "esc-1", "转人工");
	roundtrip(miss, "miss-1", "asdfgh qwer");
	/* messages that came with the close: stored all the same, and
	 * nothing written after the close frame, ours (1009) or lws's */
	for (k = 0; k < ARRAY_SIZE(breakers); k++) {
		struct wsc *b;

		snprintf(path, sizeof(path), "/ws/buyer?buyer=%s",
			 breakers[k].buyer);
		b = ws_open(&s, path);
		if (b == NULL)
			continue;
		CHECK_AT(
			send_then_break(b, breakers[k].prefix, breakers[k].how),
			"write of 3 messages and %s: %s", breakers[k].what,
			strerror(errno));
		expect_only_close(b, breakers[k].code, 500);
		wsc_close(b);
	}
	/* answered after them: committed after them (one writer, FIFO);
	 * a ping first (lws keeps its payload in the buffer a close's goes
	 * in, under another length): a reply must still come after it */
	CHECK_AT(c && wsc_send(c, WSC_OP_PING, "ping", 4, true, 1000) == 0,
		 "ping before the last message: %s",
		 c ? wsc_error(c) : "no connection");
	roundtrip(c, "d-last", "谢谢");

	server_kill9(&s);
	CHECK_AT(WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGKILL,
		 "expected the server killed by SIGKILL, wait status %d",
		 s.status);
	db = db_open(s.db, false);
	if (db == NULL)
		goto out;
	for (i = 1; i <= DUR_MESSAGES; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		n = db_long(db,
			    "SELECT count(*) FROM messages WHERE buyer = ? "
			    "AND role = 'buyer' AND msg_id = ?",
			    "dur-1", id);
		CHECK_AT(n == 1,
			 "after kill -9: expected 1 buyer line with msg_id "
			 "'%s', got %ld",
			 id, n);
	}
	n = db_long(db,
		    "SELECT count(*) FROM messages WHERE buyer = ? "
		    "AND role = 'bot'",
		    "dur-1", NULL);
	CHECK_AT(n >= DUR_MESSAGES,
		 "after kill -9: expected %d bot lines for dur-1, got %ld",
		 DUR_MESSAGES, n);
	n = db_long(db, "SELECT count(*) FROM escalations WHERE buyer = ?",
		    "dur-esc", NULL);
	CHECK_AT(n >= 1,
		 "after 转人工 and kill -9: expected an escalation "
		 "row, got %ld",
		 n);
	n = db_long(db,
		    "SELECT count(*) FROM conversations WHERE buyer = ? "
		    "AND state = 'queued'",
		    "dur-esc", NULL);
	CHECK_AT(n == 1,
		 "after 转人工 and kill -9: expected conversation "
		 "state 'queued', got %ld rows",
		 n);
	n = db_long(db,
		    "SELECT count(*) FROM unmatched WHERE buyer = ? "
		    "AND text = ?",
		    "dur-miss", "asdfgh qwer");
	CHECK_AT(n >= 1,
		 "after a fallback and kill -9: expected an unmatched "
		 "row, got %ld",
		 n);
	for (k = 0; k < ARRAY_SIZE(breakers); k++) {
		snprintf(id, sizeof(id), "%s%%", breakers[k].prefix);
		n = db_long(db,
			    "SELECT count(*) FROM messages WHERE buyer = ? "
			    "AND role = 'buyer' AND msg_id LIKE ?",
			    breakers[k].buyer, id);
		CHECK_AT(n == 3,
			 "3 messages sent with %s in one write: expected 3 "
			 "buyer lines after kill -9, got %ld",
			 breakers[k].what, n);
	}
	sqlite3_close(db);
out:
	wsc_close(c);
	wsc_close(esc);
	wsc_close(miss);
	server_done(&s);
}

/* ---- scenario: SIGHUP reload ----------------------------------------- */

/* Send one message; return a new reference to its reply (status skipped). */
static json_t *
ask(struct wsc *c, const char *id, const char *text)
{
	if (!send_msg(c, id, text))
		return NULL;
	return recv_skip_status(c, FRAME_TIMEOUT_MS, NULL);
}

/* Rewrite the logistics.where script of content dir 'dir': version 99,
 * one variant 'text'.  Returns 0 on success. */
static int
rewrite_script(const char *dir, const char *text)
{
	char path[256];
	json_t *root, *arr, *sc;
	size_t i;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/scripts-zh/logistics.json", dir);
	root = json_load_file(path, 0, NULL);
	arr = json_object_get(root, "scripts");
	json_array_foreach(arr, i, sc)
	{
		const char *id = json_string_value(json_object_get(sc, "id"));
		const char *st =
			json_string_value(json_object_get(sc, "status"));

		if (id && st && strcmp(id, "logistics.where") == 0 &&
		    strcmp(st, "approved") == 0) {
			json_t *v = json_array();

			json_array_append_new(v, json_string(text));
			json_object_set_new(sc, "variants", v);
			json_object_set_new(sc, "version", json_integer(99));
			rc = 0;
		}
	}
	if (rc == 0)
		rc = json_dump_file(root, path, JSON_INDENT(2));
	json_decref(root);
	return rc;
}

static bool
has(const json_t *f, const char *key, const char *want)
{
	const char *v = f ? str_of(f, key) : NULL;

	return v && strstr(v, want) != NULL;
}

static void
scenario_reload(void)
{
	char dir[64] = "/tmp/xiaoer-reload.XXXXXX", cmd[256], path[128];
	struct wsc *c = NULL;
	struct server s;
	json_t *f = NULL;
	int64_t deadline;
	bool swapped = false;
	char *log = NULL;

	test_id = "reload";
	memset(&s, 0, sizeof(s));
	if (mkdtemp(dir) == NULL)
		return;
	snprintf(cmd, sizeof(cmd), "cp -R intents scripts-zh '%s'/", dir);
	CHECK_AT(system(cmd) == 0, "cannot copy the content to %s", dir);
	content_dir = dir;
	/* The same question is asked until the swap shows: under ASan that
	 * is many times, which must not count as a buyer repeating. */
	if (server_start(&s, "escalate_on_repeat off\n") < 0)
		goto out;
	c = ws_open(&s, "/ws/buyer?buyer=reload-1");
	if (c == NULL)
		goto out;
	f = ask(c, "r-1", "我的快递到哪了");
	CHECK_AT(has(f, "intent", "logistics.where"),
		 "before the reload: expected logistics.where");
	json_decref(f);

	/* A good change goes live without a restart or a dropped chat. */
	CHECK_AT(rewrite_script(dir, "RELOADED 亲，物流请看订单详情～") == 0,
		 "cannot edit the content");
	kill(s.pid, SIGHUP);
	deadline = mono_ms() + 5000;
	while (!swapped && mono_ms() < deadline) {
		f = ask(c, "r-2", "我的快递到哪了");
		swapped = has(f, "script", "logistics.where@99") &&
			  has(f, "text", "RELOADED");
		json_decref(f);
		if (!swapped)
			sleep_ms(50);
	}
	CHECK_AT(swapped, "SIGHUP: the new script logistics.where@99 never "
			  "went live within 5 s");

	/* A broken change is refused and the live set keeps answering. */
	snprintf(path, sizeof(path), "%s/intents/logistics.json", dir);
	CHECK_AT(write_file(path, "{\"intents\": [ broken") == 0,
		 "cannot break the content");
	kill(s.pid, SIGHUP);
	deadline = mono_ms() + 5000;
	while (mono_ms() < deadline) {
		free(log);
		log = util_read_file(s.log, NULL);
		if (log && strstr(log, "reload failed"))
			break;
		sleep_ms(50);
	}
	CHECK_AT(log && strstr(log, "reload failed") &&
			 strstr(log, "logistics.json:1:"),
		 "SIGHUP with broken content: expected 'reload failed' "
		 "naming logistics.json:1: in the log");
	f = ask(c, "r-3", "我的快递到哪了");
	CHECK_AT(has(f, "script", "logistics.where@99"),
		 "after a failed reload: expected the live set to answer");
	json_decref(f);
	server_stop_clean(&s);
out:
	free(log);
	wsc_close(c);
	server_done(&s);
	content_dir = ".";
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* ---- scenario: SIGTERM ----------------------------------------------- */

static void
scenario_sigterm(void)
{
	struct strbuf payload;
	struct wsc *c = NULL;
	struct server s;
	sqlite3 *db;
	long n;
	int ms, rc, op;

	test_id = "sigterm";
	strbuf_init(&payload);
	if (server_start(&s, "") < 0)
		goto out;
	c = ws_open(&s, "/ws/buyer?buyer=term-1");
	if (c == NULL)
		goto out;
	roundtrip(c, "term-1", "你好");
	roundtrip(c, "term-2", "我的快递到哪了");
	roundtrip(c, "term-3", "谢谢");
	ms = server_stop(&s);
	CHECK_AT(ms >= 0 && WIFEXITED(s.status) && WEXITSTATUS(s.status) == 0,
		 "SIGTERM: expected exit status 0 within %d ms, got wait "
		 "status %d after %d ms",
		 STOP_TIMEOUT_MS, s.status, ms);
	/* DESIGN.md section 9: sockets are closed with going-away. */
	rc = wsc_recv(c, 1000, &op, &payload);
	CHECK_AT(rc == 1001,
		 "SIGTERM with a client connected: expected close code 1001 "
		 "(going away), got %d",
		 rc);
	db = db_open(s.db, false);
	n = db_long(db,
		    "SELECT count(*) FROM messages WHERE buyer = ? "
		    "AND role = 'buyer'",
		    "term-1", NULL);
	CHECK_AT(n == 3, "after SIGTERM: expected 3 buyer lines, got %ld", n);
	n = db_long(db,
		    "SELECT count(*) FROM messages WHERE buyer = ? "
		    "AND role = 'bot'",
		    "term-1", NULL);
	CHECK_AT(n >= 3, "after SIGTERM: expected 3 bot lines, got %ld", n);
	sqlite3_close(db);
out:
	wsc_close(c);
	strbuf_release(&payload);
	server_done(&s);
}

/* ---- scenario: buyers waiting the moment a server starts -------------- */

#define STORM_CONNS 8

/* A TCP port on HOST that nobody listens on now, or -1. */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = inet_addr(HOST);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* Fill the pipe 'fd' writes to, so that the next write to it blocks. */
static int
fill_pipe(int fd)
{
	static const char junk[4096];
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	while (write(fd, junk, sizeof(junk)) > 0)
		;
	while (write(fd, junk, 1) > 0)
		;
	return errno == EAGAIN && fcntl(fd, F_SETFL, fl) == 0 ? 0 : -1;
}

/* A child that copies 'fd' to the file 'path' until EOF; its pid or -1.
 * What was written to fill the pipe goes to the file too. */
static pid_t
drain_to(int fd, const char *path)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char buf[4096];
		ssize_t n;

#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			if (out >= 0 && write(out, buf, (size_t)n) != n)
				_exit(1);
		_exit(0);
	}
	if (pid > 0)
		child_add(pid);
	return pid;
}

/*
 * A restarted server listens while buyers are still retrying: their
 * upgrade requests wait at it before its loop has run once.  Every one
 * of them must get a live chat, not a 101 and then silence.
 *
 * The server's stdout and stderr go to a pipe filled to the brim, so it
 * blocks on its first line, "event loop ...", which it writes after
 * lws_create_context() has opened the listening socket and before its
 * loop runs.  The upgrades are sent then; the pipe is drained; the
 * loop's first turns see all of them at once.  Before the fix lws bound
 * them to its "http" protocol: the 101 came, the reply never did.
 */
static void
scenario_startup_storm(void)
{
	struct wsc *c[STORM_CONNS] = {NULL};
	struct server s;
	struct pollfd pfd;
	char path[64], id[32];
	int gate[2] = {-1, -1}, port, i, status, n;
	pid_t drainer = -1;
	int64_t deadline;
	sqlite3 *db;
	long lines;

	test_id = "startup-storm";
	if (server_prepare_at(__FILE__, __LINE__, &s, "") < 0)
		return;
	port = free_port();
	CHECK_AT(port > 0, "no free port: %s", strerror(errno));
	if (port <= 0 || pipe(gate) < 0 || fill_pipe(gate[1]) < 0) {
		CHECK_AT(false, "cannot set up the start-up gate: %s",
			 strerror(errno));
		goto out;
	}
	n = server_exec_at(__FILE__, __LINE__, &s, port, gate[1]);
	close(gate[1]);
	gate[1] = -1;
	if (n < 0)
		goto out;
	/* The first upgrade request goes out as soon as the port takes
	 * connections: a refused connect is tried again. */
	deadline = mono_ms() + START_TIMEOUT_MS;
	while ((c[0] = wsc_connect_start(HOST, port, "/ws/buyer?buyer=storm-0",
					 NULL)) == NULL &&
	       server_alive(&s) && mono_ms() < deadline)
		sleep_ms(5);
	CHECK_AT(c[0] != NULL, "the server did not listen on %d within %d ms",
		 port, START_TIMEOUT_MS);
	if (c[0] == NULL)
		goto out;
	for (i = 1; i < STORM_CONNS; i++) {
		snprintf(path, sizeof(path), "/ws/buyer?buyer=storm-%d", i);
		c[i] = wsc_connect_start(HOST, port, path, NULL);
		CHECK_AT(c[i] != NULL, "upgrade request %d not sent", i);
	}
	/* Nothing is answered while the server is held: the test really
	 * has the requests waiting before the loop's first turn. */
	pfd.fd = wsc_fd(c[0]);
	pfd.events = POLLIN;
	CHECK_AT(poll(&pfd, 1, 200) == 0,
		 "the server answered before its gate opened: the scenario "
		 "no longer holds it before its loop (does it print before "
		 "\"event loop\"?)");
	s.port = port;
	drainer = drain_to(gate[0], s.log);
	close(gate[0]);
	gate[0] = -1;
	CHECK_AT(drainer > 0, "fork: %s", strerror(errno));
	for (i = 0; i < STORM_CONNS; i++) {
		if (c[i] == NULL)
			continue;
		status = 0;
		n = wsc_connect_finish(c[i], &status);
		CHECK_AT(n == 0 && status == 101,
			 "buyer storm-%d: expected 101, got %d (%s)", i, status,
			 wsc_error(c[i]));
		if (n < 0) {
			wsc_close(c[i]);
			c[i] = NULL;
		}
	}
	for (i = 0; i < STORM_CONNS; i++) {
		if (c[i] == NULL)
			continue;
		snprintf(id, sizeof(id), "storm-%d-1", i);
		if (!roundtrip(c[i], id, "亲 在吗 我拍的什么时候发货呀"))
			break; /* the others would only time out too */
	}
	server_stop_clean(&s);
	db = db_open(s.db, true);
	if (db) {
		lines = db_long(db,
				"SELECT count(*) FROM messages WHERE role = "
				"'buyer' AND buyer LIKE 'storm-%'",
				NULL, NULL);
		CHECK_AT(lines == STORM_CONNS,
			 "expected %d buyer lines stored, got %ld", STORM_CONNS,
			 lines);
		sqlite3_close(db);
	}
out:
	for (i = 0; i < STORM_CONNS; i++)
		wsc_close(c[i]);
	if (gate[0] >= 0)
		close(gate[0]);
	if (gate[1] >= 0)
		close(gate[1]);
	server_done(&s);
	if (drainer > 0) {
		waitpid(drainer, NULL, 0);
		child_del(drainer);
	}
}

/* ---- scenario: a restart in the middle of conversations --------------- */

/* Send 'text' as buyer 'buyer' on a new connection; the reply (status
 * frames counted into '*nstatus'), or NULL after a failure. */
static json_t *
ask_as(const struct server *s, const char *buyer, const char *id,
       const char *text, int *nstatus)
{
	char path[96];
	struct wsc *c;
	json_t *f = NULL;

	snprintf(path, sizeof(path), "/ws/buyer?buyer=%s", buyer);
	c = ws_open(s, path);
	if (c && send_msg(c, id, text))
		f = recv_skip_status(c, FRAME_TIMEOUT_MS, nstatus);
	/* a hand-off's status frame comes right after the reply */
	while (f && c && nstatus) {
		struct strbuf more;
		json_t *g;
		int op = 0;

		strbuf_init(&more);
		if (wsc_recv(c, 300, &op, &more) != WSC_MESSAGE) {
			strbuf_release(&more);
			break;
		}
		g = json_loadb(more.buf, more.len, 0, NULL);
		strbuf_release(&more);
		CHECK_AT(is_type(g, "status"),
			 "%s: expected nothing after the reply but a status "
			 "frame",
			 id);
		*nstatus += is_type(g, "status");
		json_decref(g);
	}
	wsc_close(c);
	return f;
}

/* ask_as() for a plain reply to 'id': checks that it came and returns the
 * number of status frames with it (a hand-off sends one). */
static int
ask_status_at(const char *file, int line, const struct server *s,
	      const char *buyer, const char *id, const char *text)
{
	struct strbuf want;
	json_t *f;
	int n = 0;

	f = ask_as(s, buyer, id, text, &n);
	strbuf_init(&want);
	strbuf_addstr(&want, "{\"type\":\"reply\",\"reply_to\":");
	strbuf_add_json_str(&want, id, strlen(id));
	strbuf_addch(&want, '}');
	match_at(file, line, f, want.buf);
	strbuf_release(&want);
	json_decref(f);
	return n;
}

#define ask_status(s, buyer, id, text)                                         \
	ask_status_at(__FILE__, __LINE__, s, buyer, id, text)

/*
 * A deploy or a crash restarts the server while buyers are mid-way.  Each
 * goes on where the last committed turn left them: the bot asked for an
 * order number, the buyer was queued for a human, the buyer had one miss.
 * A buyer with nothing stored starts fresh: the control that says the
 * answers after the restart come from the resumed state.
 */
static void
scenario_resume(void)
{
	struct server s;
	sqlite3 *db;
	json_t *f;
	int n = 0;

	test_id = "resume";
	if (server_start(&s, "rate_limit 0\n") < 0)
		goto out;
	f = ask_as(&s, "res-slot", "s1", "退款什么时候到账", NULL);
	match(f, "{\"type\":\"reply\",\"reply_to\":\"s1\","
		 "\"intent\":\"aftersale.refund_progress\","
		 "\"action\":\"clarify\"}");
	json_decref(f);
	n = ask_status(&s, "res-human", "h1", "转人工");
	CHECK_AT(n == 1, "转人工: expected one status frame, got %d", n);
	f = ask_as(&s, "res-miss", "m1", "asdfgh qwer", &n);
	match(f, "{\"type\":\"reply\",\"reply_to\":\"m1\","
		 "\"intent\":\"fallback\"}");
	json_decref(f);
	f = ask_as(&s, "res-repeat", "r1", "我的快递到哪了", NULL);
	match(f, "{\"type\":\"reply\",\"reply_to\":\"r1\","
		 "\"intent\":\"logistics.where\",\"action\":\"reply\"}");
	json_decref(f);

	server_stop_clean(&s);
	if (server_restart(&s) < 0)
		goto out;

	/* the order number answers the question asked before the restart */
	f = ask_as(&s, "res-slot", "s2", "123456789012345678", NULL);
	match(f, "{\"type\":\"reply\",\"reply_to\":\"s2\","
		 "\"intent\":\"aftersale.refund_progress\","
		 "\"action\":\"reply\"}");
	json_decref(f);
	f = ask_as(&s, "res-fresh", "x1", "123456789012345678", NULL);
	CHECK_AT(f && str_of(f, "intent") &&
			 strcmp(str_of(f, "intent"),
				"aftersale.refund_progress") != 0,
		 "control: a bare order number from a new buyer should not "
		 "answer a question nobody asked");
	json_decref(f);
	/* still queued: asking again is not a second hand-off */
	n = ask_status(&s, "res-human", "h2", "转人工");
	CHECK_AT(n == 0,
		 "转人工 again after the restart: expected no new status "
		 "frame (still queued), got %d",
		 n);
	/* the second miss in a row hands over, as without the restart */
	n = ask_status(&s, "res-miss", "m2", "zzzz 1234 xkcd");
	CHECK_AT(n == 1,
		 "a second miss after the restart: expected the hand-off's "
		 "status frame, got %d",
		 n);
	/* the same question again: the answer did not help, restart or not */
	n = ask_status(&s, "res-repeat", "r2", "我的快递到哪了");
	CHECK_AT(n == 1,
		 "the same question again after the restart: expected the "
		 "repeat hand-off's status frame, got %d",
		 n);
	server_stop_clean(&s);

	/* idle for longer than conversation_ttl_s: starts over, as it
	 * would have in memory */
	CHECK_AT(write_file(s.conf, "rate_limit 0\nconversation_ttl_s 1\n") ==
				 0 &&
			 (getenv("XIAOER_WS_LOOP") == NULL ||
			  append_loop(s.conf, getenv("XIAOER_WS_LOOP")) == 0),
		 "cannot rewrite '%s'", s.conf);
	sleep_ms(1100);
	if (server_restart(&s) < 0)
		goto out;
	n = ask_status(&s, "res-human", "h3", "转人工");
	CHECK_AT(n == 1,
		 "转人工 after conversation_ttl_s: expected a new hand-off's "
		 "status frame, got %d",
		 n);
	server_stop_clean(&s);

	db = db_open(s.db, true);
	CHECK_AT(db_long(db, "SELECT count(*) FROM escalations WHERE buyer = ?",
			 "res-human", NULL) == 2,
		 "res-human: expected one escalation before the restart and "
		 "one after conversation_ttl_s, none in between");
	CHECK_AT(db_long(db,
			 "SELECT count(*) FROM escalations WHERE buyer = ?"
			 " AND reason = ?",
			 "res-miss", "misses") == 1,
		 "res-miss: expected one escalation for misses");
	CHECK_AT(db_long(db,
			 "SELECT count(*) FROM escalations WHERE buyer = ?"
			 " AND reason = ?",
			 "res-repeat", "repeat") == 1,
		 "res-repeat: expected one escalation for a repeat");
	sqlite3_close(db);
out:
	server_done(&s);
}

/* ---- scenario: disk full --------------------------------------------- */

#define FULL_MAX_MESSAGES 3000
#define FULL_CHARS	  1500

static void
scenario_disk_full(void)
{
	static const char *const words[] = {"请问", "这个", "商品", "什么",
					    "时候", "发货", "谢谢", "亲"};
	bool *answered = xcalloc(FULL_MAX_MESSAGES + 1, sizeof(bool));
	struct wsc *c = NULL;
	struct strbuf text;
	struct server s;
	sqlite3 *db;
	int i, k, full_at = 0, nanswered = 0, missing = 0;
	char id[32];

	test_id = "disk-full";
	strbuf_init(&text);
	if (server_start(&s, "db_max_mb 1\nrate_limit 0\n") < 0)
		goto out;
	c = ws_open(&s, "/ws/buyer?buyer=full-1");
	if (c == NULL)
		goto out;
	for (i = 1; i <= FULL_MAX_MESSAGES && !full_at; i++) {
		json_t *f;

		strbuf_reset(&text);
		strbuf_addf(&text, "第%d条", i);
		for (k = 0; (int)(text.len / 3) < FULL_CHARS; k++)
			strbuf_addstr(
				&text,
				words[(size_t)(k * 7 + i) % ARRAY_SIZE(words)]);
		snprintf(id, sizeof(id), "full-%d", i);
		if (!send_msg(c, id, text.buf))
			break;
		f = recv_skip_status(c, FRAME_TIMEOUT_MS, NULL);
		if (f == NULL)
			break;
		if (is_type(f, "reply") && str_of(f, "reply_to") &&
		    strcmp(str_of(f, "reply_to"), id) == 0) {
			answered[i] = true;
			nanswered++;
		} else if (is_error(f, "unavailable")) {
			full_at = i;
			match(f,
			      "{\"type\":\"error\",\"code\":\"unavailable\"}");
			{
				char want[96];

				snprintf(want, sizeof(want),
					 "{\"reply_to\":\"%s\"}", id);
				match(f, want);
			}
		} else {
			char *d = dump(f);

			CHECK_AT(false,
				 "db_max_mb 1, message %d: expected a reply "
				 "or error unavailable, got %s",
				 i, d);
			free(d);
			json_decref(f);
			break;
		}
		json_decref(f);
	}
	CHECK_AT(full_at > 0,
		 "db_max_mb 1: expected error 'unavailable' within %d "
		 "messages of %d characters, got none after %d replies",
		 FULL_MAX_MESSAGES, FULL_CHARS, nanswered);
	if (full_at) {
		/* The connection stays and still answers something. */
		json_t *f;

		send_msg(c, "full-after", "你好");
		f = recv_skip_status(c, FRAME_TIMEOUT_MS, NULL);
		CHECK_AT(f && (is_type(f, "reply") ||
			       is_error(f, "unavailable")),
			 "after 'unavailable': expected a reply or another "
			 "'unavailable' on the same connection");
		match(f, "{\"reply_to\":\"full-after\"}");
		json_decref(f);
	}
	CHECK_AT(server_alive(&s), "server died when the database filled up");
	server_stop(&s);
	if (full_at) {
		/* ops see it too: the log says what was lost and why */
		char *log = util_read_file(s.log, NULL);

		CHECK_AT(log &&
				 strstr(log, "could not be saved (those buyers "
					     "were asked to send again)") &&
				 strstr(log, "database or disk is full"),
			 "db_max_mb 1: the server log does not say that turns "
			 "could not be saved, and why");
		free(log);
	}
	db = db_open(s.db, false);
	for (i = 1; db && i <= FULL_MAX_MESSAGES; i++) {
		long n;

		if (!answered[i])
			continue;
		snprintf(id, sizeof(id), "full-%d", i);
		n = db_long(db,
			    "SELECT count(*) FROM messages WHERE buyer = ? "
			    "AND role = 'buyer' AND msg_id = ?",
			    "full-1", id);
		if (n != 1)
			missing++;
	}
	CHECK_AT(missing == 0,
		 "db_max_mb 1: %d of %d answered messages are not in the "
		 "database",
		 missing, nanswered);
	sqlite3_close(db);
out:
	wsc_close(c);
	strbuf_release(&text);
	free(answered);
	server_done(&s);
}

/* ---- scenario: a gateway's burst -------------------------------------- */

#define BURST_BUYERS 300

/*
 * The midnight rush through a chat gateway: one connection carries many
 * buyers, and one commit answers a hundred of them at once, more than
 * outq_max (64).  That is not a peer that stopped reading: every answer
 * must arrive.  Until the limits counted only what a turn of the loop
 * left unwritten, the server dropped the gateway ("not reading") after
 * about 40 of 300.
 */
static void
scenario_gateway_burst(void)
{
	json_t **f = xcalloc(BURST_BUYERS, sizeof(*f));
	struct strbuf out, m;
	struct wsc *gw = NULL;
	struct server s;
	char id[32], sender[32];
	size_t i, got, wrong = 0;
	sqlite3 *db;
	char *log;

	test_id = "gateway-burst";
	strbuf_init(&out);
	strbuf_init(&m);
	if (server_start(&s, "") < 0)
		goto out;
	gw = ws_open(&s, "/ws/buyer?key=burst-gateway");
	if (gw == NULL)
		goto out;
	for (i = 1; i <= BURST_BUYERS; i++) {
		snprintf(id, sizeof(id), "gb%zu", i);
		snprintf(sender, sizeof(sender), "burst-%zu", i);
		msg_frame(&m, id, good_texts[i % ARRAY_SIZE(good_texts)],
			  sender);
		raw_frame(&out, m.buf, m.len, 0);
	}
	CHECK_AT(wsc_send_raw(gw, out.buf, out.len, FRAME_TIMEOUT_MS) == 0,
		 "write of %d messages (%zu bytes): %s", BURST_BUYERS, out.len,
		 wsc_error(gw));
	got = collect(gw, "gb", BURST_BUYERS, f, 10000);
	CHECK_AT(got == BURST_BUYERS,
		 "outq_max 64, %d buyers in one write on a gateway that "
		 "reads: expected every answer, got %zu",
		 BURST_BUYERS, got);
	for (i = 0; i < BURST_BUYERS; i++) {
		const char *to = f[i] ? str_of(f[i], "sender") : NULL;

		snprintf(sender, sizeof(sender), "burst-%zu", i + 1);
		if (!is_type(f[i], "reply") || to == NULL ||
		    strcmp(to, sender) != 0)
			wrong += f[i] != NULL;
	}
	CHECK_AT(wrong == 0,
		 "%zu answers are not a reply to their message's sender",
		 wrong);
	free_frames(f, BURST_BUYERS);
	/* and the gateway is still there */
	send_msg_at(__FILE__, __LINE__, gw, "gb-after", "谢谢", "burst-1");
	expect(gw, "{\"type\":\"reply\",\"reply_to\":\"gb-after\","
		   "\"sender\":\"burst-1\"}");
	server_stop_clean(&s);
	log = util_read_file(s.log, NULL);
	CHECK_AT(log && strstr(log, "not reading") == NULL,
		 "the server log says it dropped a session as not reading");
	free(log);
	db = db_open(s.db, true);
	CHECK_AT(db && db_long(db,
			       "SELECT count(*) FROM messages WHERE role = "
			       "'buyer' AND buyer LIKE 'burst-%'",
			       NULL, NULL) == BURST_BUYERS + 1,
		 "expected %d buyer lines stored", BURST_BUYERS + 1);
	sqlite3_close(db);
out:
	wsc_close(gw);
	strbuf_release(&m);
	strbuf_release(&out);
	free(f);
	server_done(&s);
}

/* ---- main ------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} scenarios[] = {
		{"main", scenario_main},
		{"rate-limit", scenario_rate_limit},
		{"slow-reader", scenario_slow_reader},
		{"idle", scenario_idle},
		{"auth", scenario_auth},
		{"durability", scenario_durability},
		{"sigterm", scenario_sigterm},
		{"startup-storm", scenario_startup_storm},
		{"reload", scenario_reload},
		{"disk-full", scenario_disk_full},
		{"gateway-burst", scenario_gateway_burst},
		{"resume", scenario_resume},
	};
	/* XIAOER_WS_ONLY=NAME runs that scenario alone, to work on it */
	const char *only = getenv("XIAOER_WS_ONLY");
	struct sigaction sa;
	struct stat st;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH/TO/xiaoer\n", argv[0]);
		printf("ws: 0 passed, 1 failed\n");
		return 2;
	}
	xiaoer = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_watchdog;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	atexit(kill_children);
	alarm(WATCHDOG_S);

	test_id = "setup";
	CHECK_AT(stat(xiaoer, &st) == 0 && (st.st_mode & S_IXUSR),
		 "'%s' is not an executable", xiaoer);
	for (i = 0; i < ARRAY_SIZE(scenarios); i++) {
		int p0 = test_passed, f0 = test_failed;
		int64_t t0 = mono_ms();

		if (only && strcmp(only, scenarios[i].name) != 0)
			continue;
		scenarios[i].fn();
		printf("== %-12s %3d checks passed, %d failed (%.1f s)\n",
		       scenarios[i].name, test_passed - p0, test_failed - f0,
		       (double)(mono_ms() - t0) / 1000);
	}

	printf("ws: %d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}
