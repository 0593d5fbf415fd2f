/*
 * matchdiff.c - the literal prefilter against the reference matcher.
 */
#include "matchdiff.h"

#include <stdio.h>
#include <string.h>

#include "../bot/intents.h"

const char *
matchdiff(struct intents *t, const char *norm, size_t len)
{
	static char why[160];
	struct intent_match a, b;
	size_t i;
	bool ha, hb;

	intents_use_prefilter(t, true);
	ha = intents_match(t, norm, len, &a);
	intents_use_prefilter(t, false);
	hb = intents_match(t, norm, len, &b);
	intents_use_prefilter(t, true);
	if (ha != hb ||
	    (ha && (a.intent != b.intent || a.match_len != b.match_len ||
		    a.nslots != b.nslots))) {
		snprintf(why, sizeof(why),
			 "intent %s with the prefilter, %s without",
			 ha ? a.intent->name : "-", hb ? b.intent->name : "-");
		return why;
	}
	for (i = 0; ha && i < a.nslots; i++)
		if (strcmp(a.slots[i].name, b.slots[i].name) != 0 ||
		    strcmp(a.slots[i].value, b.slots[i].value) != 0) {
			snprintf(why, sizeof(why), "slot %s of %s",
				 a.slots[i].name, a.intent->name);
			return why;
		}
	return NULL;
}
