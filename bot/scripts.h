/*
 * scripts.h - the approved script library (话术库).
 *
 * Loaded once from the .json files of the scripts-zh directory; read-only
 * afterwards.  A script answers one intent; it has a status (approved or
 * draft: the bot sends approved only), a version, an author and approver,
 * variants (one is picked per turn so repeats don't sound robotic),
 * {slot} placeholders, optional quick-reply buttons and tags for the staff
 * look-up.  A variant whose slots cannot all be filled is never rendered.
 */
#ifndef BOT_SCRIPTS_H
#define BOT_SCRIPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bot_err;
struct strbuf;
struct intent_slot;
struct scripts; /* opaque */

#define SCRIPTS_SLOT_NAME_MAX 32 /* bytes of a {slot} name */

struct script_button {
	const char *title;
	const char *payload; /* an intent name */
};

struct script_variant {
	const char *text;
	size_t nslots;	   /* number of {slot}s it uses */
	const char *phase; /* sale phase it is tied to, or NULL */
};

/* One phase of the campaign (campaign.json), in Asia/Shanghai time. */
struct scripts_phase {
	const char *name;
	int64_t start_ms; /* inclusive */
	int64_t end_ms;	  /* exclusive */
	int line;
};

/* Borrowed, valid until scripts_free(). */
struct script {
	const char *id;
	const char *intent;
	int version;
	bool approved;
	const char *author;
	const char *approver; /* NULL for drafts */
	const char *const *tags;
	size_t ntags;
	const struct script_variant *variants;
	size_t nvariants;
	const struct script_button *buttons;
	size_t nbuttons;
	bool needs_human; /* answer, then hand to a human */
	const char *file;
	int line;
	int col;
	char ref[80]; /* "id@version" */
};

/*
 * Load every *.json in 'dir' (campaign.json, the sale phases, and
 * products.json, the product facts, have formats of their own and are
 * skipped here).  NULL + "file:line:col: why".
 */
struct scripts *scripts_load(const char *dir, struct bot_err *err);

/* The campaign's phases in file order (none when there is no
 * campaign.json), and the file they came from (NULL if none). */
const struct scripts_phase *scripts_phases(const struct scripts *s, size_t *n);
const char *scripts_campaign_file(const struct scripts *s);

/* The name of the phase 'now_ms' falls in, or NULL outside every phase. */
const char *scripts_phase_at(const struct scripts *s, int64_t now_ms);

/* The approved script of highest version for 'intent', or NULL. */
const struct script *scripts_for_intent(const struct scripts *s,
					const char *intent);

size_t scripts_count(const struct scripts *s);
const struct script *scripts_at(const struct scripts *s, size_t i);

/*
 * Render a variant of 'sc' into 'out' with the slot values given.  A
 * variant tied to a phase is used only when 'phase' (the current phase, or
 * NULL) is that phase, and then it is preferred over untied ones.  Among
 * the usable variants whose every {slot} is filled, those using the most
 * slots are preferred; 'pick' chooses among them (pick % n).  Returns 0, or -1
 * when no variant can be filled: then 'missing' (SCRIPTS_SLOT_NAME_MAX + 1
 * bytes, or NULL) receives the name of the first slot lacking.
 */
int scripts_render(const struct script *sc, uint32_t pick, const char *phase,
		   const struct intent_slot *slots, size_t nslots,
		   struct strbuf *out, char *missing);

/*
 * Names of the {slot}s used by 'text', for checks: calls 'fn' per slot
 * occurrence with the name (not NUL-terminated) and its length.
 */
typedef void scripts_slot_fn(void *ctx, const char *name, size_t len);
void scripts_foreach_slot(const char *text, scripts_slot_fn *fn, void *ctx);

/*
 * Staff look-up: scripts (approved and drafts) whose id, intent, tags or
 * variant text contain 'word' (case-insensitive for ASCII).  Calls 'fn' for
 * each hit in load order; returns the number of hits.
 */
typedef void scripts_hit_fn(void *ctx, const struct script *sc);
size_t scripts_search(const struct scripts *s, const char *word,
		      scripts_hit_fn *fn, void *ctx);

void scripts_free(struct scripts *s); /* NULL is a no-op */

#endif /* BOT_SCRIPTS_H */
