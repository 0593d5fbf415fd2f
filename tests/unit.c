/*
 * unit.c - runs every unit suite; the last line is "unit: N passed, N failed".
 * Run from the repository root (suites read tests/fixtures/).
 */
#include "test.h"

int test_passed, test_failed;
const char *test_id = "";

void suite_util(void);
void suite_text(void);
void suite_config(void);
void suite_protocol(void);
void suite_intents(void);
void suite_scripts(void);
void suite_content(void);
void suite_dialog(void);
void suite_store(void);
void suite_auth(void);
void suite_convtab(void);
void suite_logtools(void);
void suite_evalmetrics(void);
void suite_products(void);
void suite_prefilter(void);

int
main(void)
{
	RUN(suite_util);
	RUN(suite_text);
	RUN(suite_config);
	RUN(suite_protocol);
	RUN(suite_intents);
	RUN(suite_scripts);
	RUN(suite_content);
	RUN(suite_dialog);
	RUN(suite_store);
	RUN(suite_auth);
	RUN(suite_convtab);
	RUN(suite_logtools);
	RUN(suite_evalmetrics);
	RUN(suite_products);
	RUN(suite_prefilter);
	printf("unit: %d passed, %d failed\n", test_passed, test_failed);
	return test_failed ? 1 : 0;
}
