/*
 * dialog.h - the per-conversation state machine (DESIGN.md section 6).
 *
 * dialog_handle() takes one buyer message, the conversation it belongs to
 * and the time, and decides: which intent, which action (reply, clarify,
 * escalate, complaint, silent), which script@version and the reply text.
 * It updates the conversation in place.  Pure: no sockets, no SQL, no
 * clock, no logging; the same code runs in the server and in `classify`
 * and `replay`.
 */
#ifndef BOT_DIALOG_H
#define BOT_DIALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intents.h"
#include "util.h"

struct content;
struct script_button;

enum dialog_state {
	DIALOG_BOT,    /* the bot answers */
	DIALOG_QUEUED, /* waiting for a human; the bot still answers */
	DIALOG_AGENT,  /* a human holds the chat; the bot is silent */
	DIALOG_CLOSED,
};

enum dialog_action {
	DIALOG_REPLY,
	DIALOG_CLARIFY, /* ask for a missing fact or offer buttons */
	DIALOG_ESCALATE,
	DIALOG_COMPLAINT,
	DIALOG_SILENT,
};

enum dialog_escalation {
	DIALOG_ESC_NONE,
	DIALOG_ESC_REQUEST, /* the buyer asked for a human */
	DIALOG_ESC_MISSES,  /* N consecutive misses */
	DIALOG_ESC_REPEAT,  /* same question again right after the answer */
	DIALOG_ESC_COMPLAINT,
	DIALOG_ESC_NEEDS_HUMAN, /* the script says a human must handle it */
};

struct dialog_policy {
	int escalate_after_misses; /* default 2; 0 disables */
	bool escalate_on_repeat;   /* default true */
	int repeat_similarity;	   /* percent of shared bigrams, default 50 */
};

#define DIALOG_NAME_MAX 64

/* One conversation: owned by the caller (the server's registry or the
 * offline command), plain data, no pointers into content. */
struct conversation {
	char buyer[DIALOG_NAME_MAX];
	enum dialog_state state;
	uint32_t seed; /* variant rotation, from the buyer id */
	uint32_t turns;
	int misses; /* consecutive */
	char last_intent[DIALOG_NAME_MAX];
	char last_text[96]; /* the last message, normalised, truncated */
	char pending_intent[DIALOG_NAME_MAX]; /* waiting for a slot */
	char pending_slot[DIALOG_NAME_MAX];
	char order_id[INTENTS_SLOT_MAX]; /* current order, "" if none */
	char item[DIALOG_NAME_MAX];	 /* current product id, "" if none */
	int64_t created_ms;
	int64_t last_ms;
};

struct dialog_input {
	const char *text; /* buyer text (valid UTF-8), or NULL */
	size_t len;
	const char *button; /* button payload, or NULL */
	const char *order;  /* the frame's order field, or NULL */
	const char *item;   /* the frame's product id, or NULL */
};

/* What to do.  Strings are borrowed from the content (valid until it is
 * freed); the strbufs belong to the turn (dialog_turn_init/release), so a
 * caller that reuses one turn for every message allocates nothing. */
struct dialog_turn {
	enum dialog_action action;
	enum dialog_escalation escalation;
	bool new_escalation; /* the state moved bot -> queued */
	bool unmatched;	     /* no intent matched */
	const char *intent;
	const char *topic;
	const char *script; /* "id@version", or NULL when silent */
	struct strbuf reply;
	const struct script_button *buttons;
	size_t nbuttons;
	struct strbuf normalized; /* the text as matched */
};

void dialog_policy_init(struct dialog_policy *p);

/* Start a conversation for 'buyer' (truncated to DIALOG_NAME_MAX - 1). */
void conversation_init(struct conversation *c, const char *buyer,
		       int64_t now_ms);

void dialog_turn_init(struct dialog_turn *t);
void dialog_turn_release(struct dialog_turn *t);

/*
 * Decide the bot's answer to 'in'.  Resets and fills 'out' (which must have
 * been initialised with dialog_turn_init).  Returns 0, or -1 only when the
 * content lacks a script it promised to have (content_load prevents this).
 */
int dialog_handle(const struct content *ct, const struct dialog_policy *p,
		  struct conversation *c, const struct dialog_input *in,
		  int64_t now_ms, struct dialog_turn *out);

const char *dialog_action_name(enum dialog_action a);

/* Append the reply frame of turn 't' (not DIALOG_SILENT) to 'out', as the
 * server sends it; 'reply_to' and 'sender' may be NULL.  At most
 * DIALOG_FRAME_BUTTONS buttons go out. */
#define DIALOG_FRAME_BUTTONS 8
void dialog_format_reply(struct strbuf *out, const struct dialog_turn *t,
			 const char *reply_to, const char *sender);
const char *dialog_state_name(enum dialog_state s);
/* The state called 'name' (as dialog_state_name() says it); false if none. */
bool dialog_state_parse(const char *name, enum dialog_state *out);
const char *dialog_escalation_name(enum dialog_escalation e); /* or NULL */

#endif /* BOT_DIALOG_H */
