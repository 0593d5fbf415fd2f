/*
 * test_config.c - the operator configuration (config-N.M).
 *
 * Files are written under a mkdtemp() directory in /tmp and removed at the
 * end.  Runs from the repository root (reads deploy/ and tests/fixtures/).
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bot/config.h"
#include "../bot/util.h"

void suite_config(void);

static char tmpdir[64];
static char made[16][128]; /* files and directories to remove */
static int nmade;

/* Write 'text' to 'name' under tmpdir; returns the path (static). */
static const char *
write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (f == NULL) {
		fprintf(stderr, "cannot write '%s': %s\n", path,
			strerror(errno));
		return path;
	}
	fputs(text, f);
	fclose(f);
	for (i = 0; i < nmade; i++)
		if (strcmp(made[i], path) == 0)
			return path;
	if (nmade < (int)ARRAY_SIZE(made))
		snprintf(made[nmade++], sizeof(made[0]), "%s", path);
	return path;
}

/* Load 'text' as a config file over the defaults; returns config_load(). */
static int
load_text(struct config *c, const char *text, struct bot_err *err)
{
	config_init(c);
	c->path = xstrdup(write_file("t.conf", text));
	err->msg[0] = '\0';
	return config_load(c, err);
}

/* Expect 'text' to fail with "TMPDIR/t.conf:" + 'want'. */
static void
check_error(const char *id, const char *text, const char *want)
{
	struct config c;
	struct bot_err err;
	char full[256];

	TEST(id);
	snprintf(full, sizeof(full), "%s/t.conf:%s", tmpdir, want);
	CHECK_INT(load_text(&c, text, &err), -1);
	CHECK_STR(err.msg, full);
	config_release(&c);
}

/* config_dump() into a new allocation. */
static char *
dump(const struct config *c)
{
	FILE *f = tmpfile();
	struct strbuf sb;
	char chunk[4096];
	size_t n;

	strbuf_init(&sb);
	strbuf_grow(&sb, 0);
	if (f == NULL)
		return sb.buf;
	config_dump(c, f);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		strbuf_add(&sb, chunk, n);
	fclose(f);
	return sb.buf;
}

static int
parse(struct config *c, struct bot_err *err, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	config_init(c);
	err->msg[0] = '\0';
	return config_parse_args(c, argc, argv, err);
}

static void
test_defaults(void)
{
	struct config c;
	struct bot_err err = {""};

	TEST("config-1.1");
	config_init(&c);
	CHECK(c.path == NULL);
	CHECK_STR(c.subcommand, "serve");
	CHECK(c.args == NULL);
	CHECK_INT(c.nargs, 0);
	CHECK(c.against == NULL && c.now == NULL && c.since == NULL);
	CHECK_INT(c.log_level, 1027);

	TEST("config-1.2");
	CHECK_STR(c.listen, "127.0.0.1");
	CHECK_INT(c.port, 8080);
	CHECK_STR(c.event_loop, "libev");
	CHECK_STR(c.db, "var/xiaoer.db");
	CHECK_STR(c.db_sync, "normal");
	CHECK_INT(c.db_max_mb, 0);
	CHECK_STR(c.content, ".");
	CHECK_STR(c.www, "bot/www");
	CHECK_INT(c.auth, false);
	CHECK_STR(c.auth_secret, "");
	CHECK_STR(c.api_key, "");
	CHECK_INT(c.auth_max_skew_s, 300);
	CHECK_INT(c.max_message_chars, 2000);
	CHECK_INT(c.max_frame_bytes, 16384);
	CHECK_INT(c.rate_limit, 20);
	CHECK_INT(c.idle_timeout_s, 300);
	CHECK_INT(c.outq_max, 64);
	CHECK_INT(c.outq_max_bytes, 262144);
	CHECK_INT(c.max_conversations, 200000);
	CHECK_INT(c.conversation_ttl_s, 7200);
	CHECK_INT(c.escalate_after_misses, 2);
	CHECK_INT(c.escalate_on_repeat, true);
	CHECK_INT(c.writer_queue_max, 65536);

	/* No file: config_load() keeps the defaults. */
	TEST("config-1.3");
	CHECK_INT(config_load(&c, &err), 0);
	CHECK_INT(c.port, 8080);
	config_release(&c);

	/* Release is idempotent. */
	TEST("config-1.4");
	config_release(&c);
	CHECK(c.listen == NULL && c.subcommand == NULL && c.args == NULL);
}

static void
test_errors(void)
{
	struct config c;
	struct bot_err err;
	char want[256];

	check_error("config-2.1",
		    "# 1\n# 2\n# 3\n# 4\n# 5\n# 6\n# 7\n# 8\n# 9\n# 10\n"
		    "port 1\nlisen 0.0.0.0\n",
		    "12: unknown key 'lisen'");
	check_error("config-2.2", "listen 127.0.0.1\n\nport abc\n",
		    "3: bad value 'abc' for 'port': expected an integer "
		    "0..65535");
	check_error("config-2.3", "port 65536\n",
		    "1: bad value '65536' for 'port': expected an integer "
		    "0..65535");
	check_error("config-2.4", "port -1\n",
		    "1: bad value '-1' for 'port': expected an integer "
		    "0..65535");
	check_error("config-2.5", "port 80x\n",
		    "1: bad value '80x' for 'port': expected an integer "
		    "0..65535");
	check_error("config-2.6", "rate_limit -1\n",
		    "1: bad value '-1' for 'rate_limit': expected an integer "
		    ">= 0");
	check_error("config-2.7", "max_frame_bytes 255\n",
		    "1: bad value '255' for 'max_frame_bytes': expected an "
		    "integer 256..16777216");
	check_error("config-2.8", "max_message_chars 0\n",
		    "1: bad value '0' for 'max_message_chars': expected an "
		    "integer 1..100000");
	check_error("config-2.9", "outq_max_bytes 1023\n",
		    "1: bad value '1023' for 'outq_max_bytes': expected an "
		    "integer >= 1024");
	check_error("config-2.10", "port 99999999999999999999\n",
		    "1: bad value '99999999999999999999' for 'port': expected "
		    "an integer 0..65535");
	check_error("config-2.11", "auth maybe\n",
		    "1: bad value 'maybe' for 'auth': expected on or off");
	check_error("config-2.12", "db_sync fast\n",
		    "1: bad value 'fast' for 'db_sync': expected normal or "
		    "full");
	check_error("config-2.12b", "event_loop epoll\n",
		    "1: bad value 'epoll' for 'event_loop': expected libev or "
		    "poll");
	check_error("config-2.13", "# a\nport 1\n\n\n# b\nlisten ::1\nport 2\n",
		    "7: duplicate key 'port'");
	check_error("config-2.14", "port\n", "1: missing value for 'port'");
	check_error("config-2.15", "port   # none\n",
		    "1: missing value for 'port'");
	check_error("config-2.16", "api_key \"abc\n",
		    "1: unterminated quote in the value of 'api_key'");
	check_error("config-2.17", "listen 127.0.0.1 8080\n",
		    "1: extra text after the value of 'listen' (quote a value "
		    "that contains spaces)");
	check_error("config-2.18", "api_key \"a\"b\n",
		    "1: extra text after the value of 'api_key' (quote a "
		    "value that contains spaces)");
	check_error("config-2.19", "db \"\"\n",
		    "1: bad value '' for 'db': expected a path");
	check_error("config-2.20", "escalate_on_repeat 2\n",
		    "1: bad value '2' for 'escalate_on_repeat': expected on "
		    "or off");

	TEST("config-2.21");
	config_init(&c);
	snprintf(want, sizeof(want), "%s/nope.conf", tmpdir);
	c.path = xstrdup(want);
	CHECK_INT(config_load(&c, &err), -1);
	snprintf(want, sizeof(want),
		 "cannot open config '%s/nope.conf': No such file or directory",
		 tmpdir);
	CHECK_STR(err.msg, want);
	config_release(&c);

	TEST("config-2.22");
	CHECK_INT(load_text(&c, "auth on\n", &err), -1);
	CHECK_STR(err.msg, "auth is on but auth_secret is empty or shorter "
			   "than 16 characters");
	config_release(&c);
	CHECK_INT(load_text(&c, "auth on\nauth_secret 0123456789abcde\n", &err),
		  -1);
	CHECK_STR(err.msg, "auth is on but auth_secret is empty or shorter "
			   "than 16 characters");
	config_release(&c);
	CHECK_INT(
		load_text(&c, "auth yes\nauth_secret 0123456789abcdef\n", &err),
		0);
	CHECK_INT(c.auth, true);
	config_release(&c);

	/* config_set() reports errors without file:line. */
	TEST("config-2.23");
	config_init(&c);
	CHECK_INT(config_set(&c, "lisen", "x", &err), -1);
	CHECK_STR(err.msg, "unknown key 'lisen'");
	CHECK_INT(config_set(&c, "port", "abc", &err), -1);
	CHECK_STR(err.msg,
		  "bad value 'abc' for 'port': expected an integer 0..65535");
	CHECK_INT(c.port, 8080);
	CHECK_INT(config_set(&c, "port", "0", &err), 0);
	CHECK_INT(c.port, 0);
	CHECK_INT(config_set(&c, "db_sync", "full", &err), 0);
	CHECK_STR(c.db_sync, "full");
	CHECK_INT(config_set(&c, "db", "rel/x.db", &err), 0);
	CHECK_STR(c.db, "rel/x.db");
	config_release(&c);
}

static void
test_syntax(void)
{
	static const char *const yes[] = {"on", "yes", "true", "1", "ON"};
	static const char *const no[] = {"off", "no", "false", "0", "Off"};
	struct config c;
	struct bot_err err;
	char text[64];
	size_t i;

	TEST("config-3.1");
	CHECK_INT(load_text(&c,
			    "auth_secret \"\"\n"
			    "api_key \"a b # c\"\n"
			    "listen \"say \\\"hi\\\" \\\\ ok\"\n",
			    &err),
		  0);
	CHECK_STR(c.auth_secret, "");
	CHECK_STR(c.api_key, "a b # c");
	CHECK_STR(c.listen, "say \"hi\" \\ ok");
	config_release(&c);

	TEST("config-3.2");
	CHECK_INT(load_text(&c, "api_key abc#def\nlisten \"x\"  # quoted\n",
			    &err),
		  0);
	CHECK_STR(c.api_key, "abc#def");
	CHECK_STR(c.listen, "x");
	config_release(&c);

	TEST("config-3.3");
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		snprintf(text, sizeof(text), "auth %s\nescalate_on_repeat %s\n",
			 no[i], yes[i]);
		CHECK_INT(load_text(&c, text, &err), 0);
		CHECK_INT(c.auth, false);
		CHECK_INT(c.escalate_on_repeat, true);
		config_release(&c);
		snprintf(text, sizeof(text), "escalate_on_repeat %s\n", no[i]);
		CHECK_INT(load_text(&c, text, &err), 0);
		CHECK_INT(c.escalate_on_repeat, false);
		config_release(&c);
	}

	/* Comments, blank lines, indentation, tabs, CRLF and a BOM. */
	TEST("config-4.1");
	CHECK_INT(load_text(&c,
			    "\xef\xbb\xbf# whole-line comment\n"
			    "\n"
			    "   \t\n"
			    "  # indented comment\n"
			    "port 9000 # trailing comment\n"
			    "\tlisten\t0.0.0.0\t# tabs\n"
			    "rate_limit 5\r\n"
			    "idle_timeout_s 0\r\n"
			    "escalate_after_misses 0",
			    &err),
		  0);
	CHECK_STR(err.msg, "");
	CHECK_INT(c.port, 9000);
	CHECK_STR(c.listen, "0.0.0.0");
	CHECK_INT(c.rate_limit, 5);
	CHECK_INT(c.idle_timeout_s, 0);
	CHECK_INT(c.escalate_after_misses, 0);
	CHECK_INT(c.max_conversations, 200000);
	config_release(&c);

	TEST("config-4.2");
	CHECK_INT(load_text(&c, "", &err), 0);
	CHECK_INT(c.port, 8080);
	config_release(&c);
}

static void
test_paths(void)
{
	struct config c;
	struct bot_err err = {""};
	char sub[128], path[160], want[192];
	char *argv[] = {"xiaoer", "check",   "-c", path,
			"--www",  "cli/www", NULL};
	FILE *f;

	/* Relative paths in a file are relative to the file's directory. */
	TEST("config-5.1");
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	CHECK_INT(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/x.conf", sub);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs("db data/x.db\ncontent ..\nwww /srv/www\n", f);
	fclose(f);
	CHECK_INT(parse(&c, &err, argv), 0);
	CHECK_INT(config_load(&c, &err), 0);
	snprintf(want, sizeof(want), "%s/data/x.db", sub);
	CHECK_STR(c.db, want);
	snprintf(want, sizeof(want), "%s/..", sub);
	CHECK_STR(c.content, want);
	/* The command line wins, and stays relative to the cwd. */
	CHECK_STR(c.www, "cli/www");
	config_release(&c);

	TEST("config-5.2");
	f = fopen(path, "w");
	if (f) {
		fputs("db :memory:\n", f);
		fclose(f);
	}
	CHECK_INT(parse(&c, &err, argv), 0);
	CHECK_INT(config_load(&c, &err), 0);
	CHECK_STR(c.db, ":memory:");
	config_release(&c);
	unlink(path);
	rmdir(sub);

	/* The fixture and the shipped config both load. */
	TEST("config-5.3");
	config_init(&c);
	c.path = xstrdup("tests/fixtures/test.conf");
	CHECK_INT(config_load(&c, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_INT(c.port, 0);
	CHECK_STR(c.db, ":memory:");
	CHECK_STR(c.content, "tests/fixtures/../..");
	CHECK_STR(c.www, "tests/fixtures/../../bot/www");
	CHECK_INT(c.auth, false);
	config_release(&c);
}

/* Every key of the dump appears, uncommented, in 'text'. */
static int
missing_keys(const char *dumped, const char *text)
{
	const char *line, *end;
	char key[64];
	int missing = 0;
	size_t n;

	for (line = dumped; *line; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		if (*line == '#' || line == end)
			continue;
		n = strcspn(line, " ");
		if (n + 3 > sizeof(key))
			continue;
		key[0] = '\n';
		memcpy(key + 1, line, n);
		key[n + 1] = ' ';
		key[n + 2] = '\0';
		if (strstr(text, key) == NULL) {
			fprintf(stderr, "missing key '%.*s'\n", (int)n, line);
			missing++;
		}
	}
	return missing;
}

static void
test_shipped(void)
{
	struct config c, d;
	struct bot_err err = {""};
	char *text, *a;

	TEST("config-5.4");
	config_init(&c);
	c.path = xstrdup("deploy/xiaoer.conf");
	CHECK_INT(config_load(&c, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_STR(c.listen, "127.0.0.1");
	CHECK_INT(c.port, 8080);
	CHECK_STR(c.db, "deploy/../var/xiaoer.db");
	CHECK_STR(c.content, "deploy/..");
	CHECK_STR(c.www, "deploy/../bot/www");
	CHECK_INT(c.auth, false);

	/* It holds every key, with the default value except the paths. */
	TEST("config-5.5");
	config_init(&d);
	free(d.db);
	free(d.content);
	free(d.www);
	d.db = xstrdup(c.db);
	d.content = xstrdup(c.content);
	d.www = xstrdup(c.www);
	a = dump(&c);
	text = dump(&d);
	CHECK_STR(a, text);
	free(text);
	text = util_read_file("deploy/xiaoer.conf", NULL);
	CHECK(text != NULL);
	if (text)
		CHECK_INT(missing_keys(a, text), 0);
	free(text);
	free(a);
	config_release(&d);
	config_release(&c);
}

static void
test_args(void)
{
	struct config c;
	struct bot_err err;
	char file[128];

	/* Overrides beat the file, whatever their order. */
	TEST("config-6.1");
	snprintf(file, sizeof(file), "%s",
		 write_file("o.conf", "port 8081\ndb y.db\nlisten 10.0.0.1\n"));
	{
		char *argv[] = {"xiaoer",    "serve", "-p", "9000",
				"--db=x.db", "-c",    file, NULL};

		CHECK_INT(parse(&c, &err, argv), 0);
		CHECK_INT(c.port, 8080); /* recorded, not applied */
		CHECK_STR(c.path, file);
		CHECK_INT(config_load(&c, &err), 0);
		CHECK_INT(c.port, 9000);
		CHECK_STR(c.db, "x.db");
		CHECK_STR(c.listen, "10.0.0.1");
		CHECK_INT(c.nargs, 0);
		config_release(&c);
	}

	TEST("config-6.2");
	{
		char *argv[] = {"xiaoer", "--listen",  "0.0.0.0", "--port",
				"0",	  "--content", "c",	  "--www=w",
				"--db",	  ":memory:",  NULL};

		CHECK_INT(parse(&c, &err, argv), 0);
		CHECK_STR(c.subcommand, "serve");
		CHECK_INT(config_load(&c, &err), 0);
		CHECK_STR(c.listen, "0.0.0.0");
		CHECK_INT(c.port, 0);
		CHECK_STR(c.content, "c");
		CHECK_STR(c.www, "w");
		CHECK_STR(c.db, ":memory:");
		config_release(&c);
	}

	/* Subcommand, positional arguments anywhere, "--". */
	TEST("config-7.1");
	{
		char *argv[] = {"xiaoer",
				"classify",
				"我要退款",
				"-d",
				"1031",
				"--now",
				"2026-11-11 00:30",
				"two",
				"--",
				"-p",
				"--x",
				NULL};

		CHECK_INT(parse(&c, &err, argv), 0);
		CHECK_STR(c.subcommand, "classify");
		CHECK_INT(c.log_level, 1031);
		CHECK_STR(c.now, "2026-11-11 00:30");
		CHECK_INT(c.nargs, 4);
		if (c.nargs == 4) {
			CHECK_STR(c.args[0], "我要退款");
			CHECK_STR(c.args[1], "two");
			CHECK_STR(c.args[2], "-p");
			CHECK_STR(c.args[3], "--x");
			CHECK(c.args[4] == NULL);
		}
		CHECK_INT(config_load(&c, &err), 0);
		CHECK_INT(c.port, 8080);
		config_release(&c);
	}

	TEST("config-7.2");
	{
		char *argv[] = {"xiaoer",
				"replay",
				"--against=data/v1",
				"--since",
				"2026-11-01",
				"-c",
				"tests/fixtures/test.conf",
				"-",
				NULL};

		CHECK_INT(parse(&c, &err, argv), 0);
		CHECK_STR(c.subcommand, "replay");
		CHECK_STR(c.against, "data/v1");
		CHECK_STR(c.since, "2026-11-01");
		CHECK_STR(c.path, "tests/fixtures/test.conf");
		CHECK_INT(c.nargs, 1);
		if (c.nargs == 1)
			CHECK_STR(c.args[0], "-");
		config_release(&c);
	}

	TEST("config-7.3");
	{
		char *argv1[] = {"xiaoer", "-h", NULL};
		char *argv2[] = {"xiaoer", "check", "--help", NULL};
		char *argv3[] = {"xiaoer", NULL};

		CHECK_INT(parse(&c, &err, argv1), 0);
		CHECK_STR(c.subcommand, "help");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv2), 0);
		CHECK_STR(c.subcommand, "help");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv3), 0);
		CHECK_STR(c.subcommand, "serve");
		CHECK_INT(c.nargs, 0);
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv3 + 1), 0);
		config_release(&c);
	}

	TEST("config-7.4");
	{
		char *argv1[] = {"xiaoer", "serve", "--x", NULL};
		char *argv2[] = {"xiaoer", "serve", "--x=1", NULL};
		char *argv3[] = {"xiaoer", "serve", "--db", NULL};
		char *argv4[] = {"xiaoer", "serve", "-p", "abc", NULL};
		char *argv5[] = {"xiaoer", "-q", NULL};
		char *argv6[] = {"xiaoer", "--help=1", NULL};
		char *argv7[] = {"xiaoer", "-d", "x", NULL};
		char *argv8[] = {"xiaoer", "-c", NULL};
		char *argv9[] = {"xiaoer", "--port=", NULL};

		CHECK_INT(parse(&c, &err, argv1), -1);
		CHECK_STR(err.msg, "unknown option '--x'");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv2), -1);
		CHECK_STR(err.msg, "unknown option '--x'");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv3), -1);
		CHECK_STR(err.msg, "option '--db' needs a value");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv4), -1);
		CHECK_STR(err.msg, "bad value 'abc' for 'port': expected an "
				   "integer 0..65535");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv5), -1);
		CHECK_STR(err.msg, "unknown option '-q'");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv6), -1);
		CHECK_STR(err.msg, "option '--help' takes no value");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv7), -1);
		CHECK_STR(err.msg,
			  "bad value 'x' for '-d': expected an integer >= 0");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv8), -1);
		CHECK_STR(err.msg, "option '-c' needs a value");
		config_release(&c);
		CHECK_INT(parse(&c, &err, argv9), -1);
		CHECK_STR(err.msg, "bad value '' for 'port': expected an "
				   "integer 0..65535");
		config_release(&c);
	}
}

static void
test_dump(void)
{
	struct config c, d;
	struct bot_err err = {""};
	char *a, *b;
	const char *path;

	TEST("config-8.1");
	config_init(&c);
	CHECK_INT(config_set(&c, "listen", "::1", &err), 0);
	CHECK_INT(config_set(&c, "port", "0", &err), 0);
	CHECK_INT(config_set(&c, "db", ":memory:", &err), 0);
	CHECK_INT(config_set(&c, "db_sync", "full", &err), 0);
	CHECK_INT(config_set(&c, "content", "/srv/xiaoer content", &err), 0);
	CHECK_INT(config_set(&c, "www", "/srv/www#1", &err), 0);
	CHECK_INT(config_set(&c, "auth", "on", &err), 0);
	CHECK_INT(
		config_set(&c, "auth_secret", "a \"quoted\" \\ secret!", &err),
		0);
	CHECK_INT(config_set(&c, "api_key", "", &err), 0);
	CHECK_INT(config_set(&c, "rate_limit", "0", &err), 0);
	CHECK_INT(config_set(&c, "escalate_on_repeat", "off", &err), 0);
	CHECK_INT(config_set(&c, "max_frame_bytes", "16777216", &err), 0);
	a = dump(&c);
	path = write_file("dump.conf", a);

	config_init(&d);
	d.path = xstrdup(path);
	CHECK_INT(config_load(&d, &err), 0);
	CHECK_STR(err.msg, "");
	b = dump(&d);
	CHECK_STR(a, b);
	CHECK_STR(d.auth_secret, "a \"quoted\" \\ secret!");
	CHECK_STR(d.content, "/srv/xiaoer content");
	CHECK_INT(d.auth, true);
	free(a);
	free(b);
	config_release(&c);
	config_release(&d);

	/* The format: a "# help (default: X)" line before every key. */
	TEST("config-8.2");
	config_init(&c);
	a = dump(&c);
	CHECK(strstr(a, " (default: 8080)\nport 8080\n") != NULL);
	CHECK(strstr(a, " (default: \"\")\nauth_secret \"\"\n") != NULL);
	CHECK(strstr(a, " (default: off)\nauth off\n") != NULL);
	CHECK(strstr(a, "\n# ") != NULL);
	path = write_file("dump.conf", a);
	free(a);
	config_release(&c);
	config_init(&c);
	c.path = xstrdup(path);
	CHECK_INT(config_load(&c, &err), 0);
	config_release(&c);
}

void
suite_config(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/xiaoer-config-XXXXXX");
	nmade = 0;
	if (mkdtemp(tmpdir) == NULL) {
		TEST("config-0");
		CHECK(!"mkdtemp failed");
		return;
	}
	test_defaults();
	test_errors();
	test_syntax();
	test_paths();
	test_shipped();
	test_args();
	test_dump();
	while (nmade > 0)
		unlink(made[--nmade]);
	rmdir(tmpdir);
}
