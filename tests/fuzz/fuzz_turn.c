/*
 * fuzz_turn.c - libFuzzer harness for the decision core: normalisation,
 * the literal index, PCRE2 matching against the shipped intent library,
 * the dialog and script rendering, on whatever a buyer might type.
 *
 * An input is one conversation: up to four messages separated by 0x1e
 * (a message that starts with 0x1d is a button press with that payload),
 * handled in turn on one fresh conversation, as the server would after
 * lws and protocol_parse() accepted them: valid UTF-8, no NUL, at most
 * max_message_chars (2,000) characters.  Other inputs are skipped.
 *
 * Besides crashes, leaks and undefined behaviour (ASan, UBSan), it stops
 * on:
 *   - normalised text that is not valid UTF-8;
 *   - the prefilter changing a match (matchdiff());
 *   - dialog_handle() failing, or a reply that is empty, not valid UTF-8,
 *     names no script or an intent not in the library, or does not survive the
 * trip through protocol_format_reply() and jansson (a browser drops a
 * connection on a text frame that is not UTF-8);
 *   - one message taking more than XIAOER_FUZZ_TURN_MS (default 50) ms of
 *     CPU: issue 4 allows 5 ms on the real build, and ASan/UBSan make our
 *     code a few times slower (PCRE2's JIT code is not instrumented).
 * The content is read from XIAOER_CONTENT (default: the current directory).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bot/content.h"
#include "../../bot/dialog.h"
#include "../../bot/protocol.h"
#include "../../bot/scripts.h"
#include "../../bot/text.h"
#include "../../bot/util.h"
#include "../matchdiff.h"

#define TURNS_MAX  4
#define CHARS_MAX  2000 /* the server's max_message_chars default */
#define SEP_TURN   0x1e
#define SEP_BUTTON 0x1d

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct content *ct;
static struct dialog_policy policy;
static struct dialog_turn turn;
static double limit_ms = 50;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("XIAOER_CONTENT");
	const char *ms = getenv("XIAOER_FUZZ_TURN_MS");
	struct bot_err err;

	(void)argc;
	(void)argv;
	ct = content_load(dir ? dir : ".", &err);
	if (ct == NULL) {
		fprintf(stderr, "fuzz_turn: %s\n", err.msg);
		exit(2);
	}
	if (ms && atof(ms) > 0)
		limit_ms = atof(ms);
	dialog_policy_init(&policy);
	dialog_turn_init(&turn);
	return 0;
}

static void
fail(const char *what, const char *msg, size_t len)
{
	fprintf(stderr, "fuzz_turn: %s\nmessage (%zu bytes): %.*s\n", what, len,
		(int)len, msg);
	abort();
}

static double
cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* What protocol_parse() would have let through to the dialog. */
static bool
acceptable(const char *s, size_t len)
{
	return len > 0 && memchr(s, '\0', len) == NULL &&
	       text_valid_utf8(s, len) && text_utf8_chars(s, len) <= CHARS_MAX;
}

static void
check_match(const char *msg, size_t len)
{
	char *norm = xmalloc(len + 1);
	size_t n = text_normalize(msg, len, norm, len + 1);
	const char *why;

	if (n > len || strlen(norm) != n || !text_valid_utf8(norm, n))
		fail("text_normalize() made something that is not UTF-8", msg,
		     len);
	why = matchdiff(ct->intents, norm, n);
	if (why) {
		fprintf(stderr, "fuzz_turn: %s\n", why);
		fail("the prefilter changed the match", msg, len);
	}
	free(norm);
}

/* The reply as the server sends it, read back by jansson. */
static void
check_reply(const struct dialog_turn *t, const char *msg, size_t len)
{
	struct strbuf sb;
	json_error_t je;
	json_t *o;

	if (t->action == DIALOG_SILENT)
		return;
	if (t->script == NULL || t->reply.len == 0)
		fail("a reply with no script or no text", msg, len);
	if (!text_valid_utf8(t->reply.buf, t->reply.len))
		fail("the reply is not valid UTF-8", msg, len);
	if (t->intent && intents_find(ct->intents, t->intent) == NULL)
		fail("the reply names an intent not in the library", msg, len);
	strbuf_init(&sb);
	dialog_format_reply(&sb, t, "m-1", NULL);
	if (!text_valid_utf8(sb.buf, sb.len))
		fail("the reply frame is not valid UTF-8", msg, len);
	o = json_loadb(sb.buf, sb.len, 0, &je);
	if (o == NULL || strcmp(json_string_value(json_object_get(o, "text")),
				t->reply.buf) != 0) {
		fprintf(stderr, "fuzz_turn: jansson: %s\n",
			o ? "text differs" : je.text);
		fail("the reply frame does not read back", msg, len);
	}
	json_decref(o);
	strbuf_release(&sb);
}

/*
 * dialog_handle() on 'c', and its CPU time in ms.  A time over the limit
 * is measured twice more from the same state, and the least counts: on a
 * VM a page fault or the host can add milliseconds to any one run.
 */
static double
timed_turn(struct conversation *c, const struct dialog_input *in, int64_t now)
{
	struct conversation before = *c;
	double best = -1, t0, t;
	int i;

	for (i = 0; i < 3 && (best < 0 || best > limit_ms); i++) {
		*c = before;
		t0 = cpu_ms();
		if (dialog_handle(ct, &policy, c, in, now, &turn) < 0)
			fail("dialog_handle() failed",
			     in->text ? in->text : in->button,
			     in->text ? in->len : strlen(in->button));
		t = cpu_ms() - t0;
		if (best < 0 || t < best)
			best = t;
	}
	if (best > limit_ms)
		fprintf(stderr, "fuzz_turn: %.1f ms of CPU at best of 3\n",
			best);
	return best;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	const char *msg[TURNS_MAX];
	size_t len[TURNS_MAX], n = 0, i;
	struct conversation c;
	int64_t now = 1700000000000;

	while (n < TURNS_MAX) {
		const char *sep = memchr(p, SEP_TURN, (size_t)(end - p));

		msg[n] = p;
		len[n] = (size_t)((sep ? sep : end) - p);
		n++;
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	for (i = 0; i < n; i++) {
		bool button = len[i] > 0 && msg[i][0] == SEP_BUTTON;

		if (!acceptable(msg[i] + button, len[i] - button))
			return 0;
	}

	conversation_init(&c, "fuzz-buyer", now);
	for (i = 0; i < n; i++, now += 15000) {
		bool button = msg[i][0] == SEP_BUTTON;
		char *s = xmalloc(len[i] + 1); /* NUL-terminated, like the
						* parser's strings */
		struct dialog_input in = {0};

		memcpy(s, msg[i] + button, len[i] - button);
		s[len[i] - button] = '\0';
		if (button) {
			in.button = s;
		} else {
			in.text = s;
			in.len = len[i];
			check_match(s, len[i]);
		}
		if (timed_turn(&c, &in, now) > limit_ms)
			fail("one message took too long", s, len[i] - button);
		check_reply(&turn, s, len[i] - button);
		free(s);
	}
	return 0;
}
