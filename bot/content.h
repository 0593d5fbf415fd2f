/*
 * content.h - intents and scripts loaded together and checked against
 * each other: every intent with patterns, and every intent the dialog needs
 * (fallback, handoff.misses, handoff.repeat, the ask intent of each slot),
 * has an approved script; every {slot} of an approved script is one its
 * intent captures, requires or may get from the conversation; every button
 * payload names an intent; every script names a known intent; the sale
 * phases of campaign.json neither overlap nor leave gaps, and every phase a
 * variant names exists.
 */
#ifndef BOT_CONTENT_H
#define BOT_CONTENT_H

#include <stddef.h>

struct bot_err;
struct intent;
struct script;

/* Intents the dialog itself uses; content must define them. */
#define CONTENT_FALLBACK       "fallback"
#define CONTENT_HANDOFF_MISSES "handoff.misses"
#define CONTENT_HANDOFF_REPEAT "handoff.repeat"

struct content {
	struct intents *intents;
	struct scripts *scripts;
	struct products *products; /* scripts-zh/products.json, maybe empty */
	const struct script **by_intent; /* [intent->index] */
	char *dir;
};

/* Load DIR/intents and DIR/scripts-zh (with campaign.json and
 * products.json) without the checks.  NULL + err. */
struct content *content_open(const char *dir, struct bot_err *err);

/* content_open() and refuse content that content_check() faults: the
 * error names the first problem.  What the server and commands use. */
struct content *content_load(const char *dir, struct bot_err *err);

typedef int content_report_fn(void *ctx, const char *where, const char *reason);

/*
 * Everything `xiaoer check` verifies beyond loading: the intents' own
 * examples and counter-examples (intents_check) and the cross-file rules
 * above.  Returns the number of problems reported.
 */
int content_check(struct content *c, content_report_fn *fn, void *ctx);

/* The approved script for 'in' (never NULL once loaded). */
const struct script *content_script(const struct content *c,
				    const struct intent *in);

void content_free(struct content *c); /* NULL is a no-op */

#endif /* BOT_CONTENT_H */
