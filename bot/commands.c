/*
 * commands.c - see commands.h.
 */
#include "commands.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "content.h"
#include "dialog.h"
#include "intents.h"
#include "scripts.h"
#include "text.h"
#include "util.h"

static struct content *
load(const struct config *cfg)
{
	struct bot_err err = {""};
	struct content *c = content_load(cfg->content, &err);

	if (c == NULL)
		fprintf(stderr, "xiaoer: %s\n", err.msg);
	return c;
}

/* --now fixes the clock (sale phases) for reproducible runs. */
static int
clock_from(const struct config *cfg, int64_t *now_ms)
{
	if (cfg->now == NULL) {
		*now_ms = util_now_ms();
		return 0;
	}
	if (util_parse_shanghai(cfg->now, now_ms) == 0)
		return 0;
	fprintf(stderr,
		"xiaoer: bad --now '%s': use \"YYYY-MM-DD HH:MM\" "
		"(Asia/Shanghai)\n",
		cfg->now);
	return -1;
}

static void
policy_from(const struct config *cfg, struct dialog_policy *p)
{
	dialog_policy_init(p);
	p->escalate_after_misses = cfg->escalate_after_misses;
	p->escalate_on_repeat = cfg->escalate_on_repeat;
	p->repeat_similarity = cfg->repeat_similarity;
}

static int
report(void *ctx, const char *where, const char *reason)
{
	fprintf(ctx, "%s: %s\n", where, reason);
	return 0;
}

int
cmd_check(const struct config *cfg, FILE *out)
{
	struct bot_err err = {""};
	struct content *c = content_open(cfg->content, &err);
	int problems;

	if (c == NULL) {
		fprintf(out, "%s\n", err.msg);
		fprintf(out, "xiaoer: content in '%s' does not load\n",
			cfg->content);
		return 1;
	}
	problems = content_check(c, report, out);
	if (problems)
		fprintf(out, "xiaoer: %d problem%s in '%s'\n", problems,
			problems == 1 ? "" : "s", cfg->content);
	else
		fprintf(out,
			"xiaoer: configuration and content ok (%zu intents, "
			"%zu scripts)\n",
			intents_count(c->intents), scripts_count(c->scripts));
	content_free(c);
	return problems ? 1 : 0;
}

/* One fresh conversation's first message. */
static int
decide(const struct content *c, const struct dialog_policy *p,
       struct conversation *conv, const char *text, size_t len, int64_t now_ms,
       struct dialog_turn *t)
{
	struct dialog_input in = {.text = text, .len = len};

	return dialog_handle(c, p, conv, &in, now_ms, t);
}

int
cmd_classify(const struct config *cfg, FILE *in, FILE *out)
{
	struct content *c = load(cfg);
	struct dialog_policy p;
	struct conversation conv;
	struct dialog_turn t;
	struct strbuf clean;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int64_t now;
	int rc = 0;

	if (clock_from(cfg, &now) < 0)
		return 2;
	if (c == NULL)
		return 1;
	policy_from(cfg, &p);
	dialog_turn_init(&t);
	strbuf_init(&clean);
	while ((n = getline(&line, &cap, in)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		text_repair_utf8(line, (size_t)n, &clean);
		conversation_init(&conv, "classify", 0);
		if (decide(c, &p, &conv, clean.buf, clean.len, now, &t) < 0) {
			fprintf(out, "unknown\t-\tclarify\t-\n");
			rc = 1;
			continue;
		}
		fprintf(out, "%s\t%s\t%s\t%s\n", t.topic ? t.topic : "unknown",
			t.intent ? t.intent : "-", dialog_action_name(t.action),
			t.script ? t.script : "-");
	}
	fflush(out);
	free(line);
	strbuf_release(&clean);
	dialog_turn_release(&t);
	content_free(c);
	return rc;
}

static void
print_turn(FILE *out, const char *session, size_t turn,
	   const struct dialog_turn *t, struct strbuf *sb)
{
	strbuf_reset(sb);
	strbuf_addstr(sb, "{\"session\":");
	strbuf_add_json_str(sb, session, strlen(session));
	strbuf_addf(sb, ",\"turn\":%zu,\"topic\":", turn);
	strbuf_add_json_str(sb, t->topic ? t->topic : "unknown",
			    strlen(t->topic ? t->topic : "unknown"));
	strbuf_addstr(sb, ",\"intent\":");
	strbuf_add_json_str(sb, t->intent ? t->intent : "-",
			    strlen(t->intent ? t->intent : "-"));
	strbuf_addf(sb, ",\"action\":\"%s\",\"script\":",
		    dialog_action_name(t->action));
	strbuf_add_json_str(sb, t->script ? t->script : "-",
			    strlen(t->script ? t->script : "-"));
	strbuf_addstr(sb, ",\"text\":");
	strbuf_add_json_str(sb, t->reply.buf, t->reply.len);
	strbuf_addstr(sb, "}\n");
	fwrite(sb->buf, 1, sb->len, out);
}

int
replay_line_parse(struct replay_line *rl, const char *line, size_t len,
		  char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *root, *v;

	memset(rl, 0, sizeof(*rl));
	root = json_loadb(line, len, 0, &jerr);
	if (root == NULL) {
		snprintf(why, whylen, "not JSON: %s", jerr.text);
		return -1;
	}
	v = json_object_get(root, "id");
	if (!json_is_object(root) ||
	    !json_is_array(json_object_get(root, "turns")) ||
	    !(json_is_string(v) || json_is_integer(v))) {
		snprintf(why, whylen,
			 "expected "
			 "{\"id\":\"...\",\"turns\":[{\"text\":\"...\"},...]}");
		json_decref(root);
		return -1;
	}
	if (json_is_string(v))
		snprintf(rl->session, sizeof(rl->session), "%s",
			 json_string_value(v));
	else
		snprintf(rl->session, sizeof(rl->session), "%lld",
			 (long long)json_integer_value(v));
	rl->root = root;
	return 0;
}

int
replay_line_next(struct replay_line *rl, size_t *index, const char **text,
		 size_t *len, char *why, size_t whylen)
{
	json_t *turns = json_object_get(rl->root, "turns"), *turn, *t;
	const char *role;

	while (rl->next < json_array_size(turns)) {
		*index = rl->next++;
		turn = json_array_get(turns, *index);
		role = json_string_value(json_object_get(turn, "role"));
		if (role && strcmp(role, "buyer") != 0)
			continue;
		t = json_object_get(turn, "text");
		if (!json_is_string(t)) {
			snprintf(why, whylen, "turn %zu has no \"text\" string",
				 *index);
			return -1;
		}
		*text = json_string_value(t);
		*len = json_string_length(t);
		return 1;
	}
	return 0;
}

void
replay_line_clear(struct replay_line *rl)
{
	json_decref(rl->root);
	rl->root = NULL;
}

/* Replay one JSONL session line; returns 0 or -1 with 'why' filled. */
static int
replay_line(const struct content *c, const struct dialog_policy *p,
	    int64_t now_ms, const char *line, size_t len, FILE *out,
	    struct dialog_turn *t, struct strbuf *sb, char *why, size_t whylen)
{
	struct replay_line rl;
	struct conversation conv;
	const char *text;
	size_t i, n;
	int rc;

	if (replay_line_parse(&rl, line, len, why, whylen) < 0)
		return -1;
	conversation_init(&conv, rl.session, 0);
	while ((rc = replay_line_next(&rl, &i, &text, &n, why, whylen)) > 0) {
		struct dialog_input in = {.text = text, .len = n};

		if (dialog_handle(c, p, &conv, &in, now_ms, t) < 0) {
			snprintf(why, whylen, "turn %zu: dialog failed", i);
			rc = -1;
			break;
		}
		print_turn(out, rl.session, i, t, sb);
	}
	replay_line_clear(&rl);
	return rc;
}

int
cmd_replay(const struct config *cfg, FILE *out)
{
	struct content *c;
	struct dialog_policy p;
	struct dialog_turn t;
	struct strbuf sb;
	const char *path;
	char *line = NULL, why[256];
	size_t cap = 0, lineno = 0;
	ssize_t n;
	FILE *in;
	int64_t now;
	int rc = 0;

	if (cfg->nargs < 1) {
		fprintf(stderr, "usage: xiaoer replay [-c CONF] FILE.jsonl\n");
		return 2;
	}
	if (clock_from(cfg, &now) < 0)
		return 2;
	path = cfg->args[0];
	in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (in == NULL) {
		fprintf(stderr, "xiaoer: cannot open '%s'\n", path);
		return 1;
	}
	c = load(cfg);
	if (c == NULL) {
		if (in != stdin)
			fclose(in);
		return 1;
	}
	policy_from(cfg, &p);
	dialog_turn_init(&t);
	strbuf_init(&sb);
	while ((n = getline(&line, &cap, in)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (replay_line(c, &p, now, line, (size_t)n, out, &t, &sb, why,
				sizeof(why)) < 0) {
			fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
			rc = 1;
		}
	}
	fflush(out);
	free(line);
	if (in != stdin)
		fclose(in);
	strbuf_release(&sb);
	dialog_turn_release(&t);
	content_free(c);
	return rc;
}

static void
print_hit(void *ctx, const struct script *sc)
{
	FILE *out = ctx;
	size_t i;

	fprintf(out, "%s  [%s]  intent %s  by %s", sc->ref,
		sc->approved ? "approved" : "draft", sc->intent, sc->author);
	if (sc->approver)
		fprintf(out, ", approved by %s", sc->approver);
	fputc('\n', out);
	if (sc->ntags) {
		fputs("  tags:", out);
		for (i = 0; i < sc->ntags; i++)
			fprintf(out, " %s", sc->tags[i]);
		fputc('\n', out);
	}
	for (i = 0; i < sc->nvariants; i++)
		fprintf(out, "  %zu. %s\n", i + 1, sc->variants[i].text);
	for (i = 0; i < sc->nbuttons; i++)
		fprintf(out, "  [%s -> %s]\n", sc->buttons[i].title,
			sc->buttons[i].payload);
}

int
cmd_scripts(const struct config *cfg, FILE *out)
{
	struct content *c;
	size_t hits;

	if (cfg->nargs != 2 || strcmp(cfg->args[0], "search") != 0) {
		fprintf(stderr, "usage: xiaoer scripts search WORD\n");
		return 2;
	}
	c = load(cfg);
	if (c == NULL)
		return 1;
	hits = scripts_search(c->scripts, cfg->args[1], print_hit, out);
	if (hits == 0)
		fprintf(out, "xiaoer: no scripts match '%s'\n", cfg->args[1]);
	else
		fprintf(out, "xiaoer: %zu script%s match '%s'\n", hits,
			hits == 1 ? "" : "s", cfg->args[1]);
	content_free(c);
	return hits ? 0 : 1;
}
