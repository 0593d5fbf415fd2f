/*
 * intents.h - map a normalised buyer utterance to an intent.
 *
 * A table is loaded once from the .json files of the intents directory and
 * is read-only afterwards, except for one scratch match-data block, so it
 * is not thread-safe.  Patterns are compiled with PCRE2_UTF | PCRE2_UCP |
 * PCRE2_CASELESS, JIT-compiled, and matched with match and depth limits.
 * Named captures become slots.  Every intent carries "examples" and
 * "counter_examples"; intents_check() verifies them.
 */
#ifndef BOT_INTENTS_H
#define BOT_INTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bot_err;
struct intents; /* opaque */

/* The fixed topic set of DESIGN.md section 5. */
#define INTENTS_TOPICS                                                         \
	"promotion", "product", "shipping", "logistics", "payment",            \
		"aftersale", "invoice", "address", "human", "complaint",       \
		"smalltalk", "unknown"

enum intent_action {
	INTENT_REPLY,	  /* answer from the script */
	INTENT_ESCALATE,  /* answer, then hand to a human */
	INTENT_COMPLAINT, /* apologise, record, hand to a human */
	INTENT_CLARIFY,	  /* too vague to answer: ask, offer buttons */
};

#define INTENTS_MAX_SLOTS    4
#define INTENTS_MIN_EXAMPLES 5	/* an intent with patterns has at least */
#define INTENTS_SLOT_MAX     64 /* bytes of one slot value, NUL included */

/* A filled slot: both strings borrowed from whoever filled it. */
struct intent_slot {
	const char *name;
	const char *value;
};

/* Read-only description of one intent; borrowed, valid until intents_free. */
struct intent {
	size_t index; /* position: 0 .. intents_count() - 1 */
	const char *name;
	const char *topic;
	int priority;
	enum intent_action action;
	const char *file; /* where it was defined */
	int line;
	int col;
	size_t npatterns;
	const char *const *requires; /* slot names that must be known */
	size_t nrequires;
	const char *const *slots; /* names captured by its patterns */
	size_t nslots;
};

/* The slot values point into 'buf': don't copy a match by value. */
struct intent_match {
	const struct intent *intent;
	size_t match_len; /* bytes of the winning match */
	size_t nslots;
	struct intent_slot slots[INTENTS_MAX_SLOTS];
	char buf[INTENTS_MAX_SLOTS][INTENTS_SLOT_MAX];
};

/* A slot definition: how to find it in a bare message, who asks for it. */
struct intent_slotdef {
	const char *name;
	const char *ask; /* intent that asks for it, or NULL */
};

/* Load and compile every *.json in 'dir'.  NULL + "file:line:col: why". */
struct intents *intents_load(const char *dir, struct bot_err *err);

/*
 * Match normalised UTF-8 'text' (len bytes) against every intent with
 * patterns: highest priority wins, then the longest match, then file
 * order.  An intent whose "exclude" pattern matches is skipped.  Returns
 * true and fills 'out' on a hit.  The text must be valid UTF-8, and is
 * not checked again: text_normalize() output always is (it drops what is
 * not), so a message is validated once, where it is normalised.
 */
bool intents_match(struct intents *t, const char *text, size_t len,
		   struct intent_match *out);

/*
 * Find the slot 'name' in 'text' with its slot pattern.  Returns true and
 * copies the value into 'value' (INTENTS_SLOT_MAX bytes).
 */
bool intents_find_slot(struct intents *t, const char *name, const char *text,
		       size_t len, char *value);

/*
 * The literal prefilter (prefilter.h) is on by default: only patterns whose
 * required literals occur in the text run, highest priority first, and the
 * search stops below the priority of an intent that matched.  Off runs
 * every pattern in file order: the reference the tests compare it with.
 */
void intents_use_prefilter(struct intents *t, bool on);

/* Intent patterns (excludes not counted), how many of them always run,
 * and the literals indexed (the excludes' included): for reports. */
void intents_prefilter_stats(const struct intents *t, size_t *patterns,
			     size_t *always, size_t *literals);

/* PCRE2 matches run so far (patterns, excludes, slots), for benchmarks. */
uint64_t intents_pattern_runs(const struct intents *t);

/* Look up by name; NULL when unknown. */
const struct intent *intents_find(const struct intents *t, const char *name);

size_t intents_count(const struct intents *t);
const struct intent *intents_at(const struct intents *t, size_t i);

const struct intent_slotdef *intents_slotdef(const struct intents *t,
					     const char *name);

/* Is 'topic' one of INTENTS_TOPICS? */
bool intents_topic_valid(const char *topic);

/*
 * Problems found by intents_check(), one call per problem: "file:line:col"
 * and the reason.  Return non-zero to stop.
 */
typedef int intents_report_fn(void *ctx, const char *where, const char *reason);

/*
 * Verify the data tests itself: every example matches its own intent (and
 * no other intent wins over it), no counter-example does, no pattern
 * matches the empty string, every intent with patterns has at least
 * INTENTS_MIN_EXAMPLES examples.  Returns the number of problems reported.
 */
int intents_check(struct intents *t, intents_report_fn *fn, void *ctx);

void intents_free(struct intents *t); /* NULL is a no-op */

#endif /* BOT_INTENTS_H */
