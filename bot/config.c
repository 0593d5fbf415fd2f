/*
 * config.c - see config.h.
 *
 * The table 'keys' below is the single source of truth: config_init()
 * reads the defaults from it, config_set() and the file parser parse
 * values with it and config_dump() writes it back out as a config file.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

enum conf_type {
	CONF_STR,  /* char *, any text */
	CONF_PATH, /* char *, non-empty; relative to the config's dir */
	CONF_INT,  /* int within [min, max] */
	CONF_BOOL, /* bool: on/off, yes/no, true/false, 1/0 */
	CONF_ENUM, /* char *, one of the '|'-separated 'choices' */
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;	     /* of the field in struct config */
	const char *def;     /* default, in the text form of the file */
	int min, max;	     /* CONF_INT */
	const char *choices; /* CONF_ENUM: "a|b" */
	const char *help;
};

#define CONFIG_OFF(field) offsetof(struct config, field)

static const struct conf_key keys[] = {
	{"listen", CONF_STR, CONFIG_OFF(listen), "127.0.0.1", 0, 0, NULL,
	 "address to listen on (127.0.0.1: this machine only)"},
	{"port", CONF_INT, CONFIG_OFF(port), "8080", 0, 65535, NULL,
	 "TCP port (0: any free port)"},
	{"event_loop", CONF_ENUM, CONFIG_OFF(event_loop), "libev", 0, 0,
	 "libev|poll",
	 "libev (epoll: for many connections) or lws's own poll() loop"},
	{"db", CONF_PATH, CONFIG_OFF(db), "var/xiaoer.db", 0, 0, NULL,
	 "SQLite database file (:memory: keeps nothing)"},
	{"db_sync", CONF_ENUM, CONFIG_OFF(db_sync), "normal", 0, 0,
	 "normal|full", "SQLite sync mode (full also survives a power loss)"},
	{"db_max_mb", CONF_INT, CONFIG_OFF(db_max_mb), "0", 0, INT_MAX, NULL,
	 "database size cap in MiB (0: no cap)"},
	{"content", CONF_PATH, CONFIG_OFF(content), ".", 0, 0, NULL,
	 "directory holding intents/ and scripts-zh/"},
	{"www", CONF_PATH, CONFIG_OFF(www), "bot/www", 0, 0, NULL,
	 "directory of the chat page's static files"},
	{"auth", CONF_BOOL, CONFIG_OFF(auth), "off", 0, 0, NULL,
	 "require a signed buyer identity (on or off)"},
	{"auth_secret", CONF_STR, CONFIG_OFF(auth_secret), "", 0, 0, NULL,
	 "HMAC key for buyer signatures, 16+ characters"},
	{"api_key", CONF_STR, CONFIG_OFF(api_key), "", 0, 0, NULL,
	 "key that gateways and API callers send (empty: none)"},
	{"auth_max_skew_s", CONF_INT, CONFIG_OFF(auth_max_skew_s), "300", 1,
	 INT_MAX, NULL, "clock skew allowed for signatures, in seconds"},
	{"max_message_chars", CONF_INT, CONFIG_OFF(max_message_chars), "2000",
	 1, 100000, NULL, "longest buyer message, in characters"},
	{"max_frame_bytes", CONF_INT, CONFIG_OFF(max_frame_bytes), "16384", 256,
	 16777216, NULL, "largest websocket message, in bytes"},
	{"rate_limit", CONF_INT, CONFIG_OFF(rate_limit), "20", 0, INT_MAX, NULL,
	 "messages per 10 s per buyer (0: no limit)"},
	{"idle_timeout_s", CONF_INT, CONFIG_OFF(idle_timeout_s), "300", 0,
	 INT_MAX, NULL, "close connections idle this many seconds (0: never)"},
	{"outq_max", CONF_INT, CONFIG_OFF(outq_max), "64", 1, INT_MAX, NULL,
	 "outgoing frames queued per connection at most"},
	{"outq_max_bytes", CONF_INT, CONFIG_OFF(outq_max_bytes), "262144", 1024,
	 INT_MAX, NULL, "outgoing bytes queued per connection at most"},
	{"max_conversations", CONF_INT, CONFIG_OFF(max_conversations), "200000",
	 1, INT_MAX, NULL, "conversations kept in memory at most"},
	{"conversation_ttl_s", CONF_INT, CONFIG_OFF(conversation_ttl_s), "7200",
	 1, INT_MAX, NULL, "forget conversations idle this many seconds"},
	{"escalate_after_misses", CONF_INT, CONFIG_OFF(escalate_after_misses),
	 "2", 0, INT_MAX, NULL,
	 "hand over after this many misses in a row (0: never)"},
	{"escalate_on_repeat", CONF_BOOL, CONFIG_OFF(escalate_on_repeat), "on",
	 0, 0, NULL, "hand over when a buyer repeats a message (on or off)"},
	{"repeat_similarity", CONF_INT, CONFIG_OFF(repeat_similarity), "50", 1,
	 100, NULL,
	 "how alike (percent of shared character pairs) a message must be to "
	 "the last one to count as a repeat"},
	{"writer_queue_max", CONF_INT, CONFIG_OFF(writer_queue_max), "65536", 1,
	 INT_MAX, NULL,
	 "database writes waiting for the writer thread at most"},
};

static const struct conf_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* The field of 'c' that key 'k' describes. */
static void *
field(struct config *c, const struct conf_key *k)
{
	return (char *)c + k->off;
}

static const void *
cfield(const struct config *c, const struct conf_key *k)
{
	return (const char *)c + k->off;
}

static int
parse_long(const char *s, long *out)
{
	char *end;

	if (*s != '-' && (*s < '0' || *s > '9'))
		return -1;
	errno = 0;
	*out = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"on", "yes", "true", "1"};
	static const char *const no[] = {"off", "no", "false", "0"};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Is 's' one of the '|'-separated words of 'choices'? */
static bool
is_choice(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices, *bar;

	for (;;) {
		bar = strchr(p, '|');
		if (bar == NULL)
			return strcmp(p, s) == 0;
		if ((size_t)(bar - p) == n && strncmp(p, s, n) == 0)
			return true;
		p = bar + 1;
	}
}

/* "a|b|c" -> "a, b or c" */
static void
describe_choices(const char *choices, char *buf, size_t size)
{
	const char *p = choices, *bar;
	size_t o = 0;

	buf[0] = '\0';
	while (o < size) {
		bar = strchr(p, '|');
		if (bar == NULL) {
			snprintf(buf + o, size - o, "%s", p);
			return;
		}
		o += (size_t)snprintf(buf + o, size - o, "%.*s%s",
				      (int)(bar - p), p,
				      strchr(bar + 1, '|') ? ", " : " or ");
		p = bar + 1;
	}
}

/*
 * Check 'value' for key 'k' and, when 'c' is not NULL, store it.  Errors
 * read "bad value 'x' for 'key': expected ...".
 */
static int
set_key(struct config *c, const struct conf_key *k, const char *value,
	struct bot_err *err)
{
	char what[128];
	char **sp;
	int *ip;
	bool *bp;
	long n;
	bool b;

	switch (k->type) {
	case CONF_STR:
		break;
	case CONF_PATH:
		if (value[0] == '\0')
			return bot_errf(
				err, "bad value '' for '%s': expected a path",
				k->name);
		break;
	case CONF_INT:
		if (parse_long(value, &n) < 0 || n < k->min || n > k->max) {
			if (k->max == INT_MAX)
				snprintf(what, sizeof(what), ">= %d", k->min);
			else
				snprintf(what, sizeof(what), "%d..%d", k->min,
					 k->max);
			return bot_errf(err,
					"bad value '%s' for '%s': expected an "
					"integer %s",
					value, k->name, what);
		}
		if (c) {
			ip = field(c, k);
			*ip = (int)n;
		}
		return 0;
	case CONF_BOOL:
		if (parse_bool(value, &b) < 0)
			return bot_errf(err,
					"bad value '%s' for '%s': expected on "
					"or off",
					value, k->name);
		if (c) {
			bp = field(c, k);
			*bp = b;
		}
		return 0;
	case CONF_ENUM:
		if (!is_choice(k->choices, value)) {
			describe_choices(k->choices, what, sizeof(what));
			return bot_errf(err,
					"bad value '%s' for '%s': expected %s",
					value, k->name, what);
		}
		break;
	}
	if (c) {
		sp = field(c, k);
		free(*sp);
		*sp = xstrdup(value);
	}
	return 0;
}

int
config_set(struct config *c, const char *key, const char *value,
	   struct bot_err *err)
{
	const struct conf_key *k = find_key(key);

	if (k == NULL)
		return bot_errf(err, "unknown key '%s'", key);
	return set_key(c, k, value, err);
}

void
config_init(struct config *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		set_key(c, &keys[i], keys[i].def, NULL);
	c->subcommand = xstrdup("serve");
	/* LLL_ERR | LLL_WARN | LLL_USER: our own messages, not lws's
	 * notices (its libev plugin logs one for every socket event) */
	c->log_level = 1027;
}

static void
free_vec(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p; p++)
		free(*p);
	free(v);
}

static void
free_args(struct config *c)
{
	free_vec(c->args);
	free_vec(c->overrides);
	c->overrides = NULL;
	c->args = NULL;
	c->nargs = 0;
}

enum opt_kind {
	OPT_CONFIG, /* -c FILE */
	OPT_KEY,    /* override of a key of the file */
	OPT_LOG,    /* -d LEVEL */
	OPT_STR,    /* a char * field of struct config */
	OPT_HELP,
};

struct conf_opt {
	const char *sname, *lname;
	enum opt_kind kind;
	const char *key; /* OPT_KEY */
	size_t off;	 /* OPT_STR */
};

static const struct conf_opt opts[] = {
	{"-c", "--config", OPT_CONFIG, NULL, 0},
	{"-p", "--port", OPT_KEY, "port", 0},
	{NULL, "--listen", OPT_KEY, "listen", 0},
	{NULL, "--db", OPT_KEY, "db", 0},
	{NULL, "--content", OPT_KEY, "content", 0},
	{NULL, "--www", OPT_KEY, "www", 0},
	{"-d", NULL, OPT_LOG, NULL, 0},
	{NULL, "--now", OPT_STR, NULL, offsetof(struct config, now)},
	{NULL, "--against", OPT_STR, NULL, offsetof(struct config, against)},
	{NULL, "--since", OPT_STR, NULL, offsetof(struct config, since)},
	{NULL, "--until", OPT_STR, NULL, offsetof(struct config, until)},
	{"-h", "--help", OPT_HELP, NULL, 0},
};

static const struct conf_opt *
find_opt(const char *name, size_t len)
{
	const char *s;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opts); i++) {
		s = name[1] == '-' ? opts[i].lname : opts[i].sname;
		if (s && strlen(s) == len && strncmp(s, name, len) == 0)
			return &opts[i];
	}
	return NULL;
}

static void
replace_str(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

int
config_parse_args(struct config *c, int argc, char **argv, struct bot_err *err)
{
	const struct conf_opt *o;
	const struct conf_key *k;
	const char *arg, *value, *eq;
	char **pos, **ovr;
	size_t npos = 0, novr = 0, namelen;
	bool options = true;
	long n;
	int i = 1, rc = -1;

	pos = xcalloc((size_t)argc + 1, sizeof(*pos));
	ovr = xcalloc(2 * (size_t)argc + 1, sizeof(*ovr));
	if (argc > 1 && argv[1][0] != '-') {
		replace_str(&c->subcommand, argv[1]);
		i = 2;
	}
	for (; i < argc; i++) {
		arg = argv[i];
		if (!options || arg[0] != '-' || arg[1] == '\0') {
			pos[npos++] = xstrdup(arg);
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options = false;
			continue;
		}
		eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
		namelen = eq ? (size_t)(eq - arg) : strlen(arg);
		o = find_opt(arg, namelen);
		if (o == NULL) {
			bot_errf(err, "unknown option '%.*s'", (int)namelen,
				 arg);
			goto out;
		}
		if (o->kind == OPT_HELP) {
			if (eq) {
				bot_errf(err, "option '%.*s' takes no value",
					 (int)namelen, arg);
				goto out;
			}
			replace_str(&c->subcommand, "help");
			continue;
		}
		if (eq) {
			value = eq + 1;
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			bot_errf(err, "option '%s' needs a value", arg);
			goto out;
		}
		switch (o->kind) {
		case OPT_CONFIG:
			replace_str(&c->path, value);
			break;
		case OPT_KEY:
			k = find_key(o->key);
			if (set_key(NULL, k, value, err) < 0)
				goto out;
			ovr[novr++] = xstrdup(o->key);
			ovr[novr++] = xstrdup(value);
			break;
		case OPT_LOG:
			if (parse_long(value, &n) < 0 || n < 0 || n > INT_MAX) {
				bot_errf(err,
					 "bad value '%s' for '-d': expected an "
					 "integer >= 0",
					 value);
				goto out;
			}
			c->log_level = (int)n;
			break;
		case OPT_STR:
			replace_str((char **)(void *)((char *)c + o->off),
				    value);
			break;
		case OPT_HELP:
			break;
		}
	}

	free_args(c);
	c->args = xcalloc(npos + 1, sizeof(*c->args));
	memcpy(c->args, pos, npos * sizeof(*pos));
	c->overrides = xcalloc(novr + 1, sizeof(*c->overrides));
	memcpy(c->overrides, ovr, novr * sizeof(*ovr));
	c->nargs = (int)npos;
	npos = novr = 0;
	rc = 0;
out:
	while (npos > 0)
		free(pos[--npos]);
	while (novr > 0)
		free(ovr[--novr]);
	free(pos);
	free(ovr);
	return rc;
}

static bool
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

enum value_error {
	VALUE_OK,
	VALUE_UNTERMINATED,
	VALUE_EXTRA,
};

/*
 * Parse in place the value that starts at 'p': a bare word, or a
 * double-quoted string with \" and \\ escapes.  Anything after it must be
 * blank or a comment.  Returns the value, or NULL with '*why' set.
 */
static char *
parse_value(char *p, enum value_error *why)
{
	char *val = p, *q;

	if (*p == '"') {
		val = q = ++p;
		while (*p != '"') {
			if (*p == '\0') {
				*why = VALUE_UNTERMINATED;
				return NULL;
			}
			if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
				p++;
			*q++ = *p++;
		}
		p++;
		*q = '\0';
	} else {
		while (*p && !is_space(*p))
			p++;
	}
	if (*p) {
		q = p;
		while (is_space(*p))
			p++;
		if (*p && !(*p == '#' && p > q)) {
			*why = VALUE_EXTRA;
			return NULL;
		}
		*q = '\0';
	}
	return val;
}

static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static int
load_file(struct config *c, const char *path, struct bot_err *err)
{
	int seen[ARRAY_SIZE(keys)] = {0};
	const struct conf_key *k;
	struct bot_err e;
	char *buf, *dir = NULL, *line, *next, *key, *p, *val, *joined = NULL;
	enum value_error why = VALUE_OK;
	size_t len;
	int lineno = 0, rc = -1;

	buf = util_read_file(path, &len);
	if (buf == NULL)
		return bot_errf(err, "cannot open config '%s': %s", path,
				strerror(errno));
	if (memchr(buf, '\0', len)) {
		bot_errf(err, "%s: NUL byte in config", path);
		goto out;
	}
	dir = dir_of(path);
	line = buf;
	if (strncmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3;
	for (; line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		p = line;
		while (is_space(*p))
			p++;
		if (*p == '\0' || *p == '#')
			continue;
		key = p;
		while (*p && !is_space(*p))
			p++;
		if (*p)
			*p++ = '\0';
		k = find_key(key);
		if (k == NULL) {
			bot_errf(err, "%s:%d: unknown key '%s'", path, lineno,
				 key);
			goto out;
		}
		if (seen[k - keys]) {
			bot_errf(err, "%s:%d: duplicate key '%s'", path, lineno,
				 key);
			goto out;
		}
		seen[k - keys] = lineno;
		while (is_space(*p))
			p++;
		if (*p == '\0' || *p == '#') {
			bot_errf(err, "%s:%d: missing value for '%s'", path,
				 lineno, key);
			goto out;
		}
		val = parse_value(p, &why);
		if (val == NULL && why == VALUE_UNTERMINATED) {
			bot_errf(err,
				 "%s:%d: unterminated quote in the value of "
				 "'%s'",
				 path, lineno, key);
			goto out;
		}
		if (val == NULL) {
			bot_errf(err,
				 "%s:%d: extra text after the value of '%s' "
				 "(quote a value that contains spaces)",
				 path, lineno, key);
			goto out;
		}
		if (k->type == CONF_PATH && val[0] && val[0] != '/' &&
		    strcmp(val, ":memory:") != 0) {
			joined = util_path_join(dir, val);
			val = joined;
		}
		if (set_key(c, k, val, &e) < 0) {
			bot_errf(err, "%s:%d: %s", path, lineno, e.msg);
			goto out;
		}
		free(joined);
		joined = NULL;
	}
	rc = 0;
out:
	free(joined);
	free(dir);
	free(buf);
	return rc;
}

int
config_load(struct config *c, struct bot_err *err)
{
	char **p;

	if (c->path && load_file(c, c->path, err) < 0)
		return -1;
	for (p = c->overrides; p && *p; p += 2)
		if (config_set(c, p[0], p[1], err) < 0)
			return -1;
	if (c->auth && strlen(c->auth_secret) < 16)
		return bot_errf(err, "auth is on but auth_secret is empty or "
				     "shorter than 16 characters");
	return 0;
}

/* Write 's' as a value the parser reads back unchanged. */
static void
dump_str(FILE *f, const char *s)
{
	if (s[0] != '\0' && strpbrk(s, " \t\r\n\"\\#") == NULL) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

void
config_dump(const struct config *c, FILE *f)
{
	const struct conf_key *k;
	const char *const *sp;
	const bool *bp;
	const int *ip;
	size_t i;

	fputs("# xiaoer configuration: \"key value\" lines, '#' starts a "
	      "comment.\n# Relative paths are resolved against the "
	      "directory of this file.\n",
	      f);
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		k = &keys[i];
		fprintf(f, "\n# %s (default: %s)\n%s ", k->help,
			k->def[0] ? k->def : "\"\"", k->name);
		switch (k->type) {
		case CONF_INT:
			ip = cfield(c, k);
			fprintf(f, "%d\n", *ip);
			break;
		case CONF_BOOL:
			bp = cfield(c, k);
			fputs(*bp ? "on\n" : "off\n", f);
			break;
		default:
			sp = cfield(c, k);
			dump_str(f, *sp);
			fputc('\n', f);
			break;
		}
	}
}

void
config_release(struct config *c)
{
	char **sp;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		if (keys[i].type == CONF_INT || keys[i].type == CONF_BOOL)
			continue;
		sp = field(c, &keys[i]);
		free(*sp);
		*sp = NULL;
	}
	free_args(c);
	free(c->path);
	free(c->subcommand);
	free(c->against);
	free(c->now);
	free(c->since);
	free(c->until);
	c->path = c->subcommand = c->against = c->now = c->since = NULL;
}
